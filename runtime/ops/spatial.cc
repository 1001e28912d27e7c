#include "runtime/ops/spatial.h"

#include "absl/strings/str_cat.h"

namespace pare::runtime {

absl::Status CheckWindowAttributes(const KernelContext& ctx,
                                   std::initializer_list<const std::vector<int64_t>*> values) {
  constexpr int64_t kLimit = int64_t{1} << 31;
  for (const std::vector<int64_t>* v : values) {
    for (int64_t x : *v) {
      if (x > kLimit || x < -kLimit) {
        return ctx.Error(absl::StrCat("window attribute value ", x, " is out of range"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Window> ResolveWindow(const KernelContext& ctx, std::vector<int64_t> input,
                                     std::vector<int64_t> kernel, bool ceil_mode) {
  Window w;
  const size_t n = input.size();
  w.input = std::move(input);
  std::vector<int64_t> attr_kernel = ctx.GetInts("kernel_shape");
  if (!attr_kernel.empty() && !kernel.empty() && attr_kernel != kernel) {
    return ctx.Error("kernel_shape does not match the weights");
  }
  w.kernel = attr_kernel.empty() ? std::move(kernel) : attr_kernel;
  w.strides = ctx.GetInts("strides");
  w.dilations = ctx.GetInts("dilations");
  std::vector<int64_t> pads = ctx.GetInts("pads");
  if (w.strides.empty()) w.strides.assign(n, 1);
  if (w.dilations.empty()) w.dilations.assign(n, 1);
  if (pads.empty()) pads.assign(2 * n, 0);
  if (absl::Status s = CheckWindowAttributes(ctx, {&w.kernel, &w.strides, &w.dilations, &pads});
      !s.ok()) {
    return s;
  }
  if (w.kernel.size() != n || w.strides.size() != n || w.dilations.size() != n ||
      pads.size() != 2 * n) {
    return ctx.Error(absl::StrCat("kernel_shape, strides, dilations or pads do not match ", n,
                                  " spatial dimensions"));
  }
  w.pad_begin.assign(pads.begin(), pads.begin() + n);
  w.pad_end.assign(pads.begin() + n, pads.end());
  const std::string auto_pad = ctx.GetString("auto_pad", "NOTSET");
  w.output.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (w.strides[i] <= 0 || w.dilations[i] <= 0 || w.kernel[i] <= 0) {
      return ctx.Error("kernel, strides and dilations must be positive");
    }
    const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (w.input[i] + w.strides[i] - 1) / w.strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + extent - w.input[i]);
      w.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pad_end[i] = total - w.pad_begin[i];
      w.output[i] = out;
      continue;
    }
    if (auto_pad == "VALID") w.pad_begin[i] = w.pad_end[i] = 0;
    const int64_t span = w.input[i] + w.pad_begin[i] + w.pad_end[i] - extent;
    if (span < 0) return ctx.Error("the kernel is larger than the padded input");
    w.output[i] = (ceil_mode ? (span + w.strides[i] - 1) / w.strides[i] : span / w.strides[i]) + 1;
    if (w.pad_begin[i] < 0 || w.pad_end[i] < 0) return ctx.Error("pads must not be negative");
    // A ceil-mode window must start inside the input or its left padding.
    if (ceil_mode && (w.output[i] - 1) * w.strides[i] >= w.input[i] + w.pad_begin[i]) {
      --w.output[i];
    }
  }
  return w;
}

}  // namespace pare::runtime
