// Shape resolution shared by MatMul and its quantized forms: numpy matmul
// semantics (1-D promotion, broadcast batch dimensions).
#ifndef PARE_RUNTIME_OPS_MATMUL_H_
#define PARE_RUNTIME_OPS_MATMUL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "runtime/kernel.h"

namespace pare::runtime {

struct MatMulShape {
  int64_t m = 0, n = 0, k = 0, batches = 1;
  // For output batch i, the index of the A and B matrices it multiplies.
  std::vector<int64_t> a_offset, b_offset;
  std::vector<int64_t> output;
};

absl::StatusOr<MatMulShape> ResolveMatMul(const KernelContext& ctx, const std::vector<int64_t>& a,
                                          const std::vector<int64_t>& b);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_OPS_MATMUL_H_
