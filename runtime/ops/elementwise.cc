// Element-wise arithmetic, comparison and logic with numpy broadcasting:
// Add Sub Mul Div Pow Mod, Equal Less Greater (OrEqual), And Or Xor, the
// variadic Sum Mean Min Max, Where, and unary math.
#include <cmath>
#include <type_traits>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

// Memory-bound loops: below this many elements a pool wake-up costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;

// out[i] = op(a[ai], b[bi]) over the broadcast of a and b.
template <typename In, typename Out, typename Op>
Tensor Broadcast(KernelContext& ctx, const Tensor& a, const Tensor& b,
                 const std::vector<int64_t>& shape, Op op) {
  Out* out = nullptr;
  Tensor result = NewTensor<Out>(shape, &out);
  const In* x = a.data<In>();
  const In* y = b.data<In>();
  const int64_t n = Product(shape);
  if (a.dims() == b.dims()) {
    ctx.pool().ParallelFor(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) out[i] = op(x[i], y[i]);
    });
  } else if (b.element_count() == 1 && static_cast<int64_t>(a.element_count()) == n) {
    const In s = y[0];
    ctx.pool().ParallelFor(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) out[i] = op(x[i], s);
    });
  } else if (n > 0) {
    const BroadcastRows rows(shape, BroadcastStrides(a.dims(), shape),
                             BroadcastStrides(b.dims(), shape));
    const int64_t inner = rows.inner, sa = rows.inner_a, sb = rows.inner_b;
    ctx.pool().ParallelFor(n / std::max<int64_t>(inner, 1),
                           std::max<int64_t>(1, kParallelGrain / inner),
                           [&](int64_t lo, int64_t hi) {
                             for (int64_t r = lo; r < hi; ++r) {
                               int64_t ai, bi;
                               rows.Offsets(r, &ai, &bi);
                               const In* xa = x + ai;
                               const In* yb = y + bi;
                               Out* o = out + r * inner;
                               // The common shapes get loops the compiler vectorizes.
                               if (sa == 1 && sb == 0) {
                                 const In s = yb[0];
                                 for (int64_t j = 0; j < inner; ++j) o[j] = op(xa[j], s);
                               } else if (sa == 0 && sb == 1) {
                                 const In s = xa[0];
                                 for (int64_t j = 0; j < inner; ++j) o[j] = op(s, yb[j]);
                               } else if (sa == 1 && sb == 1) {
                                 for (int64_t j = 0; j < inner; ++j) o[j] = op(xa[j], yb[j]);
                               } else {
                                 for (int64_t j = 0; j < inner; ++j)
                                   o[j] = op(xa[j * sa], yb[j * sb]);
                               }
                             }
                           });
  }
  return result;
}

enum class Arith { kAdd, kSub, kMul, kDiv, kMin, kMax };

// Integer +, -, * wrap around like two's complement hardware (as other
// runtimes behave) instead of overflowing, which C++ leaves undefined.
template <typename T>
T Wrap(Arith op, T a, T b);

template <typename T>
T IntegerPow(T base, T exp) {
  if constexpr (std::is_signed_v<T>) {
    if (exp < 0) return base == 1 ? 1 : (base == -1 ? (exp % 2 ? -1 : 1) : 0);
  }
  T r = 1;
  // Square-and-multiply: at most 64 steps whatever the exponent.
  while (exp > 0) {
    if (exp & 1) r = Wrap(Arith::kMul, r, base);
    base = Wrap(Arith::kMul, base, base);
    exp >>= 1;
  }
  return r;
}

template <typename T>
T FloorMod(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    T r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  } else {
    if (b == 0) return 0;
    T r = a % b;
    if constexpr (std::is_signed_v<T>) {
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
    }
    return r;
  }
}

template <typename T>
T Wrap(Arith op, T a, T b) {
  using U = std::make_unsigned_t<T>;
  const U x = static_cast<U>(a), y = static_cast<U>(b);
  const U r = op == Arith::kAdd   ? static_cast<U>(x + y)
              : op == Arith::kSub ? static_cast<U>(x - y)
                                  : static_cast<U>(x * y);
  return static_cast<T>(r);
}

