// Resize (opsets 10-19: nearest, linear, cubic; every coordinate
// transformation mode; roi, axes, keep_aspect_ratio_policy) and the older
// Upsample. Interpolation is separable: one pass per resized axis, each
// output index reading a few input taps with weights.
#include <cmath>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

struct ResizeMode {
  std::string mode = "nearest";  // nearest | linear | cubic
  std::string transform = "half_pixel";
  std::string nearest = "round_prefer_floor";
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  bool antialias = false;  // linear and cubic widen their kernel when downsampling
  float extrapolation = 0.0f;
};

struct Taps {
  std::vector<int64_t> index;  // taps per output index, flattened
  std::vector<float> weight;
  std::vector<bool> outside;  // tf_crop_and_resize: use the extrapolation value
  int64_t per_output = 1;
};

// Maps an output coordinate to the input. `out_len` is the output's
// integer length; the reference formulas use the unrounded scale * in_len.
double Original(const ResizeMode& m, double x, double scale, int64_t out_len, int64_t in_len,
                double roi_start, double roi_end) {
  const std::string& t = m.transform;
  const double resized = scale * in_len;
  if (t == "asymmetric") return x / scale;
  if (t == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (t == "align_corners") return resized <= 1 ? 0 : x * (in_len - 1) / (resized - 1);
  if (t == "pytorch_half_pixel") return resized > 1 ? (x + 0.5) / scale - 0.5 : 0;
  if (t == "tf_crop_and_resize") {
    return out_len > 1
               ? roi_start * (in_len - 1) + x * (roi_end - roi_start) * (in_len - 1) / (out_len - 1)
               : 0.5 * (roi_start + roi_end) * (in_len - 1);
  }
  if (t == "half_pixel_symmetric") {
    const double adjustment = out_len / resized;
    const double center = in_len / 2.0;
    return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
  }
  return (x + 0.5) / scale - 0.5;  // half_pixel
}

int64_t Nearest(const std::string& mode, double x) {
  if (mode == "floor") return static_cast<int64_t>(std::floor(x));
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  const double f = std::floor(x);
  if (x - f == 0.5) return static_cast<int64_t>(mode == "round_prefer_ceil" ? f + 1 : f);
  return static_cast<int64_t>(std::round(x));
}

void CubicWeights(double r, double a, double w[4]) {
  auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };
  auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };
  w[0] = far(r + 1);
  w[1] = near(r);
  w[2] = near(1 - r);
  w[3] = far(2 - r);
}

