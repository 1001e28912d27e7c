// Unary math and activations (Relu, Sigmoid, Erf, HardSwish, ...), Clip,
// PRelu, and Softmax / LogSoftmax / Hardmax.
#include <cmath>
#include <limits>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

// Below this many elements a pool wake-up costs more than it saves.
constexpr int64_t kGrain = 1 << 14;

// Output 0 = op(x) element by element, x of C++ type T, across the pool.
// The data pointer is hoisted so that the loop vectorizes.
template <typename T, typename Op>
absl::Status MapUnary(KernelContext& ctx, const Tensor& x, Op op) {
  T* out = nullptr;
  Tensor result = NewTensor<T>(x.dims(), &out);
  const T* in = x.data<T>();
  ctx.pool().ParallelFor(static_cast<int64_t>(x.element_count()), kGrain,
                         [&](int64_t lo, int64_t hi) {
                           for (int64_t i = lo; i < hi; ++i) out[i] = op(in[i]);
                         });
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

// Applies fn(x, ctx-derived params) elementwise to a float/double tensor.
template <typename Fn>
KernelFn FloatUnary(Fn fn) {
  return [fn](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
    return VisitFloat(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      return MapUnary<T>(ctx, *x, fn(ctx, T{}));
    });
  };
}

// A unary op with no attributes, given as a function of one value.
#define PARE_SIMPLE_UNARY(expr)                           \
  FloatUnary([](KernelContext&, auto zero) {              \
    using T = decltype(zero);                             \
    return [](T x) -> T { return static_cast<T>(expr); }; \
  })

// Unary ops defined for signed integers as well as floats.
template <typename Fn>
KernelFn NumericUnary(Fn fn) {
  return [fn](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
    return VisitNumeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      return MapUnary<T>(ctx, *x, [&](T v) { return fn(v); });
    });
  };
}

struct Neg {
  template <typename T>
  T operator()(T x) const {
    return static_cast<T>(-x);
  }
};
struct Abs {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    return x < 0 ? static_cast<T>(-x) : x;
  }
};
struct Sign {
  template <typename T>
  T operator()(T x) const {
    return static_cast<T>(x > 0 ? 1 : (x < 0 ? -1 : 0));
  }
};
struct ReluFn {
  template <typename T>
  T operator()(T x) const {
    return x > 0 ? x : T{0};
  }
};

template <typename T>
T RoundHalfEven(T x) {
  return std::nearbyint(x);  // default rounding mode is to nearest, ties to even
}

KernelFn Predicate(bool is_nan) {
  return [is_nan](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
    const bool detect_pos = ctx.GetInt("detect_positive", 1) != 0;
    const bool detect_neg = ctx.GetInt("detect_negative", 1) != 0;
    return VisitFloat(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      bool* out = nullptr;
      Tensor result = NewTensor<bool>(x->dims(), &out);
      for (uint64_t i = 0; i < x->element_count(); ++i) {
        const T v = x->data<T>()[i];
        out[i] = is_nan ? std::isnan(v)
                        : std::isinf(v) && ((v > 0 && detect_pos) || (v < 0 && detect_neg));
      }
      ctx.SetOutput(0, std::move(result));
      return absl::OkStatus();
    });
  };
}

absl::Status Clip(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  return VisitNumeric(x->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if (ctx.opset() < 11) {
      // Old Clip is float-only; attributes apply only when present.
      if constexpr (std::is_floating_point_v<T>) {
        if (ctx.FindAttribute("min")) lo = static_cast<T>(ctx.GetFloat("min", 0.0f));
        if (ctx.FindAttribute("max")) hi = static_cast<T>(ctx.GetFloat("max", 0.0f));
      }
    } else {
      ASSIGN_OR_RETURN(lo, ScalarInput<T>(ctx, 1, lo));
      ASSIGN_OR_RETURN(hi, ScalarInput<T>(ctx, 2, hi));
    }
    return MapUnary<T>(ctx, *x, [lo, hi](T v) { return std::min(hi, std::max(lo, v)); });
  });
}

absl::Status PRelu(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* slope_in, ctx.RequireInput(1));
  RETURN_IF_ERROR(RequireSameType(ctx, {0, 1}));
  // Before opset 7 a 1-D slope held one value per channel (axis 1).
  Tensor slope_view = *slope_in;
  if (ctx.opset() < 7 && x->dims().size() > 2 && slope_in->dims().size() == 1 &&
      slope_in->dims()[0] == x->dims()[1]) {
    std::vector<int64_t> dims(x->dims().size() - 1, 1);
    dims[0] = slope_in->dims()[0];
    slope_view = slope_in->WithDims(dims);
  }
  const Tensor* slope = &slope_view;
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(x->dims(), slope->dims()));
  return VisitNumeric(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out);
    const T* a = x->data<T>();
    const T* s = slope->data<T>();
    ForEachBroadcast(shape, BroadcastStrides(x->dims(), shape),
                     BroadcastStrides(slope->dims(), shape),
                     [&](int64_t i, int64_t xi, int64_t si) {
                       out[i] = a[xi] < 0 ? static_cast<T>(a[xi] * s[si]) : a[xi];
                     });
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

