#include "prune/channel_groups.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"

namespace pare::prune {

int64_t IntAttribute(const Node& n, const char* name, int64_t fallback) {
  const Attribute* a = n.FindAttribute(name);
  return a == nullptr ? fallback : a->i;
}

namespace {

// Ops that act on each channel alone and keep the layout.
const absl::flat_hash_set<std::string>& ChannelwiseUnary() {
  static const absl::flat_hash_set<std::string> ops = {"Relu",
                                                       "Clip",
                                                       "HardSwish",
                                                       "HardSigmoid",
                                                       "Sigmoid",
                                                       "Tanh",
                                                       "LeakyRelu",
                                                       "Elu",
                                                       "Selu",
                                                       "Gelu",
                                                       "Erf",
                                                       "Identity",
                                                       "Neg",
                                                       "Abs",
                                                       "Sqrt",
                                                       "Exp",
                                                       "Log",
                                                       "Softplus",
                                                       "Mish",
                                                       "PRelu",
                                                       "Dropout",
                                                       "Floor",
                                                       "Ceil",
                                                       "Round",
                                                       "Reciprocal",
                                                       "Cast",
                                                       "MaxPool",
                                                       "AveragePool",
                                                       "GlobalAveragePool",
                                                       "GlobalMaxPool",
                                                       "Resize"};
  return ops;
}
const absl::flat_hash_set<std::string>& ChannelwiseBinary() {
  static const absl::flat_hash_set<std::string> ops = {"Add", "Sub", "Mul", "Div",
                                                       "Max", "Min", "Pow"};
  return ops;
}

// Grows a channel group from one producer to every tensor its channels reach.
class GroupBuilder {
 public:
  GroupBuilder(
      const Graph& g, const Constants& constants,
      const absl::flat_hash_map<std::string, size_t>& producer,
      const absl::flat_hash_map<std::string, std::vector<std::pair<size_t, size_t>>>& readers,
      const absl::flat_hash_set<std::string>& outer_reads,
      const absl::flat_hash_set<std::string>& outputs)
      : g_(g),
        constants_(constants),
        producer_(producer),
        readers_(readers),
        outer_reads_(outer_reads),
        outputs_(outputs) {}

  Group Build(size_t seed) {
    group_ = Group();
    visited_.clear();
    consumed_.clear();
    work_.clear();
    const Node& n = g_.nodes[seed];
    AddProducer(seed, n.op_type == "MatMul" ? -1 : -(Rank(n.inputs[1]) - 1));
    while (!work_.empty() && group_.failure.empty()) {
      const std::string v = work_.back();
      work_.pop_back();
      Visit(v);
    }
    return std::move(group_);
  }

  // Whether node i can seed a group: a Conv (group 1) or MatMul with a
  // constant float weight.
  bool IsProducer(size_t i) const {
    const Node& n = g_.nodes[i];
    if (!n.domain.empty() || n.inputs.size() < 2 || n.outputs.size() != 1) return false;
    const Tensor* w = constants_.FindFloating(n.inputs[1]);
    if (w == nullptr) return false;
    if (n.op_type == "MatMul") return w->dims().size() == 2;
    return n.op_type == "Conv" && w->dims().size() >= 3 && IntAttribute(n, "group", 1) == 1;
  }

 private:
  int Rank(const std::string& constant) const {
    const Tensor* t = constants_.Find(constant);
    return t == nullptr ? 0 : static_cast<int>(t->dims().size());
  }
  const Tensor* Weight(const Node& n) const {
    return n.inputs.size() > 1 ? constants_.FindFloating(n.inputs[1]) : nullptr;
  }
  void Fail(const std::string& why) {
    if (group_.failure.empty()) group_.failure = why;
  }
  bool SetChannels(int64_t c, const Node& n) {
    if (group_.channels == 0) group_.channels = c;
    if (group_.channels == c) return true;
    Fail(absl::StrCat(NodeLabel(n), " has ", c, " channels where its group has ", group_.channels));
    return false;
  }
  void Join(const std::string& value, int axis) {
    auto [it, inserted] = group_.values.emplace(value, axis);
    if (inserted) {
      work_.push_back(value);
    } else if (it->second != axis) {
      Fail(absl::StrCat("'", value, "' carries the channels on two different axes"));
    }
  }