double CubicKernel(double d, double a) {
  d = std::abs(d);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

// Antialiased taps for a downsampling `scale` < 1: the interpolation kernel
// is stretched by 1 / scale so that every input sample contributes, and the
// weights are normalized to sum to one. `x` sits at base + ratio with ratio
// in (0, 1]; the taps are the 2 * reach input samples nearest to it.
// The first tap's offset from the base sample: the kernel reaches
// support / scale samples either side.
int64_t AntialiasStart(const ResizeMode& m, double scale) {
  const double support = m.mode == "linear" ? 1 : 2;
  // RunResize refuses scales that stretch past a few times the input; the
  // clamp only keeps the conversion defined for the ones it never plans.
  return static_cast<int64_t>(std::max(std::floor(-support / scale), -1e15)) + 1;
}

void AntialiasTaps(const ResizeMode& m, double x, double scale, int64_t in_len, Taps& taps) {
  const int64_t start = AntialiasStart(m, scale);
  const int64_t base = static_cast<int64_t>(std::ceil(x)) - 1;
  const double ratio = x - static_cast<double>(base);
  std::vector<double> w;
  double sum = 0;
  for (int64_t o = start; o <= 1 - start; ++o) {
    const double d = (static_cast<double>(o) - ratio) * scale;
    double v = m.mode == "linear" ? std::max(0.0, 1 - std::abs(d)) : CubicKernel(d, m.cubic_a);
    const int64_t i = base + o;
    if (m.exclude_outside && (i < 0 || i >= in_len)) v = 0;
    w.push_back(v);
    sum += v;
  }
  for (size_t j = 0; j < w.size(); ++j) {
    taps.index.push_back(
        std::clamp<int64_t>(base + start + static_cast<int64_t>(j), 0, in_len - 1));
    taps.weight.push_back(static_cast<float>(sum != 0 ? w[j] / sum : w[j]));
  }
}

bool Antialiased(const ResizeMode& m, double scale) {
  return m.antialias && m.mode != "nearest" && scale < 1;
}

// A source coordinate made finite and brought within `margin` of the input:
// taps that far out all clamp to the edge sample, so the result is the same,
// and the index arithmetic cannot overflow.
double Bounded(double x, int64_t in_len, double margin) {
  if (!std::isfinite(x)) return x > 0 ? static_cast<double>(in_len) + margin : -margin;
  return std::clamp(x, -margin, static_cast<double>(in_len) + margin);
}

Taps AxisTaps(const ResizeMode& m, int64_t in_len, int64_t out_len, double scale, double roi_start,
              double roi_end) {
  Taps taps;
  if (out_len == 0) return taps;
  if (Antialiased(m, scale)) {
    const int64_t start = AntialiasStart(m, scale);
    taps.per_output = 2 - 2 * start;
    const double margin = static_cast<double>(8 - start);
    for (int64_t o = 0; o < out_len; ++o) {
      const double x =
          Original(m, static_cast<double>(o), scale, out_len, in_len, roi_start, roi_end);
      AntialiasTaps(m, Bounded(x, in_len, margin), scale, in_len, taps);
      taps.outside.push_back(m.transform == "tf_crop_and_resize" && (x < 0 || x > in_len - 1));
    }
    return taps;
  }
  taps.per_output = m.mode == "nearest" ? 1 : m.mode == "linear" ? 2 : 4;
  for (int64_t o = 0; o < out_len; ++o) {
    const double original =
        Original(m, static_cast<double>(o), scale, out_len, in_len, roi_start, roi_end);
    const bool outside =
        m.transform == "tf_crop_and_resize" && (original < 0 || original > in_len - 1);
    const double x = Bounded(original, in_len, 8);
    auto clamp = [in_len](int64_t i) { return std::clamp<int64_t>(i, 0, in_len - 1); };
    if (m.mode == "nearest") {
      taps.index.push_back(clamp(Nearest(m.nearest, x)));
      taps.weight.push_back(1.0f);
    } else if (m.mode == "linear") {
      const double xc = std::clamp(x, 0.0, static_cast<double>(in_len - 1));
      const int64_t lo = static_cast<int64_t>(std::floor(xc));
      const double r = xc - lo;
      taps.index.insert(taps.index.end(), {clamp(lo), clamp(lo + 1)});
      taps.weight.insert(taps.weight.end(), {static_cast<float>(1 - r), static_cast<float>(r)});
    } else {
      const int64_t lo = static_cast<int64_t>(std::floor(x));
      double w[4];
      CubicWeights(x - lo, m.cubic_a, w);
      double sum = 0;
      for (int j = 0; j < 4; ++j) {
        const int64_t i = lo - 1 + j;
        if (m.exclude_outside && (i < 0 || i >= in_len)) w[j] = 0;
        sum += w[j];
      }
      for (int j = 0; j < 4; ++j) {
        taps.index.push_back(clamp(lo - 1 + j));
        taps.weight.push_back(
            static_cast<float>(m.exclude_outside && sum != 0 ? w[j] / sum : w[j]));
      }
    }
    taps.outside.push_back(outside);
  }
  return taps;
}

// Resizes `in` along `axis` to `out_len` with the given taps.
template <typename T>
std::vector<T> ResizeAxis(const std::vector<T>& in, const std::vector<int64_t>& dims, size_t axis,
                          const Taps& taps, T extrapolation, bool nearest) {
  const int64_t outer = Product(dims, 0, axis), in_len = dims[axis],
                inner = Product(dims, axis + 1);
  const int64_t out_len = static_cast<int64_t>(taps.outside.size());
  std::vector<T> out(static_cast<size_t>(outer * out_len * inner));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < out_len; ++j) {
      T* dst = &out[(o * out_len + j) * inner];
      if (taps.outside[j]) {
        std::fill(dst, dst + inner, extrapolation);
        continue;
      }
      if (nearest) {  // a whole row copied from its one source
        const T* src = &in[(o * in_len + taps.index[j]) * inner];
        std::copy(src, src + inner, dst);
        continue;
      }
      for (int64_t i = 0; i < inner; ++i) {
        double acc = 0;
        for (int64_t t = 0; t < taps.per_output; ++t) {
          const int64_t src = taps.index[j * taps.per_output + t];
          acc += taps.weight[j * taps.per_output + t] *
                 static_cast<double>(in[(o * in_len + src) * inner + i]);
        }
        dst[i] = SaturateCast<T>(acc);
      }
    }
  }
  return out;
}

