// Two-dimensional fast paths of the convolution core: im2col by row copies
// (no gather table) and a direct depthwise kernel. Most CNN exports are 2-D,
// and these loops touch each input row with unit stride where the geometry
// allows, which the compiler vectorizes.
#include <algorithm>
#include <cstring>

#include "runtime/ops/conv.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

struct Geometry2D {
  int64_t ih, iw, kh, kw, oh, ow, sh, sw, dh, dw, ph, pw;

  explicit Geometry2D(const Window& w)
      : ih(w.input[0]),
        iw(w.input[1]),
        kh(w.kernel[0]),
        kw(w.kernel[1]),
        oh(w.output[0]),
        ow(w.output[1]),
        sh(w.strides[0]),
        sw(w.strides[1]),
        dh(w.dilations[0]),
        dw(w.dilations[1]),
        ph(w.pad_begin[0]),
        pw(w.pad_begin[1]) {}

  // Output columns [first, last) whose input column for kernel column j
  // lies inside the image.
  void ValidColumns(int64_t j, int64_t* first, int64_t* last) const {
    const int64_t shift = j * dw - pw;  // input col = o * sw + shift
    int64_t lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
    int64_t hi = iw - shift <= 0 ? 0 : (iw - shift + sw - 1) / sw;
    *first = std::min(lo, ow);
    *last = std::clamp(hi, *first, ow);
  }
};

}  // namespace

template <typename T>
void Im2Col2D(const Window& w, const T* in, int64_t channels, int64_t y0, int64_t y1, T* col,
              ThreadPool& pool) {
  const Geometry2D g(w);
  const int64_t osize = (y1 - y0) * g.ow, ksize = g.kh * g.kw;
  pool.ParallelFor(channels * ksize, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t c = r / ksize, i = (r % ksize) / g.kw, j = r % g.kw;
      const T* plane = in + c * g.ih * g.iw;
      T* dst = col + r * osize;
      int64_t first, last;
      g.ValidColumns(j, &first, &last);
      const int64_t shift = j * g.dw - g.pw;
      for (int64_t y = y0; y < y1; ++y, dst += g.ow) {
        const int64_t row = y * g.sh - g.ph + i * g.dh;
        if (row < 0 || row >= g.ih) {
          std::fill(dst, dst + g.ow, T{0});
          continue;
        }
        std::fill(dst, dst + first, T{0});
        if (first < last) {
          // The input of output column `first`: inside the image by construction.
          const T* src = plane + (row * g.iw + shift + first * g.sw);
          if (g.sw == 1) {
            std::copy(src, src + (last - first), dst + first);
          } else {
            for (int64_t x = first; x < last; ++x) dst[x] = src[(x - first) * g.sw];
          }
        }
        std::fill(dst + last, dst + g.ow, T{0});
      }
    }
  });
}

template <typename T>
void Depthwise2D(const Window& w, const T* in, const T* weights, T* out, int64_t planes,
                 int64_t channels, ThreadPool& pool) {
  const Geometry2D g(w);
  const int64_t osize = g.oh * g.ow;
  pool.ParallelFor(planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* plane = in + p * g.ih * g.iw;
      const T* kernel = weights + (p % channels) * g.kh * g.kw;
      T* dst = out + p * osize;
      std::fill(dst, dst + osize, T{0});
      for (int64_t j = 0; j < g.kw; ++j) {
        int64_t first, last;
        g.ValidColumns(j, &first, &last);
        const int64_t shift = j * g.dw - g.pw;
        for (int64_t i = 0; i < g.kh; ++i) {
          const T wt = kernel[i * g.kw + j];
          for (int64_t y = 0; y < g.oh; ++y) {
            const int64_t row = y * g.sh - g.ph + i * g.dh;
            if (row < 0 || row >= g.ih) continue;
            if (first >= last) continue;
            const T* src = plane + (row * g.iw + shift + first * g.sw);
            T* o = dst + y * g.ow + first;
            const int64_t n = last - first;
            if (g.sw == 1) {
              for (int64_t x = 0; x < n; ++x) o[x] += wt * src[x];
            } else {
              for (int64_t x = 0; x < n; ++x) o[x] += wt * src[x * g.sw];
            }
          }
        }
      }
    }
  });
}

#define PARE_INSTANTIATE_CONV2D(T)                                                                \
  template void Im2Col2D<T>(const Window&, const T*, int64_t, int64_t, int64_t, T*, ThreadPool&); \
  template void Depthwise2D<T>(const Window&, const T*, const T*, T*, int64_t, int64_t,           \
                               ThreadPool&);
PARE_INSTANTIATE_CONV2D(float)
PARE_INSTANTIATE_CONV2D(double)
PARE_INSTANTIATE_CONV2D(int32_t)
#undef PARE_INSTANTIATE_CONV2D

}  // namespace pare::runtime