template <typename T>
T ApplyArith(Arith op, T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (op == Arith::kAdd || op == Arith::kSub || op == Arith::kMul) return Wrap(op, a, b);
    if constexpr (std::is_signed_v<T>) {
      // INT_MIN / -1 overflows; dividing by -1 is negation, which wraps.
      if (op == Arith::kDiv && b == -1) return Wrap(Arith::kSub, T{0}, a);
    }
  }
  switch (op) {
    case Arith::kAdd:
      return static_cast<T>(a + b);
    case Arith::kSub:
      return static_cast<T>(a - b);
    case Arith::kMul:
      return static_cast<T>(a * b);
    case Arith::kDiv:
      if constexpr (std::is_integral_v<T>) return b == 0 ? 0 : static_cast<T>(a / b);
      return a / b;
    case Arith::kMin:
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
      }
      return std::min(a, b);
    case Arith::kMax:
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
      }
      return std::max(a, b);
  }
  return a;
}

absl::StatusOr<Tensor> ArithPair(KernelContext& ctx, Arith op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) {
    return ctx.Error(absl::StrCat("inputs have different types: ", DataTypeName(a.dtype()), " and ",
                                  DataTypeName(b.dtype())));
  }
  auto shape = BroadcastShapes(a.dims(), b.dims());
  if (!shape.ok()) return ctx.Error(std::string(shape.status().message()));
  Tensor out;
  RETURN_IF_ERROR(VisitNumeric(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {  // one instantiation per op keeps the inner loop branch-free
      case Arith::kAdd:
        out = Broadcast<T, T>(ctx, a, b, *shape,
                              [](T x, T y) { return ApplyArith(Arith::kAdd, x, y); });
        break;
      case Arith::kSub:
        out = Broadcast<T, T>(ctx, a, b, *shape,
                              [](T x, T y) { return ApplyArith(Arith::kSub, x, y); });
        break;
      case Arith::kMul:
        out = Broadcast<T, T>(ctx, a, b, *shape,
                              [](T x, T y) { return ApplyArith(Arith::kMul, x, y); });
        break;
      case Arith::kDiv:
        out = Broadcast<T, T>(ctx, a, b, *shape,
                              [](T x, T y) { return ApplyArith(Arith::kDiv, x, y); });
        break;
      case Arith::kMin:
        out = Broadcast<T, T>(ctx, a, b, *shape,
                              [](T x, T y) { return ApplyArith(Arith::kMin, x, y); });
        break;
      case Arith::kMax:
        out = Broadcast<T, T>(ctx, a, b, *shape,
                              [](T x, T y) { return ApplyArith(Arith::kMax, x, y); });
        break;
    }
    return absl::OkStatus();
  }));
  return out;
}

// Before opset 7, B broadcast only with broadcast=1, aligned at `axis`
// rather than at the trailing dimensions. Returns B viewed numpy-style.
Tensor LegacyBroadcastView(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (ctx.opset() >= 7 || ctx.GetInt("broadcast", 0) == 0) return b;
  const int64_t rank = static_cast<int64_t>(a.dims().size());
  const int64_t brank = static_cast<int64_t>(b.dims().size());
  const int64_t axis = ctx.GetInt("axis", rank - brank);
  if (axis < 0 || axis + brank > rank) return b;
  std::vector<int64_t> dims(b.dims());
  dims.resize(static_cast<size_t>(rank - axis), 1);
  return b.WithDims(dims);
}

KernelFn BinaryArith(Arith op) {
  return [op](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
    ASSIGN_OR_RETURN(const Tensor* b_in, ctx.RequireInput(1));
    const Tensor b_view = LegacyBroadcastView(ctx, *a, *b_in);
    const Tensor* b = &b_view;
    ASSIGN_OR_RETURN(Tensor out, ArithPair(ctx, op, *a, *b));
    ctx.SetOutput(0, std::move(out));
    return absl::OkStatus();
  };
}

