#include "quantize/passes.h"

#include "core/graph.h"
#include "quantize/opset_upgrade.h"
#include "runtime/fusion.h"

namespace pare::quantize {

RewritePasses QdqPreparation(bool per_channel) {
  RewritePasses passes;
  passes.push_back(StatusRewrite("opset-10", UpgradeToOpset10));
  // A BatchNormalization (or constant Mul/Add) after a Conv would otherwise
  // rescale the Conv's quantized output in float: fold it into the weights
  // first, as ONNX Runtime's quantization preprocessing does.
  passes.push_back(StatusRewrite("fold-conv-affine", [](Model& model) {
    runtime::FoldConvAffine(model, model.graph);
    return absl::OkStatus();
  }));
  if (per_channel) {
    // Below 11 the com.microsoft per-axis form stays (the Rewriter picks it).
    passes.push_back(StatusRewrite("opset-13", [](Model& model) {
      if (OpsetVersion(model, "").value_or(1) < 11) return absl::OkStatus();
      return UpgradeToOpset13(model);
    }));
  }
  return passes;
}

RewritePasses BlockedDequantizePreparation() {
  RewritePasses passes;
  passes.push_back(StatusRewrite("opset-21", UpgradeToOpset21));
  return passes;
}

}  // namespace pare::quantize
