#include "runtime/passes.h"

#include <memory>
#include <utility>

#include "runtime/fusion.h"
#include "runtime/qdq_fusion.h"

namespace pare::runtime {

RewritePasses SessionPasses(uint64_t max_tensor_bytes, NodeEvaluator evaluate) {
  RewritePasses passes;
  passes.push_back(std::make_unique<FunctionRewrite>(
      "fold-constants",
      [max_tensor_bytes,
       evaluate = std::move(evaluate)](Model& model) -> absl::StatusOr<RewriteOutcome> {
        RewriteOutcome out;
        out.removed = FoldConstants(model, max_tensor_bytes, evaluate);
        out.changed = !out.removed.empty();
        return out;
      }));
  passes.push_back(std::make_unique<FunctionRewrite>(
      "fuse-conv-activations", [](Model& model) -> absl::StatusOr<RewriteOutcome> {
        RewriteOutcome out;
        out.removed = FuseConvActivations(model, model.graph);
        out.changed = !out.removed.empty();
        return out;
      }));
  // After the activations: Conv -> Relu -> Q -> DQ becomes one Conv.
  passes.push_back(std::make_unique<FunctionRewrite>(
      "fuse-quantize-dequantize", [](Model& model) -> absl::StatusOr<RewriteOutcome> {
        RewriteOutcome out;
        out.removed = FuseQuantizeDequantize(model.graph);
        out.changed = !out.removed.empty();
        return out;
      }));
  return passes;
}

}  // namespace pare::runtime
