#include "core/graph.h"

#include <deque>

#include "absl/strings/str_cat.h"

namespace pare {

absl::flat_hash_set<std::string> OuterScopeReads(const Graph& graph) {
  absl::flat_hash_set<std::string> defined;
  for (const ValueInfo& v : graph.inputs) defined.insert(v.name);
  for (const Tensor& t : graph.initializers) defined.insert(t.name());
  for (const Node& node : graph.nodes) {
    for (const std::string& out : node.outputs) defined.insert(out);
  }
  absl::flat_hash_set<std::string> reads;
  auto note = [&](const std::string& name) {
    if (!name.empty() && !defined.contains(name)) reads.insert(name);
  };
  for (const Node& node : graph.nodes) {
    for (const std::string& in : NodeReads(node)) note(in);
  }
  for (const ValueInfo& v : graph.outputs) note(v.name);
  return reads;
}

std::vector<std::string> NodeReads(const Node& node) {
  std::vector<std::string> reads;
  for (const std::string& in : node.inputs) {
    if (!in.empty()) reads.push_back(in);
  }
  for (const Attribute& attr : node.attributes) {
    for (const Graph& sub : attr.graphs) {
      for (const std::string& name : OuterScopeReads(sub)) reads.push_back(name);
    }
  }
  return reads;
}

absl::StatusOr<std::vector<size_t>> TopologicalOrder(const Graph& graph) {
  const size_t n = graph.nodes.size();
  absl::flat_hash_map<std::string, size_t> producer;
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& out : graph.nodes[i].outputs) {
      if (!out.empty()) producer[out] = i;
    }
  }
  std::vector<std::vector<size_t>> dependents(n);
  std::vector<size_t> pending(n, 0);
  for (size_t i = 0; i < n; ++i) {
    absl::flat_hash_set<size_t> deps;
    for (const std::string& in : NodeReads(graph.nodes[i])) {
      auto it = producer.find(in);
      if (it != producer.end()) deps.insert(it->second);
    }
    for (size_t d : deps) dependents[d].push_back(i);
    pending[i] = deps.size();
  }
  // Kahn's algorithm; a FIFO keeps already-ordered graphs in their order.
  std::vector<size_t> order;
  order.reserve(n);
  std::deque<size_t> queue;
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) queue.push_back(i);
  }
  while (!queue.empty()) {
    const size_t i = queue.front();
    queue.pop_front();
    order.push_back(i);
    for (size_t d : dependents[i]) {
      if (--pending[d] == 0) queue.push_back(d);
    }
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i) {
      if (pending[i] != 0) {
        const Node& node = graph.nodes[i];
        return absl::InvalidArgumentError(
            absl::StrCat("graph '", graph.name, "' has a cycle through node '",
                         node.name.empty() ? node.op_type : node.name, "'"));
      }
    }
  }
  return order;
}

GraphIndex::GraphIndex(const Graph& graph) {
  for (const Tensor& t : graph.initializers) initializers_[t.name()] = &t;
  for (const ValueInfo& v : graph.outputs) outputs_.insert(v.name);
  for (const Node& node : graph.nodes) {
    for (const std::string& out : node.outputs) {
      if (!out.empty()) producers_[out] = &node;
    }
    absl::flat_hash_set<std::string> seen;
    for (const std::string& in : NodeReads(node)) {
      if (seen.insert(in).second) consumers_[in].push_back(&node);
    }
  }
}

const Node* GraphIndex::Producer(const std::string& value) const {
  auto it = producers_.find(value);
  return it == producers_.end() ? nullptr : it->second;
}

const std::vector<const Node*>& GraphIndex::Consumers(const std::string& value) const {
  static const std::vector<const Node*> kNone;
  auto it = consumers_.find(value);
  return it == consumers_.end() ? kNone : it->second;
}

const Tensor* GraphIndex::Initializer(const std::string& name) const {
  auto it = initializers_.find(name);
  return it == initializers_.end() ? nullptr : it->second;
}

bool GraphIndex::IsGraphOutput(const std::string& value) const { return outputs_.contains(value); }

std::optional<int64_t> OpsetVersion(const Model& model, std::string_view domain) {
  const bool default_domain = domain.empty() || domain == "ai.onnx";
  for (const OpsetImport& op : model.opset_imports) {
    const bool match =
        default_domain ? (op.domain.empty() || op.domain == "ai.onnx") : op.domain == domain;
    if (match) return op.version;
  }
  return std::nullopt;
}

}  // namespace pare
