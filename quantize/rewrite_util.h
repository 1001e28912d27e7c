// Helpers shared by pare's quantizers (internal to quantize/).
#ifndef PARE_QUANTIZE_REWRITE_UTIL_H_
#define PARE_QUANTIZE_REWRITE_UTIL_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/model.h"
#include "quantize/int8.h"
#include "quantize/static_int8.h"

namespace pare::quantize {

// Where each constant float32 value comes from: an initializer or a
// Constant node (PP-OCR's exports keep every weight in Constant nodes).
class Constants {
 public:
  explicit Constants(const Graph& g) {
    for (const Tensor& t : g.initializers) values_[t.name()] = &t;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1) continue;
      const Attribute* a = n.FindAttribute("value");
      if (a != nullptr && a->tensors.size() == 1) values_[n.outputs[0]] = &a->tensors[0];
    }
  }
  const Tensor* FindFloat(const std::string& name) const {
    auto it = values_.find(name);
    return it != values_.end() && it->second->dtype() == DataType::kFloat32 ? it->second : nullptr;
  }
  // float32, float16 or bfloat16 (weight-only quantization reads all three).
  const Tensor* FindFloating(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return nullptr;
    const DataType t = it->second->dtype();
    return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16
               ? it->second
               : nullptr;
  }
  bool Contains(const std::string& name) const { return values_.contains(name); }

 private:
  absl::flat_hash_map<std::string, const Tensor*> values_;
};

// True (and `which` names the node) when the graph already holds quantized
// operators: quantizing again would stack errors.
bool IsQuantizedGraph(const Graph& g, std::string* which);

// Drops the nodes marked in `removed` and appends `nodes` and
// `initializers` (the pieces a quantizer built beside the graph).
void ReplaceNodes(Graph& g, const std::vector<bool>& removed, std::vector<Node>& nodes,
                  std::vector<Tensor>& initializers);

// After a rewrite: drops initializers and Constant nodes nothing reads any
// more, imports com.microsoft when `uses_contrib`, and puts the nodes back
// in topological order (new nodes are appended at the end).
absl::Status FinishRewrite(Model& model, bool uses_contrib);

std::string NodeLabel(const Node& node);

// Whether `node` matches one of `patterns`: its name (or first output) or
// its output names, exactly or as shell-style globs ("*.attn.*", "p2o.Conv.1?").
bool Excluded(const Node& node, const std::vector<std::string>& patterns);

// The initializers of a quantized weight `name`: name_quantized (int8, the
// weight's dims), name_scale and name_zero_point (zeros), one value per
// channel or scalars for one scale.
std::vector<Tensor> WeightInitializers(const std::string& name, const std::vector<int64_t>& dims,
                                       const WeightQuantization& q);

// The report entry of a quantized weight: `elements` float32 values became
// int8, plus `scale_bytes` per channel of scales and zero points.
QuantizedTensor WeightEntry(const std::string& name, const WeightQuantization& q, uint64_t elements,
                            uint64_t scale_bytes);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_REWRITE_UTIL_H_
