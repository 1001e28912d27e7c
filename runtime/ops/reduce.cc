// Reductions (ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare),
// ArgMax, ArgMin, TopK and CumSum.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

enum class Reduction { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// Opset at which each reduction's axes moved from attribute to input.
int64_t AxesInputSince(Reduction kind) { return kind == Reduction::kSum ? 13 : 18; }

template <typename T>
T Finish(Reduction kind, double acc, int64_t n) {
  switch (kind) {
    case Reduction::kMean:
      return SaturateCast<T>(acc / static_cast<double>(n));
    case Reduction::kL2:
      return SaturateCast<T>(std::sqrt(acc));
    case Reduction::kLogSum:
      return SaturateCast<T>(std::log(acc));
    default:
      return SaturateCast<T>(acc);
  }
}

KernelFn Reduce(Reduction kind) {
  return [kind](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
    const int64_t rank = static_cast<int64_t>(x->dims().size());
    std::vector<int64_t> axes;
    if (ctx.opset() < AxesInputSince(kind)) {
      axes = ctx.GetInts("axes");
    } else if (ctx.HasInput(1)) {
      ASSIGN_OR_RETURN(axes, ReadInts(ctx.input(1)));
    }
    const bool keep = ctx.GetInt("keepdims", 1) != 0;
    if (axes.empty() && ctx.GetInt("noop_with_empty_axes", 0) != 0) {
      ctx.SetOutput(0, x->WithDims(x->dims()));
      return absl::OkStatus();
    }
    std::vector<bool> reduced(rank, axes.empty());
    for (int64_t a : axes) {
      ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(a, rank));
      reduced[axis] = true;
    }
    std::vector<int64_t> shape, kept_shape, out_strides(rank, 0);
    const std::vector<int64_t> dims = x->dims();
    for (int64_t d = 0; d < rank; ++d) {
      if (!reduced[d]) kept_shape.push_back(dims[d]);
      if (!reduced[d] || keep) shape.push_back(reduced[d] ? 1 : dims[d]);
    }
    // Input strides mapped to the output: reduced dims contribute nothing.
    const std::vector<int64_t> kept_strides = Strides(kept_shape);
    for (int64_t d = 0, k = 0; d < rank; ++d) {
      if (!reduced[d]) out_strides[d] = kept_strides[k++];
    }
    const int64_t out_count = Product(kept_shape);
    const int64_t n =
        out_count ? static_cast<int64_t>(x->element_count()) / std::max<int64_t>(out_count, 1) : 0;
    return VisitNumeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const double init = kind == Reduction::kMax    ? -std::numeric_limits<double>::infinity()
                          : kind == Reduction::kMin  ? std::numeric_limits<double>::infinity()
                          : kind == Reduction::kProd ? 1.0
                                                     : 0.0;
      std::vector<double> acc(out_count, init);
      std::vector<double> max_for_lse;
      const T* in = x->data<T>();
      if (kind == Reduction::kLogSumExp) {
        max_for_lse.assign(out_count, -std::numeric_limits<double>::infinity());
        ForEachBroadcast(dims, out_strides, out_strides, [&](int64_t i, int64_t o, int64_t) {
          max_for_lse[o] = std::max(max_for_lse[o], static_cast<double>(in[i]));
        });
      }
      ForEachBroadcast(dims, out_strides, out_strides, [&](int64_t i, int64_t o, int64_t) {
        const double v = static_cast<double>(in[i]);
        double& a = acc[o];
        switch (kind) {
          case Reduction::kSum:
          case Reduction::kMean:
          case Reduction::kLogSum:
            a += v;
            break;
          case Reduction::kMax:
            a = std::max(a, v);
            break;
          case Reduction::kMin:
            a = std::min(a, v);
            break;
          case Reduction::kProd:
            a *= v;
            break;
          case Reduction::kL1:
            a += std::abs(v);
            break;
          case Reduction::kL2:
          case Reduction::kSumSquare:
            a += v * v;
            break;
          case Reduction::kLogSumExp:
            a += std::exp(v - max_for_lse[o]);
            break;
        }
      });
      T* out = nullptr;
      Tensor result = NewTensor<T>(shape, &out);
      for (int64_t o = 0; o < out_count; ++o) {
        out[o] = kind == Reduction::kLogSumExp ? SaturateCast<T>(std::log(acc[o]) + max_for_lse[o])
                                               : Finish<T>(kind, acc[o], n);
      }
      ctx.SetOutput(0, std::move(result));
      return absl::OkStatus();
    });
  };
}

