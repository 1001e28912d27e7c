// Conv and ConvTranspose for any number of spatial dimensions, by
// im2col / col2im around the shared GEMM.
#include "runtime/ops/conv.h"

#include "core/status_macros.h"
#include "runtime/fusion.h"
#include "runtime/gemm.h"
#include "runtime/ops/op_util.h"
#include "runtime/ops/quant_util.h"
#include "runtime/qdq_fusion.h"

namespace pare::runtime {
namespace {

// Input offset of output position `o` and kernel position `kpos`, or -1.
int64_t InputOffset(const Window& w, const std::vector<int64_t>& out_pos,
                    const int64_t* kernel_pos) {
  int64_t offset = 0;
  for (size_t d = 0; d < w.rank(); ++d) {
    const int64_t x = out_pos[d] * w.strides[d] - w.pad_begin[d] + kernel_pos[d] * w.dilations[d];
    if (x < 0 || x >= w.input[d]) return -1;
    offset = offset * w.input[d] + x;
  }
  return offset;
}

std::vector<int64_t> KernelPositions(const Window& w) {
  const int64_t count = Product(w.kernel);
  std::vector<int64_t> pos(count * w.rank());
  for (int64_t i = 0; i < count; ++i) {
    int64_t rest = i;
    for (int64_t d = static_cast<int64_t>(w.rank()) - 1; d >= 0; --d) {
      pos[i * w.rank() + d] = rest % w.kernel[d];
      rest /= w.kernel[d];
    }
  }
  return pos;
}

// Precomputed input offsets: table[kpos * out_size + o] (or -1).
std::vector<int64_t> GatherTable(const Window& w) {
  const int64_t ksize = Product(w.kernel), osize = Product(w.output);
  const std::vector<int64_t> kpos = KernelPositions(w);
  std::vector<int64_t> table(ksize * osize);
  std::vector<int64_t> out_pos(w.rank(), 0);
  for (int64_t o = 0; o < osize; ++o) {
    int64_t rest = o;
    for (int64_t d = static_cast<int64_t>(w.rank()) - 1; d >= 0; --d) {
      out_pos[d] = rest % w.output[d];
      rest /= w.output[d];
    }
    for (int64_t k = 0; k < ksize; ++k)
      table[k * osize + o] = InputOffset(w, out_pos, &kpos[k * w.rank()]);
  }
  return table;
}

bool IsPointwise(const Window& w) {
  for (size_t d = 0; d < w.rank(); ++d) {
    if (w.kernel[d] != 1 || w.strides[d] != 1 || w.pad_begin[d] != 0 || w.pad_end[d] != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<ConvShape> ResolveConv(const KernelContext& ctx, const std::vector<int64_t>& xd,
                                      const std::vector<int64_t>& wd) {
  if (xd.size() < 3 || wd.size() != xd.size()) return ctx.Error("X and W must be N-D with N >= 3");
  ConvShape c;
  c.group = ctx.GetInt("group", 1);
  c.batch = xd[0];
  c.channels = xd[1];
  c.maps = wd[0];
  if (c.group <= 0 || c.channels % c.group || c.maps % c.group || wd[1] != c.channels / c.group) {
    return ctx.Error(absl::StrCat("channels (", c.channels, ") and W [", absl::StrJoin(wd, ","),
                                  "] do not fit group ", c.group));
  }
  ASSIGN_OR_RETURN(c.window, ResolveWindow(ctx, std::vector<int64_t>(xd.begin() + 2, xd.end()),
                                           std::vector<int64_t>(wd.begin() + 2, wd.end())));
  // The im2col gather table holds kernel x output offsets.
  if (static_cast<double>(Product(c.window.kernel)) *
          static_cast<double>(Product(c.window.output)) >
      1e8) {
    return ctx.Error("kernel size times output size exceeds the limit of 1e8");
  }
  c.output = {c.batch, c.maps};
  c.output.insert(c.output.end(), c.window.output.begin(), c.window.output.end());
  return c;
}

// Column matrices above this many values are built a band of output rows
// at a time, so that each band stays in cache while the GEMM reads it
// (a 3x3 convolution's full matrix is 9x its input).
constexpr int64_t kColumnBudget = 1 << 18;

// 2-D convolution of one group by im2col + GEMM, in bands of output rows;
// the bands run in parallel, each with a serial GEMM.
template <typename T>
void ConvGroup2D(const Window& win, int64_t rows, int64_t maps, const T* in, const T* w, T* out,
                 std::vector<T>& col, ThreadPool& pool) {
  const int64_t oh = win.output[0], ow = win.output[1], cg = rows / Product(win.kernel);
  const int64_t band = std::clamp<int64_t>(kColumnBudget / std::max<int64_t>(1, rows * ow), 1, oh);
  const int64_t bands = (oh + band - 1) / band;
  if (bands == 1) {
    col.resize(rows * oh * ow);
    Im2Col2D<T>(win, in, cg, 0, oh, col.data(), pool);
    Gemm<T>(w, col.data(), out, maps, oh * ow, rows, false, false, T{1}, T{0}, pool);
    return;
  }
  pool.ParallelFor(bands, 1, [&](int64_t lo, int64_t hi) {
    ThreadPool serial(1);
    std::vector<T> band_col(rows * band * ow), result(maps * band * ow);
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t y0 = b * band, y1 = std::min(oh, y0 + band), cols = (y1 - y0) * ow;
      Im2Col2D<T>(win, in, cg, y0, y1, band_col.data(), serial);
      Gemm<T>(w, band_col.data(), result.data(), maps, cols, rows, false, false, T{1}, T{0},
              serial);
      for (int64_t m = 0; m < maps; ++m) {
        std::copy_n(&result[m * cols], cols, out + m * oh * ow + y0 * ow);
      }
    }
  });
}

// One group of one image: im2col into `col` (unless pointwise), then GEMM.
template <typename T>
void ConvGroup(const ConvShape& c, const std::vector<int64_t>& table, const T* in, const T* w,
               T* out, std::vector<T>& col, ThreadPool& pool) {
  const Window& win = c.window;
  const int64_t cg = c.channels / c.group, mg = c.maps / c.group;
  const int64_t ksize = Product(win.kernel), osize = Product(win.output),
                isize = Product(win.input);
  const int64_t rows = cg * ksize;
  if (IsPointwise(win)) {  // the input already is the column matrix
    Gemm<T>(w, in, out, mg, osize, rows, false, false, T{1}, T{0}, pool);
    return;
  }
  if (win.rank() == 2) {
    ConvGroup2D(win, rows, mg, in, w, out, col, pool);
    return;
  }
  col.resize(rows * osize);
  {
    pool.ParallelFor(rows, 32, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const T* plane = in + (r / ksize) * isize;
        const int64_t* offsets = table.data() + ((r % ksize) * osize);
        T* dst = &col[r * osize];
        for (int64_t o = 0; o < osize; ++o) dst[o] = offsets[o] < 0 ? T{0} : plane[offsets[o]];
      }
    });
  }
  Gemm<T>(w, col.data(), out, mg, osize, rows, false, false, T{1}, T{0}, pool);
}

template <typename T>
void RunConv(const ConvShape& c, const T* x, const T* w, T* out, ThreadPool& pool) {
  const Window& win = c.window;
  const int64_t cg = c.channels / c.group, mg = c.maps / c.group;
  const int64_t ksize = Product(win.kernel), osize = Product(win.output),
                isize = Product(win.input);
  if (win.rank() == 2 && cg == 1 && mg == 1) {
    Depthwise2D<T>(win, x, w, out, c.batch * c.channels, c.channels, pool);
    return;
  }
  // Only N-D windows other than 2-D gather through a precomputed table.
  const std::vector<int64_t> table =
      IsPointwise(win) || win.rank() == 2 ? std::vector<int64_t>{} : GatherTable(win);
  auto group_at = [&](int64_t i, std::vector<T>& col, ThreadPool& inner) {
    const int64_t n = i / c.group, g = i % c.group;
    ConvGroup<T>(c, table, x + (n * c.channels + g * cg) * isize, w + g * mg * cg * ksize,
                 out + (n * c.maps + g * mg) * osize, col, inner);
  };
  const int64_t units = c.batch * c.group;
  if (c.group == 1) {  // one big GEMM per image: let it use the pool
    std::vector<T> col;
    for (int64_t i = 0; i < units; ++i) group_at(i, col, pool);
    return;
  }
  // Many small groups: spread whole groups over the threads, each serial.
  pool.ParallelFor(units, 1, [&](int64_t lo, int64_t hi) {
    ThreadPool serial(1);
    std::vector<T> col;
    for (int64_t i = lo; i < hi; ++i) group_at(i, col, serial);
  });
}

template void RunConv<float>(const ConvShape&, const float*, const float*, float*, ThreadPool&);
template void RunConv<double>(const ConvShape&, const double*, const double*, double*, ThreadPool&);
template void RunConv<int32_t>(const ConvShape&, const int32_t*, const int32_t*, int32_t*,
                               ThreadPool&);

namespace {

// Bias and the activation a fused Conv applies to its output (fusion.h).
struct Epilogue {
  enum Kind { kNone, kRelu, kClip, kLeakyRelu, kHardSigmoid, kSigmoid, kHardSwish } kind = kNone;
  float alpha = 0, beta = 0;
};

// The fake quantization a Conv absorbed from a Q/DQ pair (qdq_fusion.h).
struct FakeQuant {
  float scale = 0, zero = 0, lo = 0, hi = 0;
  bool on() const { return scale != 0; }
};

FakeQuant FusedFakeQuant(const KernelContext& ctx) {
  return {ctx.GetFloat(kFakeQuantScale, 0), ctx.GetFloat(kFakeQuantZero, 0),
          ctx.GetFloat(kFakeQuantLow, 0), ctx.GetFloat(kFakeQuantHigh, 0)};
}

template <typename T>
void ApplyFakeQuant(const FakeQuant& f, T* v, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    FakeQuantize(v, v, n, f.scale, f.zero, f.lo, f.hi);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      float x = static_cast<float>(v[i]);
      FakeQuantize(&x, &x, 1, f.scale, f.zero, f.lo, f.hi);
      v[i] = static_cast<T>(x);
    }
  }
}

absl::StatusOr<Epilogue> FusedEpilogue(const KernelContext& ctx) {
  const std::string kind = ctx.GetString(kFusedActivation, "");
  Epilogue e{Epilogue::kNone, ctx.GetFloat(kFusedAlpha, 0), ctx.GetFloat(kFusedBeta, 0)};
  if (kind.empty()) return e;
  static const std::pair<const char*, Epilogue::Kind> kKinds[] = {
      {"Relu", Epilogue::kRelu},           {"Clip", Epilogue::kClip},
      {"LeakyRelu", Epilogue::kLeakyRelu}, {"HardSigmoid", Epilogue::kHardSigmoid},
      {"Sigmoid", Epilogue::kSigmoid},     {"HardSwish", Epilogue::kHardSwish}};
  for (const auto& [name, k] : kKinds) {
    if (kind == name) {
      e.kind = k;
      return e;
    }
  }
  return ctx.Error(absl::StrCat("unknown fused activation '", kind, "'"));
}

template <typename T>
void ApplyEpilogue(const Epilogue& e, T bias, T* v, int64_t n) {
  const T a = static_cast<T>(e.alpha), b = static_cast<T>(e.beta);
  switch (e.kind) {
    case Epilogue::kNone:
      if (bias != T{0}) {
        for (int64_t i = 0; i < n; ++i) v[i] += bias;
      }
      break;
    case Epilogue::kRelu:
      for (int64_t i = 0; i < n; ++i) v[i] = std::max(v[i] + bias, T{0});
      break;
    case Epilogue::kClip:
      for (int64_t i = 0; i < n; ++i) v[i] = std::min(std::max(v[i] + bias, a), b);
      break;
    case Epilogue::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) {
        const T x = v[i] + bias;
        v[i] = x < T{0} ? a * x : x;
      }
      break;
    case Epilogue::kHardSigmoid:
      for (int64_t i = 0; i < n; ++i) {
        v[i] = std::min(std::max(a * (v[i] + bias) + b, T{0}), T{1});
      }
      break;
    case Epilogue::kHardSwish:  // x * relu6(x + 3) / 6, as the graph computed it
      for (int64_t i = 0; i < n; ++i) {
        const T x = v[i] + bias;
        v[i] = x * std::min(std::max(x + T{3}, T{0}), T{6}) * static_cast<T>(1.0 / 6);
      }
      break;
    case Epilogue::kSigmoid:
      for (int64_t i = 0; i < n; ++i) v[i] = T{1} / (T{1} + std::exp(-(v[i] + bias)));
      break;
  }
}

