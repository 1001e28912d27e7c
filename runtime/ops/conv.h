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

// 2-D helpers of RunConv (conv_2d.cc). Im2Col2D writes the column matrix
// [channels * kh * kw, (y1 - y0) * ow] of output rows [y0, y1); Depthwise2D
// convolves `planes` planes (batch x channels) each with its own kernel
// (channel = plane % channels).
template <typename T>
void Im2Col2D(const Window& w, const T* in, int64_t channels, int64_t y0, int64_t y1, T* col,
              ThreadPool& pool);
template <typename T>
void Depthwise2D(const Window& w, const T* in, const T* weights, T* out, int64_t planes,
                 int64_t channels, ThreadPool& pool);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_OPS_CONV_H_
