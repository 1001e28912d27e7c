// float16 and bfloat16 through float32 kernels: most kernels compute in
// float32/float64 only, so a node whose half-precision inputs a kernel
// refuses is run again on float32 copies of them, and its float32 outputs
// are rounded back to the half type. This is how ONNX Runtime's CPU
// provider runs half models too (it inserts Casts around such nodes), so
// results agree to about one half-precision ulp per node.
#ifndef PARE_RUNTIME_HALF_COMPUTE_H_
#define PARE_RUNTIME_HALF_COMPUTE_H_

#include <optional>
#include <vector>

#include "core/tensor.h"

namespace pare::runtime {

// The half type (float16 or bfloat16) of the first such input, if any.
std::optional<DataType> HalfInputType(const std::vector<const Tensor*>& inputs);

// float32 copies of the half-precision inputs; other inputs are kept as
// they are. `storage` owns the copies `widened` points at.
void WidenHalfInputs(const std::vector<const Tensor*>& inputs, std::vector<Tensor>& storage,
                     std::vector<const Tensor*>& widened);

// Rounds every float32 output to `half` (float16 or bfloat16) in place.
void NarrowFloatOutputs(std::vector<Tensor>& outputs, DataType half);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_HALF_COMPUTE_H_