absl::Status Conv(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* wt, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(ConvShape c, ResolveConv(ctx, x->dims(), wt->dims()));
  if (wt->dtype() != x->dtype()) return ctx.Error("W must have X's type");
  RETURN_IF_ERROR(ctx.CheckOutputSize(x->dtype(), c.output));
  const int64_t osize = Product(c.window.output);
  return VisitFloat(x->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(c.output, &out);
    RunConv<T>(c, x->data<T>(), wt->data<T>(), out, ctx.pool());
    const T* bias = nullptr;
    if (ctx.HasInput(2)) {
      if (!Holds<T>(ctx.input(2), c.maps)) return ctx.Error("B must hold one value per output map");
      bias = ctx.input(2).data<T>();
    }
    ASSIGN_OR_RETURN(const Epilogue epilogue, FusedEpilogue(ctx));
    const FakeQuant fake_quant = FusedFakeQuant(ctx);
    ctx.pool().ParallelFor(c.batch * c.maps, 4, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        ApplyEpilogue(epilogue, bias ? bias[p % c.maps] : T{0}, out + p * osize, osize);
        if (fake_quant.on()) ApplyFakeQuant(fake_quant, out + p * osize, osize);
      }
    });
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

// ConvTranspose geometry: output size, explicit or from output_shape.
absl::StatusOr<Window> TransposeWindow(const KernelContext& ctx, const std::vector<int64_t>& in,
                                       const std::vector<int64_t>& kernel) {
  const size_t n = in.size();
  Window w;
  w.input = in;
  w.kernel = kernel;
  if (!ctx.GetInts("kernel_shape").empty() && ctx.GetInts("kernel_shape") != kernel) {
    return ctx.Error("kernel_shape does not match the weights");
  }
  w.strides = ctx.GetInts("strides");
  w.dilations = ctx.GetInts("dilations");
  std::vector<int64_t> pads = ctx.GetInts("pads"), out_pad = ctx.GetInts("output_padding");
  const std::vector<int64_t> out_shape = ctx.GetInts("output_shape");
  if (w.strides.empty()) w.strides.assign(n, 1);
  if (w.dilations.empty()) w.dilations.assign(n, 1);
  if (pads.empty()) pads.assign(2 * n, 0);
  if (out_pad.empty()) out_pad.assign(n, 0);
  if (absl::Status s =
          CheckWindowAttributes(ctx, {&w.strides, &w.dilations, &pads, &out_pad, &out_shape});
      !s.ok()) {
    return s;
  }
  if (w.kernel.size() != n || w.strides.size() != n || w.dilations.size() != n ||
      pads.size() != 2 * n || out_pad.size() != n || (!out_shape.empty() && out_shape.size() < n)) {
    return ctx.Error(
        "kernel_shape, strides, dilations, pads or output_padding do not match the spatial rank");
  }
  for (size_t i = 0; i < n; ++i) {
    if (w.strides[i] <= 0 || w.dilations[i] <= 0 || pads[i] < 0 || pads[n + i] < 0) {
      return ctx.Error("strides and dilations must be positive, pads not negative");
    }
  }
  w.pad_begin.assign(pads.begin(), pads.begin() + n);
  w.pad_end.assign(pads.begin() + n, pads.end());
  const std::string auto_pad = ctx.GetString("auto_pad", "NOTSET");
  w.output.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
    const int64_t full = w.strides[i] * (in[i] - 1) + out_pad[i] + extent;
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (!out_shape.empty() || same) {
      const int64_t target =
          !out_shape.empty() ? out_shape[out_shape.size() - n + i] : in[i] * w.strides[i];
      const int64_t total = std::max<int64_t>(0, full - target);
      const bool upper = auto_pad != "SAME_LOWER";
      w.pad_begin[i] = upper ? total / 2 : total - total / 2;
      w.pad_end[i] = total - w.pad_begin[i];
      w.output[i] = target;
    } else {
      w.output[i] = full - w.pad_begin[i] - w.pad_end[i];
    }
    if (w.output[i] <= 0) return ctx.Error("the output would be empty");
  }
  return w;
}

