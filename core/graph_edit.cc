#include "core/graph_edit.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/status_macros.h"

namespace pare {

Constants::Constants(const Graph& g) {
  for (const Tensor& t : g.initializers) values_[t.name()] = &t;
  for (const Node& n : g.nodes) {
    if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1) continue;
    const Attribute* a = n.FindAttribute("value");
    if (a != nullptr && a->tensors.size() == 1) values_[n.outputs[0]] = &a->tensors[0];
  }
}

const Tensor* Constants::Find(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : it->second;
}

const Tensor* Constants::FindFloat(const std::string& name) const {
  const Tensor* t = Find(name);
  return t != nullptr && t->dtype() == DataType::kFloat32 ? t : nullptr;
}

const Tensor* Constants::FindFloating(const std::string& name) const {
  const Tensor* t = Find(name);
  if (t == nullptr) return nullptr;
  const DataType d = t->dtype();
  return d == DataType::kFloat32 || d == DataType::kFloat16 || d == DataType::kBFloat16 ? t
                                                                                        : nullptr;
}

std::optional<std::vector<float>> Constants::Floats(const std::string& name) const {
  const Tensor* t = FindFloat(name);
  if (t == nullptr) return std::nullopt;
  auto floats = t->ToFloat32();
  if (!floats.ok()) return std::nullopt;
  return *std::move(floats);
}

std::optional<float> Constants::Scalar(const std::string& name) const {
  auto v = Floats(name);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

std::string NodeLabel(const Node& node) {
  return node.name.empty() && !node.outputs.empty() ? node.outputs[0] : node.name;
}

bool MatchesAnyPattern(const Node& node, const std::vector<std::string>& patterns) {
  std::vector<std::string> names = {NodeLabel(node)};
  names.insert(names.end(), node.outputs.begin(), node.outputs.end());
  for (const std::string& p : patterns) {
    for (const std::string& n : names) {
      if (p == n || fnmatch(p.c_str(), n.c_str(), 0) == 0) return true;
    }
  }
  return false;
}

void MakeNodeNamesUnique(Graph& graph) {
  absl::flat_hash_set<std::string> taken;
  for (const Node& n : graph.nodes) taken.insert(n.name);
  absl::flat_hash_set<std::string> seen;
  for (Node& n : graph.nodes) {
    if (n.name.empty() || seen.insert(n.name).second) continue;
    std::string name;
    for (int k = 2;; ++k) {
      name = absl::StrCat(n.name, "_", k);
      if (!taken.contains(name)) break;
    }
    taken.insert(name);
    seen.insert(name);
    n.name = std::move(name);
  }
}

absl::Status FinishGraphRewrite(Model& model) {
  Graph& g = model.graph;
  absl::flat_hash_set<std::string> read;
  for (const Node& n : g.nodes) {
    for (const std::string& v : NodeReads(n)) read.insert(v);
  }
  for (const ValueInfo& v : g.outputs) read.insert(v.name);
  std::erase_if(g.initializers, [&](const Tensor& t) { return !read.contains(t.name()); });
  std::erase_if(g.nodes, [&](const Node& n) {
    return n.op_type == "Constant" && n.outputs.size() == 1 && !read.contains(n.outputs[0]);
  });
  ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(g));
  std::vector<Node> sorted;
  sorted.reserve(order.size());
  for (size_t i : order) sorted.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(sorted);
  MakeNodeNamesUnique(g);
  return absl::OkStatus();
}

absl::Status CheckFiniteWeight(const std::string& name, const std::vector<float>& values,
                               const std::string& advice) {
  const auto bad =
      std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
  if (bad == values.end()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("weight '", name, "' holds ", *bad, " at element ",
                                                 bad - values.begin(), ": ", advice));
}

}  // namespace pare