KernelFn ArgExtreme(bool is_max) {
  return [is_max](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
    const int64_t rank = static_cast<int64_t>(x->dims().size());
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", 0), rank));
    const bool keep = ctx.GetInt("keepdims", 1) != 0;
    const bool last = ctx.GetInt("select_last_index", 0) != 0;
    const int64_t outer = Product(x->dims(), 0, axis), dim = x->dims()[axis],
                  inner = Product(x->dims(), axis + 1);
    if (dim == 0) return ctx.Error("cannot take the index of an extreme over an empty axis");
    std::vector<int64_t> shape = x->dims();
    if (keep) {
      shape[axis] = 1;
    } else {
      shape.erase(shape.begin() + axis);
    }
    return VisitNumeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      int64_t* out = nullptr;
      Tensor result = NewTensor<int64_t>(shape, &out);
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const T* base = x->data<T>() + o * dim * inner + i;
          int64_t best = 0;
          for (int64_t j = 1; j < dim; ++j) {
            const T v = base[j * inner], b = base[best * inner];
            const bool better = is_max ? (v > b || (last && v == b)) : (v < b || (last && v == b));
            if (better) best = j;
          }
          out[o * inner + i] = best;
        }
      }
      ctx.SetOutput(0, std::move(result));
      return absl::OkStatus();
    });
  };
}

absl::Status TopK(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  int64_t k = ctx.GetInt("k", -1);
  if (ctx.opset() >= 10) {
    ASSIGN_OR_RETURN(const Tensor* kt, ctx.RequireInput(1));
    ASSIGN_OR_RETURN(std::vector<int64_t> kv, ReadInts(*kt));
    if (kv.size() != 1) return ctx.Error("K must hold one value");
    k = kv[0];
  }
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", -1), rank));
  const int64_t dim = x->dims()[axis];
  if (k < 0 || k > dim) return ctx.Error(absl::StrCat("K=", k, " is out of range for ", dim));
  const bool largest = ctx.GetInt("largest", 1) != 0;
  const int64_t outer = Product(x->dims(), 0, axis), inner = Product(x->dims(), axis + 1);
  std::vector<int64_t> shape = x->dims();
  shape[axis] = k;
  return VisitNumeric(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* values = nullptr;
    int64_t* indices = nullptr;
    Tensor vt = NewTensor<T>(shape, &values);
    Tensor it = NewTensor<int64_t>(shape, &indices);
    std::vector<int64_t> order(dim);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const T* base = x->data<T>() + o * dim * inner + i;
        std::iota(order.begin(), order.end(), 0);
        // Ties keep the lower index first, as ONNX requires.
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return largest ? base[a * inner] > base[b * inner] : base[a * inner] < base[b * inner];
        });
        for (int64_t j = 0; j < k; ++j) {
          values[(o * k + j) * inner + i] = base[order[j] * inner];
          indices[(o * k + j) * inner + i] = order[j];
        }
      }
    }
    ctx.SetOutput(0, std::move(vt));
    ctx.SetOutput(1, std::move(it));
    return absl::OkStatus();
  });
}

absl::Status CumSum(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* a, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(std::vector<int64_t> av, ReadInts(*a));
  if (av.size() != 1) return ctx.Error("axis must hold one value");
  ASSIGN_OR_RETURN(const int64_t axis,
                   NormalizeAxis(av[0], static_cast<int64_t>(x->dims().size())));
  const bool exclusive = ctx.GetInt("exclusive", 0) != 0, reverse = ctx.GetInt("reverse", 0) != 0;
  const int64_t outer = Product(x->dims(), 0, axis), dim = x->dims()[axis],
                inner = Product(x->dims(), axis + 1);
  return VisitNumeric(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        T sum{};
        for (int64_t s = 0; s < dim; ++s) {
          const int64_t j = reverse ? dim - 1 - s : s;
          const int64_t at = (o * dim + j) * inner + i;
          if (exclusive) {
            out[at] = sum;
            sum += x->data<T>()[at];
          } else {
            sum += x->data<T>()[at];
            out[at] = sum;
          }
        }
      }
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterReduceOps(KernelRegistry& r) {
  r.Add("", "ReduceSum", 1, Reduce(Reduction::kSum));
  r.Add("", "ReduceMean", 1, Reduce(Reduction::kMean));
  r.Add("", "ReduceMax", 1, Reduce(Reduction::kMax));
  r.Add("", "ReduceMin", 1, Reduce(Reduction::kMin));
  r.Add("", "ReduceProd", 1, Reduce(Reduction::kProd));
  r.Add("", "ReduceL1", 1, Reduce(Reduction::kL1));
  r.Add("", "ReduceL2", 1, Reduce(Reduction::kL2));
  r.Add("", "ReduceLogSum", 1, Reduce(Reduction::kLogSum));
  r.Add("", "ReduceLogSumExp", 1, Reduce(Reduction::kLogSumExp));
  r.Add("", "ReduceSumSquare", 1, Reduce(Reduction::kSumSquare));
  r.Add("", "ArgMax", 1, ArgExtreme(true));
  r.Add("", "ArgMin", 1, ArgExtreme(false));
  r.Add("", "TopK", 1, TopK);
  r.Add("", "CumSum", 11, CumSum);
}

}  // namespace pare::runtime