  void AddProducer(size_t i, int axis) {
    if (!visited_.insert(i).second) return;
    const Node& n = g_.nodes[i];
    const Tensor* w = Weight(n);
    const bool matmul = n.op_type == "MatMul";
    if (!SetChannels(matmul ? w->dims()[1] : w->dims()[0], n)) return;
    group_.producers.push_back(i);
    group_.edits.push_back({i, 1, matmul ? 1 : 0});
    if (!matmul && n.inputs.size() > 2 && !n.inputs[2].empty()) group_.edits.push_back({i, 2, 0});
    Join(n.outputs[0], axis);
  }

  // A depthwise conv: one filter per channel, so it passes channels through.
  bool IsDepthwise(const Node& n) const {
    const Tensor* w = Weight(n);
    const int64_t groups = IntAttribute(n, "group", 1);
    return n.op_type == "Conv" && w != nullptr && w->dims().size() >= 3 && groups > 1 &&
           w->dims()[1] == 1 && w->dims()[0] == groups;
  }

  // A per-channel constant operand: sliced when it spans the channels,
  // left alone when it broadcasts over them.
  void ChannelConstant(size_t node, size_t input, int axis) {
    const Tensor* t = constants_.Find(g_.nodes[node].inputs[input]);
    const int rank = static_cast<int>(t->dims().size());
    if (rank + axis < 0 || t->dims()[rank + axis] == 1) return;
    if (t->dims()[rank + axis] != group_.channels) {
      Fail(absl::StrCat(NodeLabel(g_.nodes[node]), ": constant '", g_.nodes[node].inputs[input],
                        "' does not line up with the channels"));
      return;
    }
    group_.edits.push_back({node, input, rank + axis});
  }

  // Ops the channels flow through: their other operands are cut or joined,
  // their output carries the channels on.
  void PassThrough(size_t i, int axis) {
    if (!visited_.insert(i).second) return;
    const Node& n = g_.nodes[i];
    if (n.inputs.empty() || n.inputs[0].empty()) return Fail(NodeLabel(n) + ": has no data input");
    if (n.op_type == "BatchNormalization") {
      for (size_t j = 1; j < n.inputs.size() && j < 5; ++j) group_.edits.push_back({i, j, 0});
      Join(n.inputs[0], axis);
    } else if (IsDepthwise(n)) {
      group_.edits.push_back({i, 1, 0});
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) group_.edits.push_back({i, 2, 0});
      group_.depthwise.push_back(i);
      Join(n.inputs[0], axis);
    } else if (ChannelwiseUnary().contains(n.op_type)) {
      if (n.op_type == "Resize" && n.inputs.size() > 3 && !n.inputs[3].empty()) {
        return Fail(NodeLabel(n) + ": Resize to fixed sizes names the channel count");
      }
      if (n.op_type == "PRelu") ChannelConstant(i, 1, axis);
      Join(n.inputs[0], axis);
    } else if (ChannelwiseBinary().contains(n.op_type)) {
      for (size_t j = 0; j < n.inputs.size(); ++j) {
        if (constants_.Contains(n.inputs[j])) {
          ChannelConstant(i, j, axis);
        } else {
          Join(n.inputs[j], axis);
        }
      }
    } else {
      return Fail(absl::StrCat(NodeLabel(n), " (", n.op_type, ") does not keep channels apart"));
    }
    for (size_t j = 1; j < n.outputs.size(); ++j) {
      if (!n.outputs[j].empty() && readers_.contains(n.outputs[j])) {
        return Fail(NodeLabel(n) + ": its extra outputs are read");
      }
    }
    Join(n.outputs[0], axis);
  }

  // Where a value comes from, seen from the channels' side.
  void Backward(const std::string& v, int axis) {
    auto it = producer_.find(v);
    if (it == producer_.end())
      return Fail(absl::StrCat("the channels reach graph input '", v, "'"));
    const size_t i = it->second;
    if (visited_.contains(i)) return;
    if (IsProducer(i)) {
      const Node& n = g_.nodes[i];
      const int expected = n.op_type == "MatMul" ? -1 : -(Rank(n.inputs[1]) - 1);
      if (axis != expected) return Fail(NodeLabel(n) + ": channels on another axis");
      return AddProducer(i, axis);
    }
    PassThrough(i, axis);
  }

