// Col2Im (opset 18): the inverse of an im2col unfold. Each column of the
// input holds one sliding block; its values are added back into the image
// at the positions the block covered, so overlapping blocks sum.
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "runtime/ops/op_util.h"
#include "runtime/ops/spatial.h"

namespace pare::runtime {
namespace {

// Adds one channel's columns [block elements x blocks] into its image.
template <typename T>
void FoldChannel(const T* columns, const Window& w, const std::vector<int64_t>& block_strides,
                 const std::vector<int64_t>& image_strides, T* image) {
  const size_t n = w.input.size();
  const int64_t block_size = Product(w.kernel), blocks = Product(w.output);
  const std::vector<int64_t> block_grid = Strides(w.output);
  for (int64_t k = 0; k < block_size; ++k) {
    for (int64_t b = 0; b < blocks; ++b) {
      int64_t offset = 0;
      bool inside = true;
      for (size_t d = 0; d < n && inside; ++d) {
        const int64_t kd = k / block_strides[d] % w.kernel[d];
        const int64_t bd = b / block_grid[d] % w.output[d];
        const int64_t pos = bd * w.strides[d] - w.pad_begin[d] + kd * w.dilations[d];
        inside = pos >= 0 && pos < w.input[d];
        offset += pos * image_strides[d];
      }
      if (inside) image[offset] += columns[k * blocks + b];
    }
  }
}

absl::Status Col2Im(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* image_shape, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(const Tensor* block_shape, ctx.RequireInput(2));
  ASSIGN_OR_RETURN(std::vector<int64_t> image, ReadInts(*image_shape));
  ASSIGN_OR_RETURN(std::vector<int64_t> block, ReadInts(*block_shape));
  if (x->dims().size() != 3) return ctx.Error("input must be 3-D [N, C * block size, L]");
  if (image.empty() || image.size() != block.size()) {
    return ctx.Error("image_shape and block_shape must have the same, non-zero length");
  }
  for (int64_t d : image) {
    if (d <= 0) return ctx.Error("image_shape must be positive");
  }
  ASSIGN_OR_RETURN(Window w, ResolveWindow(ctx, image, block, /*ceil_mode=*/false));
  const int64_t block_size = Product(block), blocks = Product(w.output);
  const int64_t batch = x->dims()[0], rows = x->dims()[1];
  if (rows % block_size != 0 || x->dims()[2] != blocks) {
    return ctx.Error(absl::StrCat("input of shape [", batch, ", ", rows, ", ", x->dims()[2],
                                  "] does not hold ", blocks, " blocks of ", block_size,
                                  " elements per channel"));
  }
  const int64_t channels = rows / block_size;
  std::vector<int64_t> out_dims = {batch, channels};
  out_dims.insert(out_dims.end(), image.begin(), image.end());
  RETURN_IF_ERROR(ctx.CheckOutputSize(x->dtype(), out_dims));
  return VisitNumeric(x->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(out_dims, &out);
    const int64_t pixels = Product(image);
    std::fill(out, out + batch * channels * pixels, T{0});
    const std::vector<int64_t> block_strides = Strides(block), image_strides = Strides(image);
    ctx.pool().ParallelFor(batch * channels, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c) {
        FoldChannel<T>(x->data<T>() + c * block_size * blocks, w, block_strides, image_strides,
                       out + c * pixels);
      }
    });
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterCol2ImOps(KernelRegistry& r) { r.Add("", "Col2Im", 18, Col2Im); }

}  // namespace pare::runtime
