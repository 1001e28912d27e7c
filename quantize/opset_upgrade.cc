#include "quantize/opset_upgrade.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "core/graph.h"

namespace pare::quantize {
namespace {

std::vector<int64_t> IntsOf(const Node& node, const char* name) {
  const Attribute* a = node.FindAttribute(name);
  return a == nullptr ? std::vector<int64_t>{} : a->ints;
}

void DropAttributes(Node& node, std::initializer_list<const char*> names) {
  std::erase_if(node.attributes, [&](const Attribute& a) {
    for (const char* n : names) {
      if (a.name == n) return true;
    }
    return false;
  });
}

std::string Label(const Node& n) {
  if (!n.name.empty()) return n.name;
  return n.outputs.empty() ? std::string("(unnamed)") : n.outputs[0];
}

// The stem for the names of the constants a node's attributes become.
std::string Stem(const Node& n) { return n.outputs.empty() ? Label(n) : n.outputs[0]; }

bool IsDefaultDomain(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

// Everything that would stop the upgrade, found before anything changes.
absl::Status CheckUpgradable(const Graph& g, int64_t opset) {
  for (const Node& n : g.nodes) {
    if (!IsDefaultDomain(n)) continue;
    if (n.op_type == "Upsample" || (n.op_type == "Dropout" && n.outputs.size() > 1)) {
      return absl::UnimplementedError(absl::StrCat(
          "node '", Label(n), "' (", n.op_type, ") changed at opset 10; upgrade the model's opset ",
          "(currently ", opset, ") to 10 or later before quantizing"));
    }
    if (n.op_type != "Slice") continue;
    const size_t k = IntsOf(n, "starts").size();
    const std::vector<int64_t> axes = IntsOf(n, "axes");
    if (IntsOf(n, "ends").size() != k || (!axes.empty() && axes.size() != k)) {
      return absl::InvalidArgumentError(
          absl::StrCat("node '", Label(n), "' (Slice): starts, ends and axes differ in length"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UpgradeToOpset10(Model& model) {
  const int64_t opset = OpsetVersion(model, "").value_or(1);
  if (opset >= 10) return absl::OkStatus();
  Graph& g = model.graph;
  if (absl::Status s = CheckUpgradable(g, opset); !s.ok()) return s;
  std::vector<Tensor> added;
  for (Node& n : g.nodes) {
    if (!IsDefaultDomain(n)) continue;
    if (n.op_type == "Slice") {
      const std::string base = absl::StrCat(Stem(n), "_slice");
      const std::vector<int64_t> starts = IntsOf(n, "starts"), ends = IntsOf(n, "ends");
      std::vector<int64_t> axes = IntsOf(n, "axes");
      if (axes.empty()) {
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
      }
      const int64_t k = static_cast<int64_t>(starts.size());
      added.push_back(Tensor::FromVector<int64_t>(base + "_starts", {k}, starts));
      added.push_back(Tensor::FromVector<int64_t>(base + "_ends", {k}, ends));
      added.push_back(Tensor::FromVector<int64_t>(base + "_axes", {k}, axes));
      n.inputs.resize(1);
      n.inputs.insert(n.inputs.end(), {base + "_starts", base + "_ends", base + "_axes"});
      DropAttributes(n, {"starts", "ends", "axes"});
    } else if (n.op_type == "TopK") {
      const Attribute* k = n.FindAttribute("k");
      const std::string name = absl::StrCat(Stem(n), "_topk_k");
      added.push_back(Tensor::FromVector<int64_t>(name, {1}, {k ? k->i : 0}));
      n.inputs.resize(1);
      n.inputs.push_back(name);
      DropAttributes(n, {"k"});
    }
  }
  for (Tensor& t : added) g.initializers.push_back(std::move(t));
  for (OpsetImport& o : model.opset_imports) {
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = 10;
  }
  return absl::OkStatus();
}

absl::Status UpgradeToOpset13(Model& model) {
  const int64_t opset = OpsetVersion(model, "").value_or(1);
  if (opset >= 13) return absl::OkStatus();
  if (opset < 11) {
    return absl::UnimplementedError(
        absl::StrCat("per-channel DequantizeLinear needs opset 13 and the model is at opset ",
                     opset, "; export it at opset 13 or later, or pass --per-tensor"));
  }
  Graph& g = model.graph;
  std::vector<Tensor> added;
  for (Node& n : g.nodes) {
    if (!IsDefaultDomain(n)) continue;
    // The attributes that became inputs at 13: Split's split, Squeeze's,
    // Unsqueeze's and ReduceSum's axes.
    const char* moved =
        n.op_type == "Split" ? "split"
        : (n.op_type == "Squeeze" || n.op_type == "Unsqueeze" || n.op_type == "ReduceSum")
            ? "axes"
            : nullptr;
    if (moved == nullptr) continue;
    const Attribute* a = n.FindAttribute(moved);
    if (a == nullptr) continue;
    const std::string name = absl::StrCat(Stem(n), "_", moved);
    added.push_back(
        Tensor::FromVector<int64_t>(name, {static_cast<int64_t>(a->ints.size())}, a->ints));
    n.inputs.resize(1);
    n.inputs.push_back(name);
    DropAttributes(n, {moved});
  }
  for (Tensor& t : added) g.initializers.push_back(std::move(t));
  for (OpsetImport& o : model.opset_imports) {
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = 13;
  }
  return absl::OkStatus();
}

absl::Status UpgradeToOpset21(Model& model) {
  const int64_t opset = OpsetVersion(model, "").value_or(1);
  if (opset >= 21) return absl::OkStatus();
  if (opset < 13) {
    return absl::UnimplementedError(
        absl::StrCat("the DequantizeLinear form needs opset 21 and the model is at opset ", opset,
                     "; export it at opset 13 or later, or use the MatMulNBits format"));
  }
  static const char* const kReduce[] = {"ReduceMean",   "ReduceMax",       "ReduceMin",
                                        "ReduceProd",   "ReduceL1",        "ReduceL2",
                                        "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
  Graph& g = model.graph;
  std::vector<Tensor> added;
  for (Node& n : g.nodes) {
    if (!IsDefaultDomain(n)) continue;
    if (std::find(std::begin(kReduce), std::end(kReduce), n.op_type) == std::end(kReduce)) {
      continue;
    }
    const Attribute* axes = n.FindAttribute("axes");
    if (opset >= 18 || axes == nullptr) continue;
    const std::string name = absl::StrCat(Stem(n), "_axes");
    added.push_back(
        Tensor::FromVector<int64_t>(name, {static_cast<int64_t>(axes->ints.size())}, axes->ints));
    n.inputs.resize(1);
    n.inputs.push_back(name);
    DropAttributes(n, {"axes"});
  }
  for (Tensor& t : added) g.initializers.push_back(std::move(t));
  for (OpsetImport& o : model.opset_imports) {
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = 21;
  }
  return absl::OkStatus();
}

}  // namespace pare::quantize