  // A reader whose weight loses the channels along `weight_axis`.
  void Consume(size_t i, int axis, int64_t weight_axis) {
    consumed_.insert(i);
    group_.edits.push_back({i, 1, weight_axis});
    group_.consumers.push_back({i, g_.nodes[i].inputs[0], axis, weight_axis});
  }

  // Who reads a value, seen from the channels' side.
  void Forward(size_t i, size_t input, int axis) {
    const Node& n = g_.nodes[i];
    if (visited_.contains(i) || consumed_.contains(i)) return;
    const Tensor* w = Weight(n);
    if (input == 0 && n.domain.empty() && w != nullptr) {
      const int rank = static_cast<int>(w->dims().size());
      if (n.op_type == "Conv" && IntAttribute(n, "group", 1) == 1 && axis == -(rank - 1)) {
        return Consume(i, axis, 1);
      }
      if (n.op_type == "ConvTranspose" && IntAttribute(n, "group", 1) == 1 && axis == -(rank - 1)) {
        return Consume(i, axis, 0);
      }
      if (n.op_type == "MatMul" && rank == 2 && axis == -1) return Consume(i, axis, 0);
      if (n.op_type == "Gemm" && rank == 2 && axis == -1 && IntAttribute(n, "transA", 0) == 0) {
        return Consume(i, axis, IntAttribute(n, "transB", 0) != 0 ? 1 : 0);
      }
    }
    PassThrough(i, axis);
  }

  void Visit(const std::string& v) {
    const int axis = group_.values.at(v);
    if (outputs_.contains(v))
      return Fail(absl::StrCat("the channels reach graph output '", v, "'"));
    if (outer_reads_.contains(v)) return Fail(absl::StrCat("a subgraph reads '", v, "'"));
    Backward(v, axis);
    auto it = readers_.find(v);
    if (it == readers_.end()) return;
    for (const auto& [node, input] : it->second) {
      if (!group_.failure.empty()) return;
      Forward(node, input, axis);
    }
  }

  const Graph& g_;
  const Constants& constants_;
  const absl::flat_hash_map<std::string, size_t>& producer_;
  const absl::flat_hash_map<std::string, std::vector<std::pair<size_t, size_t>>>& readers_;
  const absl::flat_hash_set<std::string>& outer_reads_;
  const absl::flat_hash_set<std::string>& outputs_;
  Group group_;
  // Nodes whose outputs or pass-through are handled, and nodes whose weight
  // is cut as a reader of the channels (a conv can be both in one group).
  absl::flat_hash_set<size_t> visited_, consumed_;
  std::vector<std::string> work_;
};

}  // namespace

std::vector<Group> FindChannelGroups(const Graph& g, const Constants& constants) {
  absl::flat_hash_map<std::string, size_t> producer;
  absl::flat_hash_map<std::string, std::vector<std::pair<size_t, size_t>>> readers;
  absl::flat_hash_set<std::string> outer_reads, outputs;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (const std::string& out : n.outputs) producer[out] = i;
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      if (!n.inputs[j].empty()) readers[n.inputs[j]].push_back({i, j});
    }
    const std::vector<std::string> reads = NodeReads(n);
    for (size_t j = n.inputs.size(); j < reads.size(); ++j) outer_reads.insert(reads[j]);
  }
  for (const ValueInfo& v : g.outputs) outputs.insert(v.name);
  for (const Tensor& t : g.initializers) producer.erase(t.name());
  GroupBuilder builder(g, constants, producer, readers, outer_reads, outputs);
  absl::flat_hash_set<size_t> grouped;
  std::vector<Group> groups;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (grouped.contains(i) || !builder.IsProducer(i)) continue;
    groups.push_back(builder.Build(i));
    for (size_t p : groups.back().producers) grouped.insert(p);
  }
  return groups;
}

}  // namespace pare::prune