absl::Status ConvTranspose(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* wt, ctx.RequireInput(1));
  const auto& xd = x->dims();
  const auto& wd = wt->dims();
  if (xd.size() < 3 || wd.size() != xd.size()) return ctx.Error("X and W must be N-D with N >= 3");
  const int64_t group = ctx.GetInt("group", 1);
  const int64_t batch = xd[0], channels = xd[1];
  if (group <= 0 || wd[0] != channels || channels % group) return ctx.Error("W does not match X");
  const int64_t mg = wd[1], maps = mg * group, cg = channels / group;
  ASSIGN_OR_RETURN(Window w, TransposeWindow(ctx, std::vector<int64_t>(xd.begin() + 2, xd.end()),
                                             std::vector<int64_t>(wd.begin() + 2, wd.end())));
  std::vector<int64_t> checked_shape = {batch, maps};
  checked_shape.insert(checked_shape.end(), w.output.begin(), w.output.end());
  RETURN_IF_ERROR(ctx.CheckOutputSize(x->dtype(), checked_shape));
  if (wt->dtype() != x->dtype()) return ctx.Error("W must have X's type");
  // Scatter viewed as a gather: swap roles so that GatherTable maps each
  // (kernel position, input position) to the output position it adds to.
  Window scatter = w;
  scatter.input = w.output;
  scatter.output = w.input;
  const std::vector<int64_t> table = GatherTable(scatter);
  const int64_t ksize = Product(w.kernel), isize = Product(w.input), osize = Product(w.output);
  std::vector<int64_t> shape = {batch, maps};
  shape.insert(shape.end(), w.output.begin(), w.output.end());
  return VisitFloat(x->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out);
    std::fill(out, out + Product(shape), T{0});
    std::vector<T> col(mg * ksize * isize);
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t g = 0; g < group; ++g) {
        // col [mg*k, in] = W_g^T [mg*k, cg] x X_g [cg, in]
        Gemm<T>(wt->data<T>() + g * cg * mg * ksize, x->data<T>() + (n * channels + g * cg) * isize,
                col.data(), mg * ksize, isize, cg, true, false, T{1}, T{0}, ctx.pool());
        for (int64_t r = 0; r < mg * ksize; ++r) {
          T* plane = out + (n * maps + g * mg + r / ksize) * osize;
          const int64_t* offsets = table.data() + ((r % ksize) * isize);
          for (int64_t i = 0; i < isize; ++i) {
            if (offsets[i] >= 0) plane[offsets[i]] += col[r * isize + i];
          }
        }
      }
    }
    if (ctx.HasInput(2)) {
      if (!Holds<T>(ctx.input(2), maps)) return ctx.Error("B must hold one value per output map");
      for (int64_t n = 0; n < batch; ++n) {
        for (int64_t m = 0; m < maps; ++m) {
          for (int64_t o = 0; o < osize; ++o)
            out[(n * maps + m) * osize + o] += ctx.input(2).data<T>()[m];
        }
      }
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterConvOps(KernelRegistry& r) {
  r.Add("", "Conv", 1, Conv);
  r.Add("", "ConvTranspose", 1, ConvTranspose);
}

}  // namespace pare::runtime