// Sum, Min, Max, Mean over any number of inputs.
KernelFn Variadic(Arith op, bool mean) {
  return [op, mean](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* first, ctx.RequireInput(0));
    Tensor acc = *first;
    for (size_t i = 1; i < ctx.input_count(); ++i) {
      ASSIGN_OR_RETURN(const Tensor* next, ctx.RequireInput(i));
      ASSIGN_OR_RETURN(acc, ArithPair(ctx, op, acc, *next));
    }
    if (mean) {
      RETURN_IF_ERROR(VisitFloat(acc.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* out = nullptr;
        Tensor scaled = NewTensor<T>(acc.dims(), &out);
        const T n = static_cast<T>(ctx.input_count());
        const T* in = acc.data<T>();
        for (uint64_t i = 0; i < acc.element_count(); ++i) out[i] = in[i] / n;
        acc = std::move(scaled);
        return absl::OkStatus();
      }));
    } else if (ctx.input_count() == 1) {
      acc = acc.WithDims(acc.dims());  // a fresh header for the output name
    }
    ctx.SetOutput(0, std::move(acc));
    return absl::OkStatus();
  };
}

absl::Status Pow(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a->dims(), b->dims()));
  // The exponent may have another type; compute in double when it does.
  if (a->dtype() != b->dtype()) {
    ASSIGN_OR_RETURN(std::vector<float> exps, b->ToFloat32());
    Tensor exp_as_base;
    RETURN_IF_ERROR(VisitNumeric(a->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* e = nullptr;
      exp_as_base = NewTensor<T>(b->dims(), &e);
      for (size_t i = 0; i < exps.size(); ++i) e[i] = static_cast<T>(exps[i]);
      return absl::OkStatus();
    }));
    return VisitNumeric(a->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      ctx.SetOutput(0, Broadcast<T, T>(ctx, *a, exp_as_base, shape, [](T x, T y) {
                      if constexpr (std::is_integral_v<T>) return IntegerPow(x, y);
                      return static_cast<T>(std::pow(x, y));
                    }));
      return absl::OkStatus();
    });
  }
  return VisitNumeric(a->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    ctx.SetOutput(0, Broadcast<T, T>(ctx, *a, *b, shape, [](T x, T y) {
                    if constexpr (std::is_integral_v<T>) return IntegerPow(x, y);
                    return static_cast<T>(std::pow(x, y));
                  }));
    return absl::OkStatus();
  });
}

absl::Status Mod(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
  RETURN_IF_ERROR(RequireSameType(ctx, {0, 1}));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a->dims(), b->dims()));
  const bool fmod = ctx.GetInt("fmod", 0) != 0;
  return VisitNumeric(a->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    ctx.SetOutput(0, Broadcast<T, T>(ctx, *a, *b, shape, [fmod](T x, T y) -> T {
                    if constexpr (std::is_floating_point_v<T>) {
                      return fmod ? std::fmod(x, y) : FloorMod(x, y);
                    } else {
                      if (y == 0) return 0;
                      return fmod ? static_cast<T>(x % y) : FloorMod(x, y);
                    }
                  }));
    return absl::OkStatus();
  });
}

enum class Compare { kEq, kLt, kLe, kGt, kGe };

KernelFn Comparison(Compare op) {
  return [op](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
    ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
    if (a->dtype() != b->dtype()) return ctx.Error("inputs have different types");
    ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a->dims(), b->dims()));
    return VisitAll(a->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      ctx.SetOutput(0, Broadcast<T, bool>(ctx, *a, *b, shape, [op](T x, T y) {
                      switch (op) {
                        case Compare::kEq:
                          return x == y;
                        case Compare::kLt:
                          return x < y;
                        case Compare::kLe:
                          return x <= y;
                        case Compare::kGt:
                          return x > y;
                        case Compare::kGe:
                          return x >= y;
                      }
                      return false;
                    }));
      return absl::OkStatus();
    });
  };
}

enum class Logic { kAnd, kOr, kXor };

KernelFn Logical(Logic op) {
  return [op](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
    ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
    if (a->dtype() != DataType::kBool || b->dtype() != DataType::kBool) {
      return ctx.Error("inputs must be bool");
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a->dims(), b->dims()));
    ctx.SetOutput(0, Broadcast<bool, bool>(ctx, *a, *b, shape, [op](bool x, bool y) {
                    return op == Logic::kAnd ? (x && y) : op == Logic::kOr ? (x || y) : (x != y);
                  }));
    return absl::OkStatus();
  };
}

