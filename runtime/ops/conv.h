// Convolution core shared by Conv and the integer convolutions
// (ConvInteger, QLinearConv): geometry from the node, then im2col + GEMM.
#ifndef PARE_RUNTIME_OPS_CONV_H_
#define PARE_RUNTIME_OPS_CONV_H_

#include <vector>

#include "runtime/kernel.h"
#include "runtime/ops/spatial.h"

namespace pare::runtime {

struct ConvShape {
  int64_t batch = 0, channels = 0, maps = 0, group = 1;
  Window window;
  std::vector<int64_t> output;  // [N, M, spatial...]
};

// Validates X [N, C, ...] against W [M, C/group, k...] and the node's
// attributes.
absl::StatusOr<ConvShape> ResolveConv(const KernelContext& ctx, const std::vector<int64_t>& x,
                                      const std::vector<int64_t>& w);

// out [N, M, out...] = conv(x, w), no bias. T: float, double or int32_t.
template <typename T>
void RunConv(const ConvShape& shape, const T* x, const T* w, T* out, ThreadPool& pool);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_OPS_CONV_H_