// Nearest resize of every axis at once: each output row of the last axis
// gathers from one input row. Used when no output falls outside the input.
template <typename T>
void NearestGather(const T* in, const std::vector<int64_t>& in_dims,
                   const std::vector<int64_t>& out_dims,
                   const std::vector<std::vector<int64_t>>& index, T* out, ThreadPool& pool) {
  const size_t last = in_dims.size() - 1;
  const std::vector<int64_t> strides = Strides(in_dims);
  const int64_t rows = Product(out_dims, 0, last), width = out_dims[last];
  const std::vector<int64_t>& columns = index[last];
  pool.ParallelFor(rows, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t offset = 0, rest = r;
      for (int64_t d = static_cast<int64_t>(last) - 1; d >= 0; --d) {
        offset += index[d][rest % out_dims[d]] * strides[d];
        rest /= out_dims[d];
      }
      const T* src = in + offset;
      T* dst = out + r * width;
      for (int64_t x = 0; x < width; ++x) dst[x] = src[columns[x]];
    }
  });
}

absl::Status RunResize(KernelContext& ctx, const Tensor& x, const ResizeMode& mode,
                       std::vector<double> scales, std::vector<int64_t> sizes,
                       std::vector<double> roi) {
  const size_t rank = x.dims().size();
  if (roi.size() != 2 * rank) {
    roi.assign(2 * rank, 0.0);
    for (size_t d = 0; d < rank; ++d) roi[rank + d] = 1.0;
  }
  std::vector<int64_t> out_dims(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (!sizes.empty()) {
      out_dims[d] = sizes[d];
      scales.resize(rank);
      scales[d] = static_cast<double>(sizes[d]) / x.dims()[d];
    } else {
      out_dims[d] =
          static_cast<int64_t>(std::floor(x.dims()[d] * (roi[rank + d] - roi[d]) * scales[d]));
    }
  }
  for (int64_t d : out_dims) {
    if (d < 0) return ctx.Error("output size must not be negative");
  }
  // An antialiased downscale stretches its kernel by 1 / scale; past a few
  // times the input it would only repeat the edges, at any memory cost.
  for (size_t d = 0; d < rank; ++d) {
    if (Antialiased(mode, scales[d]) && out_dims[d] > 0 &&
        !(scales[d] * (4.0 * x.dims()[d] + 8) >= 2)) {
      return ctx.Error(absl::StrCat("antialiased scale ", scales[d], " on axis ", d, " of ",
                                    x.dims()[d], " values is too small"));
    }
  }
  RETURN_IF_ERROR(ctx.CheckOutputSize(x.dtype(), out_dims));
  if (mode.mode == "nearest" && rank > 0 && Product(out_dims) > 0) {
    std::vector<std::vector<int64_t>> index(rank);
    bool inside = true;
    for (size_t d = 0; d < rank; ++d) {
      const Taps taps = AxisTaps(mode, x.dims()[d], out_dims[d], scales[d], roi[d], roi[rank + d]);
      for (bool o : taps.outside) inside = inside && !o;
      index[d] = taps.index;
    }
    if (inside) {
      return VisitNumeric(x.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* out = nullptr;
        Tensor result = NewTensor<T>(out_dims, &out);
        NearestGather<T>(x.data<T>(), x.dims(), out_dims, index, out, ctx.pool());
        ctx.SetOutput(0, std::move(result));
        return absl::OkStatus();
      });
    }
  }
  return VisitNumeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T> data(x.data<T>(), x.data<T>() + x.element_count());
    std::vector<int64_t> dims = x.dims();
    for (size_t d = 0; d < rank; ++d) {
      if (dims[d] == out_dims[d] && scales[d] == 1.0 && mode.transform != "tf_crop_and_resize")
        continue;
      const Taps taps = AxisTaps(mode, dims[d], out_dims[d], scales[d], roi[d], roi[rank + d]);
      data = ResizeAxis<T>(data, dims, d, taps, static_cast<T>(mode.extrapolation),
                           mode.mode == "nearest");
      dims[d] = out_dims[d];
    }
    ctx.SetOutput(0, Tensor::FromVector<T>("", out_dims, data));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<double>> Doubles(const Tensor& t) {
  ASSIGN_OR_RETURN(std::vector<float> f, t.ToFloat32());
  return std::vector<double>(f.begin(), f.end());
}

