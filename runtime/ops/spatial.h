// Geometry shared by Conv, ConvTranspose and pooling: kernel, strides,
// dilations and pads for N spatial dimensions, with auto_pad resolved.
#ifndef PARE_RUNTIME_OPS_SPATIAL_H_
#define PARE_RUNTIME_OPS_SPATIAL_H_

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/kernel.h"

namespace pare::runtime {

struct Window {
  std::vector<int64_t> input;  // spatial input dims
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pad_begin;
  std::vector<int64_t> pad_end;
  std::vector<int64_t> output;  // spatial output dims

  size_t rank() const { return input.size(); }
};

// Refuses strides, dilations, pads and the like beyond +-2^31: no real
// model comes near, and products of such attributes would overflow.
absl::Status CheckWindowAttributes(const KernelContext& ctx,
                                   std::initializer_list<const std::vector<int64_t>*> values);

// Reads kernel_shape (or uses `kernel` from the weights), strides,
// dilations, pads and auto_pad, and computes output dims. ceil_mode applies
// to pooling only.
absl::StatusOr<Window> ResolveWindow(const KernelContext& ctx, std::vector<int64_t> input,
                                     std::vector<int64_t> kernel, bool ceil_mode = false);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_OPS_SPATIAL_H_