// Fast for float32 (vectorizable), std::exp for wider types.
template <typename T>
T Exp(T x) {
  if constexpr (std::is_same_v<T, float>) return ExpApprox(x);
  return std::exp(x);
}

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

// Softmax family over `axis`. Before opset 13 the input is flattened to 2-D
// at the axis and normalized over the whole trailing block.
KernelFn SoftmaxFamily(SoftmaxKind kind) {
  return [kind](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
    const int64_t rank = static_cast<int64_t>(x->dims().size());
    const bool legacy = ctx.opset() < 13;
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", legacy ? 1 : -1),
                                                       std::max<int64_t>(rank, 1)));
    const int64_t outer = Product(x->dims(), 0, axis);
    const int64_t n = legacy ? Product(x->dims(), axis) : (rank ? x->dims()[axis] : 1);
    const int64_t inner = legacy ? 1 : Product(x->dims(), axis + 1);
    return VisitFloat(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = nullptr;
      Tensor result = NewTensor<T>(x->dims(), &out);
      const T* in = x->data<T>();
      ctx.pool().ParallelFor(outer * inner, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          const int64_t base = (r / inner) * n * inner + r % inner;
          T max = -std::numeric_limits<T>::infinity();
          int64_t argmax = 0;
          for (int64_t j = 0; j < n; ++j) {
            if (in[base + j * inner] > max) max = in[base + j * inner], argmax = j;
          }
          if (kind == SoftmaxKind::kHardmax) {
            for (int64_t j = 0; j < n; ++j) out[base + j * inner] = j == argmax ? 1 : 0;
            continue;
          }
          if (kind == SoftmaxKind::kSoftmax && inner == 1) {  // the common, contiguous case
            T* o = out + base;
            const T* v = in + base;
            for (int64_t j = 0; j < n; ++j) o[j] = Exp(v[j] - max);
            T sum = 0;
            for (int64_t j = 0; j < n; ++j) sum += o[j];
            const T scale = T{1} / sum;
            for (int64_t j = 0; j < n; ++j) o[j] *= scale;
            continue;
          }
          T sum = 0;
          for (int64_t j = 0; j < n; ++j) sum += Exp(in[base + j * inner] - max);
          const T log_sum = std::log(sum);
          for (int64_t j = 0; j < n; ++j) {
            const T shifted = in[base + j * inner] - max;
            out[base + j * inner] =
                kind == SoftmaxKind::kSoftmax ? Exp(shifted) / sum : shifted - log_sum;
          }
        }
      });
      ctx.SetOutput(0, std::move(result));
      return absl::OkStatus();
    });
  };
}

void RegisterMath(KernelRegistry& r) {
  r.Add("", "Sqrt", 6, PARE_SIMPLE_UNARY(std::sqrt(x)));
  r.Add("", "Reciprocal", 6, PARE_SIMPLE_UNARY(T{1} / x));
  r.Add("", "Exp", 6, PARE_SIMPLE_UNARY(std::exp(x)));
  r.Add("", "Log", 6, PARE_SIMPLE_UNARY(std::log(x)));
  r.Add("", "Erf", 9, PARE_SIMPLE_UNARY(std::erf(x)));
  r.Add("", "Tanh", 6, PARE_SIMPLE_UNARY(std::tanh(x)));
  r.Add("", "Sigmoid", 6, PARE_SIMPLE_UNARY(T{1} / (T{1} + std::exp(-x))));
  r.Add("", "Sin", 7, PARE_SIMPLE_UNARY(std::sin(x)));
  r.Add("", "Cos", 7, PARE_SIMPLE_UNARY(std::cos(x)));
  r.Add("", "Tan", 7, PARE_SIMPLE_UNARY(std::tan(x)));
  r.Add("", "Asin", 7, PARE_SIMPLE_UNARY(std::asin(x)));
  r.Add("", "Acos", 7, PARE_SIMPLE_UNARY(std::acos(x)));
  r.Add("", "Atan", 7, PARE_SIMPLE_UNARY(std::atan(x)));
  r.Add("", "Sinh", 9, PARE_SIMPLE_UNARY(std::sinh(x)));
  r.Add("", "Cosh", 9, PARE_SIMPLE_UNARY(std::cosh(x)));
  r.Add("", "Asinh", 9, PARE_SIMPLE_UNARY(std::asinh(x)));
  r.Add("", "Acosh", 9, PARE_SIMPLE_UNARY(std::acosh(x)));
  r.Add("", "Atanh", 9, PARE_SIMPLE_UNARY(std::atanh(x)));
  r.Add("", "Floor", 6, PARE_SIMPLE_UNARY(std::floor(x)));
  r.Add("", "Ceil", 6, PARE_SIMPLE_UNARY(std::ceil(x)));
  r.Add("", "Round", 11, PARE_SIMPLE_UNARY(RoundHalfEven(x)));
  r.Add("", "Softplus", 1, PARE_SIMPLE_UNARY(x > 20 ? x : std::log1p(std::exp(x))));
  r.Add("", "Softsign", 1, PARE_SIMPLE_UNARY(x / (T{1} + std::abs(x))));
  r.Add("", "Mish", 18, PARE_SIMPLE_UNARY(x * std::tanh(std::log1p(std::exp(x)))));
  r.Add("", "Neg", 6, NumericUnary(Neg{}));
  r.Add("", "Abs", 6, NumericUnary(Abs{}));
  r.Add("", "Sign", 9, NumericUnary(Sign{}));
  r.Add("", "Relu", 6, NumericUnary(ReluFn{}));
  r.Add("", "IsNaN", 9, Predicate(true));
  r.Add("", "IsInf", 10, Predicate(false));
}