absl::Status Resize(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ResizeMode mode;
  mode.mode = ctx.GetString("mode", "nearest");
  mode.antialias = ctx.GetInt("antialias", 0) != 0;
  const size_t rank = x->dims().size();
  std::vector<double> scales, roi;
  std::vector<int64_t> sizes;
  if (ctx.opset() < 11) {
    mode.transform = "asymmetric";
    mode.nearest = "floor";
    ASSIGN_OR_RETURN(scales, Doubles(ctx.input(1)));
  } else {
    mode.transform = ctx.GetString("coordinate_transformation_mode", "half_pixel");
    mode.nearest = ctx.GetString("nearest_mode", "round_prefer_floor");
    mode.cubic_a = ctx.GetFloat("cubic_coeff_a", -0.75f);
    mode.exclude_outside = ctx.GetInt("exclude_outside", 0) != 0;
    mode.extrapolation = ctx.GetFloat("extrapolation_value", 0.0f);
    if (ctx.HasInput(1) && ctx.input(1).element_count() > 0) {
      ASSIGN_OR_RETURN(roi, Doubles(ctx.input(1)));
    }
    if (ctx.HasInput(2) && ctx.input(2).element_count() > 0) {
      ASSIGN_OR_RETURN(scales, Doubles(ctx.input(2)));
    }
    if (ctx.HasInput(3) && ctx.input(3).element_count() > 0) {
      ASSIGN_OR_RETURN(sizes, ReadInts(ctx.input(3)));
    }
  }
  // Opset 18 axes: scales/sizes/roi given for a subset of axes.
  const std::vector<int64_t> axes = ctx.GetInts("axes");
  if (!axes.empty()) {
    std::vector<double> full_scales(rank, 1.0), full_roi(2 * rank, 0.0);
    std::vector<int64_t> full_sizes(x->dims());
    for (size_t d = 0; d < rank; ++d) full_roi[rank + d] = 1.0;
    for (size_t i = 0; i < axes.size(); ++i) {
      ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axes[i], static_cast<int64_t>(rank)));
      if (!scales.empty()) full_scales[a] = scales[i];
      if (!sizes.empty()) full_sizes[a] = sizes[i];
      if (!roi.empty()) full_roi[a] = roi[i], full_roi[rank + a] = roi[axes.size() + i];
    }
    scales = scales.empty() ? scales : full_scales;
    sizes = sizes.empty() ? sizes : full_sizes;
    roi = roi.empty() ? roi : full_roi;
  }
  const std::string policy = ctx.GetString("keep_aspect_ratio_policy", "stretch");
  if (!sizes.empty() && policy != "stretch") {
    double scale = policy == "not_larger" ? 1e300 : 0;
    for (size_t d = 0; d < rank; ++d) {
      if (axes.empty() ||
          std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) != axes.end() ||
          std::find(axes.begin(), axes.end(), static_cast<int64_t>(d - rank)) != axes.end()) {
        const double s = static_cast<double>(sizes[d]) / x->dims()[d];
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
    }
    for (size_t d = 0; d < rank; ++d) {
      if (sizes[d] != x->dims()[d] || axes.empty()) {
        sizes[d] = static_cast<int64_t>(std::round(scale * x->dims()[d]));
      }
    }
    // Scales follow the common factor, not the rounded sizes.
    scales.assign(rank, 1.0);
    for (size_t d = 0; d < rank; ++d) {
      if (sizes[d] != x->dims()[d]) scales[d] = scale;
    }
    std::vector<int64_t> kept = sizes;
    RETURN_IF_ERROR(RunResize(ctx, *x, mode, scales, {}, roi));
    (void)kept;
    return absl::OkStatus();
  }
  if (scales.size() != rank && sizes.size() != rank) {
    return ctx.Error("scales or sizes must have one value per dimension");
  }
  return RunResize(ctx, *x, mode, scales, sizes, roi);
}

absl::Status Upsample(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ResizeMode mode;
  mode.mode = ctx.GetString("mode", "nearest");
  mode.transform = "asymmetric";
  mode.nearest = "floor";
  std::vector<double> scales;
  if (ctx.opset() < 9) {
    for (float s : ctx.GetFloats("scales")) scales.push_back(s);
  } else {
    ASSIGN_OR_RETURN(scales, Doubles(ctx.input(1)));
  }
  if (scales.size() != x->dims().size()) return ctx.Error("scales must match the rank");
  return RunResize(ctx, *x, mode, scales, {}, {});
}

}  // namespace

void RegisterResizeOps(KernelRegistry& r) {
  r.Add("", "Resize", 10, Resize);
  r.Add("", "Upsample", 7, Upsample);
}

}  // namespace pare::runtime