enum class Bit { kAnd, kOr, kXor };

KernelFn Bitwise(Bit op) {
  return [op](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(0));
    ASSIGN_OR_RETURN(const Tensor* b, ctx.RequireInput(1));
    RETURN_IF_ERROR(RequireSameType(ctx, {0, 1}));
    ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(a->dims(), b->dims()));
    return VisitNumeric(a->dtype(), [&](auto tag) -> absl::Status {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T>) {
        ctx.SetOutput(
            0, Broadcast<T, T>(ctx, *a, *b, shape, [op](T x, T y) {
              return static_cast<T>(op == Bit::kAnd ? (x & y) : op == Bit::kOr ? (x | y) : (x ^ y));
            }));
        return absl::OkStatus();
      }
      return ctx.Error("bitwise operators need integer inputs");
    });
  };
}

absl::Status Where(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* cond, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(const Tensor* y, ctx.RequireInput(2));
  if (cond->dtype() != DataType::kBool) return ctx.Error("condition must be bool");
  if (x->dtype() != y->dtype()) return ctx.Error("X and Y have different types");
  ASSIGN_OR_RETURN(std::vector<int64_t> xy, BroadcastShapes(x->dims(), y->dims()));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(cond->dims(), xy));
  const auto cs = BroadcastStrides(cond->dims(), shape);
  const auto xs = BroadcastStrides(x->dims(), shape);
  const auto ys = BroadcastStrides(y->dims(), shape);
  return VisitBytes(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out, x->dtype());
    const bool* c = cond->data<bool>();
    const T* a = x->data<T>();
    const T* b = y->data<T>();
    // Walk cond and X together, then pick Y's element by a second walk.
    std::vector<int64_t> y_offsets(static_cast<size_t>(Product(shape)));
    ForEachBroadcast(shape, ys, ys, [&](int64_t i, int64_t yi, int64_t) { y_offsets[i] = yi; });
    ForEachBroadcast(shape, cs, xs, [&](int64_t i, int64_t ci, int64_t xi) {
      out[i] = c[ci] ? a[xi] : b[y_offsets[i]];
    });
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Not(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  if (x->dtype() != DataType::kBool) return ctx.Error("input must be bool");
  bool* out = nullptr;
  Tensor result = NewTensor<bool>(x->dims(), &out);
  const bool* in = x->data<bool>();
  for (uint64_t i = 0; i < x->element_count(); ++i) out[i] = !in[i];
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

}  // namespace

void RegisterElementwiseOps(KernelRegistry& r) {
  r.Add("", "Add", 1, BinaryArith(Arith::kAdd));
  r.Add("", "Sub", 1, BinaryArith(Arith::kSub));
  r.Add("", "Mul", 1, BinaryArith(Arith::kMul));
  r.Add("", "Div", 1, BinaryArith(Arith::kDiv));
  r.Add("", "Pow", 1, Pow);
  r.Add("", "Mod", 10, Mod);
  r.Add("", "Sum", 6, Variadic(Arith::kAdd, false));
  r.Add("", "Mean", 6, Variadic(Arith::kAdd, true));
  r.Add("", "Min", 6, Variadic(Arith::kMin, false));
  r.Add("", "Max", 6, Variadic(Arith::kMax, false));
  r.Add("", "Equal", 7, Comparison(Compare::kEq));
  r.Add("", "Less", 7, Comparison(Compare::kLt));
  r.Add("", "LessOrEqual", 12, Comparison(Compare::kLe));
  r.Add("", "Greater", 7, Comparison(Compare::kGt));
  r.Add("", "GreaterOrEqual", 12, Comparison(Compare::kGe));
  r.Add("", "And", 7, Logical(Logic::kAnd));
  r.Add("", "Or", 7, Logical(Logic::kOr));
  r.Add("", "Xor", 7, Logical(Logic::kXor));
  r.Add("", "BitwiseAnd", 18, Bitwise(Bit::kAnd));
  r.Add("", "BitwiseOr", 18, Bitwise(Bit::kOr));
  r.Add("", "BitwiseXor", 18, Bitwise(Bit::kXor));
  r.Add("", "Where", 9, Where);
  r.Add("", "Not", 1, Not);
}

}  // namespace pare::runtime
