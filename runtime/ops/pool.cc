// MaxPool (with optional indices), AveragePool, LpPool and their global forms.
#include <cmath>
#include <limits>

#include "core/status_macros.h"
#include "runtime/ops/op_util.h"
#include "runtime/ops/spatial.h"

namespace pare::runtime {
namespace {

enum class PoolKind { kMax, kAverage, kLp };

// Visits every window: fn(plane, out_index, positions) where positions are
// the in-bounds input offsets of the window (padding skipped), and `total`
// is the window's size counting padding inside the padded input.
template <typename Fn>
void ForEachWindow(const Window& w, Fn&& fn) {
  const size_t rank = w.rank();
  if (Product(w.kernel) <= 0) return;  // no cells: the odometer below would never stop
  const int64_t osize = Product(w.output);
  std::vector<int64_t> out_pos(rank), k(rank);
  std::vector<int64_t> offsets;
  for (int64_t o = 0; o < osize; ++o) {
    int64_t rest = o;
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
      out_pos[d] = rest % w.output[d];
      rest /= w.output[d];
    }
    offsets.clear();
    int64_t padded_count = 1;
    for (size_t d = 0; d < rank; ++d) {
      // Window cells inside input + explicit padding (excluding ceil overhang).
      const int64_t start = out_pos[d] * w.strides[d] - w.pad_begin[d];
      int64_t cells = 0;
      for (int64_t j = 0; j < w.kernel[d]; ++j) {
        const int64_t x = start + j * w.dilations[d];
        if (x < w.input[d] + w.pad_end[d]) ++cells;
      }
      padded_count *= cells;
    }
    std::fill(k.begin(), k.end(), 0);
    while (true) {
      int64_t offset = 0;
      bool inside = true;
      for (size_t d = 0; d < rank && inside; ++d) {
        const int64_t x = out_pos[d] * w.strides[d] - w.pad_begin[d] + k[d] * w.dilations[d];
        inside = x >= 0 && x < w.input[d];
        offset = offset * w.input[d] + x;
      }
      if (inside) offsets.push_back(offset);
      size_t d = rank;
      while (d > 0 && ++k[d - 1] == w.kernel[d - 1]) k[--d] = 0;
      if (d == 0) break;
    }
    fn(o, offsets, padded_count);
  }
}

KernelFn Pool(PoolKind kind, bool global) {
  return [kind, global](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
    const auto& xd = x->dims();
    if (xd.size() < 3) return ctx.Error("input must be N-D with N >= 3");
    const std::vector<int64_t> spatial(xd.begin() + 2, xd.end());
    if (global && Product(spatial) == 0) return ctx.Error("cannot pool over an empty input");
    Window w;
    if (global) {
      w = {spatial,
           spatial,
           std::vector<int64_t>(spatial.size(), 1),
           std::vector<int64_t>(spatial.size(), 1),
           std::vector<int64_t>(spatial.size(), 0),
           std::vector<int64_t>(spatial.size(), 0),
           std::vector<int64_t>(spatial.size(), 1)};
    } else {
      ASSIGN_OR_RETURN(w, ResolveWindow(ctx, spatial, {}, ctx.GetInt("ceil_mode", 0) != 0));
      for (size_t d = 0; d < w.rank(); ++d) {
        if (w.pad_begin[d] >= w.kernel[d] || w.pad_end[d] >= w.kernel[d]) {
          return ctx.Error("pads must be smaller than the kernel");
        }
      }
    }
    const bool include_pad = ctx.GetInt("count_include_pad", 0) != 0;
    const int64_t p = ctx.GetInt("p", 2);
    const int64_t planes = xd[0] * xd[1], isize = Product(spatial), osize = Product(w.output);
    std::vector<int64_t> shape = {xd[0], xd[1]};
    shape.insert(shape.end(), w.output.begin(), w.output.end());
    RETURN_IF_ERROR(ctx.CheckOutputSize(x->dtype(), shape));
    // The window table holds every (output, cell) pair of one plane; real
    // models stay orders of magnitude below this, malformed ones could ask
    // for terabytes.
    const double cells =
        static_cast<double>(Product(w.output)) * static_cast<double>(Product(w.kernel));
    if (cells > 1e7 || cells * static_cast<double>(xd[0] * xd[1]) > 1e9) {
      return ctx.Error("pooling windows times outputs exceed the work limit");
    }
    const bool want_indices =
        kind == PoolKind::kMax && ctx.output_count() > 1 && !ctx.node().outputs[1].empty();
    const bool column_major = ctx.GetInt("storage_order", 0) != 0;
    return VisitFloat(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = nullptr;
      Tensor result = NewTensor<T>(shape, &out);
      int64_t* indices = nullptr;
      Tensor index_tensor = want_indices ? NewTensor<int64_t>(shape, &indices) : Tensor();
      // Windows are the same for every plane; collect them once.
      std::vector<std::vector<int64_t>> windows(osize);
      std::vector<int64_t> counts(osize);
      ForEachWindow(w, [&](int64_t o, const std::vector<int64_t>& offs, int64_t padded) {
        windows[o] = offs;
        counts[o] = padded;
      });
      ctx.pool().ParallelFor(planes, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t plane = lo; plane < hi; ++plane) {
          const T* in = x->data<T>() + plane * isize;
          for (int64_t o = 0; o < osize; ++o) {
            const auto& offs = windows[o];
            T acc = kind == PoolKind::kMax ? -std::numeric_limits<T>::infinity() : T{0};
            int64_t best = offs.empty() ? 0 : offs[0];
            for (int64_t off : offs) {
              const T v = in[off];
              if (kind == PoolKind::kMax) {
                if (v > acc) acc = v, best = off;
              } else if (kind == PoolKind::kAverage) {
                acc += v;
              } else {
                acc += static_cast<T>(std::pow(std::abs(v), static_cast<T>(p)));
              }
            }
            if (kind == PoolKind::kAverage) {
              const int64_t n = include_pad ? counts[o] : static_cast<int64_t>(offs.size());
              acc = n ? acc / static_cast<T>(n) : T{0};
            } else if (kind == PoolKind::kLp) {
              acc = static_cast<T>(std::pow(acc, T{1} / static_cast<T>(p)));
            }
            out[plane * osize + o] = acc;
            if (indices) {
              int64_t flat = plane * isize + best;
              if (column_major && spatial.size() == 2) {
                const int64_t h = best / spatial[1], wcol = best % spatial[1];
                flat = plane * isize + wcol * spatial[0] + h;
              }
              indices[plane * osize + o] = flat;
            }
          }
        }
      });
      ctx.SetOutput(0, std::move(result));
      if (indices) ctx.SetOutput(1, std::move(index_tensor));
      return absl::OkStatus();
    });
  };
}

}  // namespace

void RegisterPoolOps(KernelRegistry& r) {
  r.Add("", "MaxPool", 1, Pool(PoolKind::kMax, false));
  r.Add("", "AveragePool", 1, Pool(PoolKind::kAverage, false));
  r.Add("", "LpPool", 2, Pool(PoolKind::kLp, false));
  r.Add("", "GlobalMaxPool", 1, Pool(PoolKind::kMax, true));
  r.Add("", "GlobalAveragePool", 1, Pool(PoolKind::kAverage, true));
  r.Add("", "GlobalLpPool", 2, Pool(PoolKind::kLp, true));
}

}  // namespace pare::runtime