void RegisterParameterized(KernelRegistry& r) {
  r.Add("", "LeakyRelu", 6, FloatUnary([](KernelContext& ctx, auto zero) {
          using T = decltype(zero);
          const T alpha = static_cast<T>(ctx.GetFloat("alpha", 0.01f));
          return [alpha](T x) { return x < 0 ? alpha * x : x; };
        }));
  r.Add("", "Elu", 6, FloatUnary([](KernelContext& ctx, auto zero) {
          using T = decltype(zero);
          const T alpha = static_cast<T>(ctx.GetFloat("alpha", 1.0f));
          return [alpha](T x) { return x < 0 ? alpha * (std::exp(x) - 1) : x; };
        }));
  r.Add("", "Celu", 12, FloatUnary([](KernelContext& ctx, auto zero) {
          using T = decltype(zero);
          const T alpha = static_cast<T>(ctx.GetFloat("alpha", 1.0f));
          return [alpha](T x) {
            return std::max(T{0}, x) + std::min(T{0}, alpha * (std::exp(x / alpha) - 1));
          };
        }));
  r.Add("", "Selu", 6, FloatUnary([](KernelContext& ctx, auto zero) {
          using T = decltype(zero);
          const T alpha = static_cast<T>(ctx.GetFloat("alpha", 1.67326319217681884765625f));
          const T gamma = static_cast<T>(ctx.GetFloat("gamma", 1.05070102214813232421875f));
          return [alpha, gamma](T x) { return gamma * (x > 0 ? x : alpha * (std::exp(x) - 1)); };
        }));
  r.Add("", "ThresholdedRelu", 10, FloatUnary([](KernelContext& ctx, auto zero) {
          using T = decltype(zero);
          const T alpha = static_cast<T>(ctx.GetFloat("alpha", 1.0f));
          return [alpha](T x) { return x > alpha ? x : T{0}; };
        }));
  r.Add("", "HardSigmoid", 6, FloatUnary([](KernelContext& ctx, auto zero) {
          using T = decltype(zero);
          const T alpha = static_cast<T>(ctx.GetFloat("alpha", 0.2f));
          const T beta = static_cast<T>(ctx.GetFloat("beta", 0.5f));
          return [alpha, beta](T x) { return std::max(T{0}, std::min(T{1}, alpha * x + beta)); };
        }));
  r.Add("", "HardSwish", 14, FloatUnary([](KernelContext&, auto zero) {
          using T = decltype(zero);
          return [](T x) { return x * std::max(T{0}, std::min(T{1}, x / 6 + T{0.5})); };
        }));
  r.Add("", "Gelu", 20, FloatUnary([](KernelContext& ctx, auto zero) {
          using T = decltype(zero);
          const bool tanh = ctx.GetString("approximate", "none") == "tanh";
          return [tanh](T x) -> T {
            if (tanh) {
              const T c = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
              return T{0.5} * x * (T{1} + std::tanh(c * (x + T{0.044715} * x * x * x)));
            }
            return T{0.5} * x * (T{1} + std::erf(x / static_cast<T>(M_SQRT2)));
          };
        }));
  r.Add("", "Clip", 6, Clip);
  r.Add("", "PRelu", 1, PRelu);
  r.Add("", "Softmax", 1, SoftmaxFamily(SoftmaxKind::kSoftmax));
  r.Add("", "LogSoftmax", 1, SoftmaxFamily(SoftmaxKind::kLogSoftmax));
  r.Add("", "Hardmax", 1, SoftmaxFamily(SoftmaxKind::kHardmax));
}

}  // namespace

void RegisterActivationOps(KernelRegistry& r) {
  RegisterMath(r);
  RegisterParameterized(r);
}

}  // namespace pare::runtime
