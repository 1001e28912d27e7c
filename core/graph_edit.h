// Helpers for stages that rewrite a graph's weights: where each constant
// lives, how nodes are named and matched by users' patterns, and the tidy-up
// after a rewrite.
//
//   const Constants constants(model.graph);
//   const Tensor* w = constants.FindFloating(node.inputs[1]);
//   if (MatchesAnyPattern(node, {"*.attn.*"})) ...
//   RETURN_IF_ERROR(FinishGraphRewrite(model));
#ifndef PARE_CORE_GRAPH_EDIT_H_
#define PARE_CORE_GRAPH_EDIT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/model.h"

namespace pare {

// The values known before running: initializers and Constant nodes' values
// (PP-OCR's exports keep every weight in Constant nodes). The graph must
// outlive this and keep its initializers and nodes in place.
class Constants {
 public:
  explicit Constants(const Graph& g);

  const Tensor* Find(const std::string& name) const;
  bool Contains(const std::string& name) const { return values_.contains(name); }
  // Only when float32.
  const Tensor* FindFloat(const std::string& name) const;
  // float32, float16 or bfloat16 (weights of any float type).
  const Tensor* FindFloating(const std::string& name) const;
  // The float32 values of a float32 constant, or of a one-element one.
  std::optional<std::vector<float>> Floats(const std::string& name) const;
  std::optional<float> Scalar(const std::string& name) const;

 private:
  absl::flat_hash_map<std::string, const Tensor*> values_;
};

// A node's name in messages: its name, or its first output when unnamed.
std::string NodeLabel(const Node& node);

// Whether `node` matches one of `patterns`: its label or an output name,
// exactly or as a shell-style glob ("*.attn.*", "p2o.Conv.1?").
bool MatchesAnyPattern(const Node& node, const std::vector<std::string>& patterns);

// Renames the second and later nodes that share a name (NAME_2, NAME_3...):
// ONNX Runtime refuses a graph whose node names repeat, and rewrites name
// new nodes after values that an unnamed original node's label shares.
void MakeNodeNamesUnique(Graph& graph);

// After a rewrite: drops initializers and Constant nodes nothing reads any
// more, puts the nodes back in topological order (rewrites append new nodes
// at the end) and makes node names unique.
absl::Status FinishGraphRewrite(Model& model);

// A weight a stage is about to rewrite must be finite: NaN and infinity have
// no quantized code and no place in a magnitude ranking. The error names the
// weight, the value and its element; `advice` says what the user can do.
absl::Status CheckFiniteWeight(const std::string& name, const std::vector<float>& values,
                               const std::string& advice);

}  // namespace pare

#endif  // PARE_CORE_GRAPH_EDIT_H_
