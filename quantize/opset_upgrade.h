// Raising a model's default-domain opset to 10, the first with
// QuantizeLinear/DequantizeLinear (ONNX Runtime fuses QDQ into QLinearConv
// and friends only when the model's opset has them). Operators whose
// signature changed at 10 are rewritten: Slice (starts/ends/axes attributes
// become inputs) and TopK (k becomes an input). Upsample, deprecated at 10,
// and anything else that changed is refused by name.
#ifndef PARE_QUANTIZE_OPSET_UPGRADE_H_
#define PARE_QUANTIZE_OPSET_UPGRADE_H_

#include "absl/status/status.h"
#include "core/model.h"

namespace pare::quantize {

// No-op when the opset is already >= 10.
absl::Status UpgradeToOpset10(Model& model);

// Raises opset 11 or 12 to 13, the first with per-axis DequantizeLinear
// (ONNX Runtime's QDQ optimizer writes per-axis bias DequantizeLinear nodes
// even into opset-12 models, and then refuses them). Rewrites Split's split
// and Squeeze/Unsqueeze/ReduceSum's axes attributes into inputs. Below 11 is
// refused. No-op at 13 or later.
absl::Status UpgradeToOpset13(Model& model);

// Raises opset 13..20 to 21 (block-wise DequantizeLinear, int4 types). The
// one signature change on the way: the Reduce* operators other than
// ReduceSum took their axes as an input from 18. Below 13 is refused.
absl::Status UpgradeToOpset21(Model& model);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_OPSET_UPGRADE_H_
