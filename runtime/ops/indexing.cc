// Operators that select or place elements by index: Gather GatherElements
// GatherND ScatterND ScatterElements Slice Pad NonZero Trilu.
#include "core/status_macros.h"
#include "runtime/ops/op_util.h"
#include "runtime/ops/spatial.h"

namespace pare::runtime {
namespace {

absl::StatusOr<int64_t> WrapIndex(KernelContext& ctx, int64_t index, int64_t dim) {
  if (index < -dim || index >= dim) {
    return ctx.Error(absl::StrCat("index ", index, " is out of range for a dimension of ", dim));
  }
  return index < 0 ? index + dim : index;
}

absl::Status Gather(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* data, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* idx, ctx.RequireInput(1));
  const int64_t rank = static_cast<int64_t>(data->dims().size());
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", 0), rank));
  ASSIGN_OR_RETURN(std::vector<int64_t> indices, ReadInts(*idx));
  std::vector<int64_t> shape(data->dims().begin(), data->dims().begin() + axis);
  shape.insert(shape.end(), idx->dims().begin(), idx->dims().end());
  shape.insert(shape.end(), data->dims().begin() + axis + 1, data->dims().end());
  const int64_t outer = Product(data->dims(), 0, axis);
  const int64_t dim = data->dims()[axis];
  const int64_t inner = Product(data->dims(), axis + 1);
  for (int64_t& i : indices) {
    ASSIGN_OR_RETURN(i, WrapIndex(ctx, i, dim));
  }
  const int64_t elem = static_cast<int64_t>(StorageBytes(data->dtype(), 1).value_or(0));
  if (elem == 0 || data->dtype() == DataType::kInt4 || data->dtype() == DataType::kUint4) {
    return ctx.Unsupported("Gather of this element type");
  }
  uint8_t* out = nullptr;
  Tensor result = Tensor::Allocate(data->dtype(), shape, &out);
  const uint8_t* in = data->bytes().data();
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t row = inner * elem;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      CopyBytes(out + (o * n + j) * row, in + (o * dim + indices[j]) * row, row);
    }
  }
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

// For GatherElements/ScatterElements: the offset into `data` of each index
// element with its own coordinate along `axis` set to 0.
absl::StatusOr<std::vector<int64_t>> AxisBaseOffsets(const KernelContext& ctx, const Tensor& data,
                                                     const Tensor& idx, int64_t axis) {
  if (idx.dims().size() != data.dims().size()) return ctx.Error("indices and data differ in rank");
  for (size_t d = 0; d < idx.dims().size(); ++d) {
    if (static_cast<int64_t>(d) != axis && idx.dims()[d] > data.dims()[d]) {
      return ctx.Error("indices are larger than data outside the axis");
    }
  }
  std::vector<int64_t> no_axis = Strides(data.dims());
  no_axis[axis] = 0;
  std::vector<int64_t> base(idx.element_count());
  ForEachBroadcast(idx.dims(), no_axis, no_axis,
                   [&](int64_t i, int64_t off, int64_t) { base[i] = off; });
  return base;
}

absl::Status GatherElements(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* data, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* idx, ctx.RequireInput(1));
  const int64_t rank = static_cast<int64_t>(data->dims().size());
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", 0), rank));
  ASSIGN_OR_RETURN(std::vector<int64_t> indices, ReadInts(*idx));
  const std::vector<int64_t> strides = Strides(data->dims());
  ASSIGN_OR_RETURN(std::vector<int64_t> base, AxisBaseOffsets(ctx, *data, *idx, axis));
  return VisitBytes(data->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(idx->dims(), &out, data->dtype());
    for (size_t i = 0; i < indices.size(); ++i) {
      ASSIGN_OR_RETURN(int64_t k, WrapIndex(ctx, indices[i], data->dims()[axis]));
      out[i] = data->data<T>()[base[i] + k * strides[axis]];
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status GatherND(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* data, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* idx, ctx.RequireInput(1));
  const int64_t batch = ctx.GetInt("batch_dims", 0);
  const auto& dd = data->dims();
  const auto& id = idx->dims();
  if (id.empty()) return ctx.Error("indices must have rank >= 1");
  const int64_t k = id.back();
  if (batch < 0 || k < 0 || batch + k > static_cast<int64_t>(dd.size()) ||
      batch >= static_cast<int64_t>(id.size())) {
    return ctx.Error("batch_dims and the index depth do not fit the inputs");
  }
  for (int64_t d = 0; d < batch; ++d) {
    if (id[d] != dd[d]) return ctx.Error("batch dimensions of data and indices differ");
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> indices, ReadInts(*idx));
  std::vector<int64_t> shape(id.begin(), id.end() - 1);
  shape.insert(shape.end(), dd.begin() + batch + k, dd.end());
  const int64_t slice = Product(dd, batch + k);
  const int64_t batch_count = Product(dd, 0, batch);
  const int64_t per_batch = Product(id, batch, id.size() - 1);
  const std::vector<int64_t> strides = Strides(dd);
  const int64_t batch_stride = batch > 0 ? strides[batch - 1] : 0;
  return VisitBytes(data->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out, data->dtype());
    for (int64_t b = 0; b < batch_count; ++b) {
      for (int64_t j = 0; j < per_batch; ++j) {
        const int64_t* ix = indices.data() + (b * per_batch + j) * k;  // k may be 0
        int64_t offset = b * batch_stride;
        for (int64_t d = 0; d < k; ++d) {
          ASSIGN_OR_RETURN(int64_t v, WrapIndex(ctx, ix[d], dd[batch + d]));
          offset += v * strides[batch + d];
        }
        CopyBytes(out + (b * per_batch + j) * slice, data->data<T>() + offset, slice * sizeof(T));
      }
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

template <typename T>
T Reduce(const std::string& mode, T a, T b) {
  if (mode == "add") return static_cast<T>(a + b);
  if (mode == "mul") return static_cast<T>(a * b);
  if (mode == "max") return std::max(a, b);
  if (mode == "min") return std::min(a, b);
  return b;
}

absl::Status ScatterND(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* data, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* idx, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(const Tensor* upd, ctx.RequireInput(2));
  RETURN_IF_ERROR(RequireSameType(ctx, {0, 2}));
  ASSIGN_OR_RETURN(std::vector<int64_t> indices, ReadInts(*idx));
  const std::string mode = ctx.GetString("reduction", "none");
  const auto& dd = data->dims();
  const int64_t k = idx->dims().back();
  const int64_t slice = Product(dd, k);
  const int64_t count = Product(idx->dims(), 0, idx->dims().size() - 1);
  const std::vector<int64_t> strides = Strides(dd);
  return VisitAll(data->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(dd, &out, data->dtype());
    CopyBytes(out, data->data<T>(), data->bytes().size());
    for (int64_t j = 0; j < count; ++j) {
      int64_t offset = 0;
      for (int64_t d = 0; d < k; ++d) {
        ASSIGN_OR_RETURN(int64_t v, WrapIndex(ctx, indices[j * k + d], dd[d]));
        offset += v * strides[d];
      }
      for (int64_t s = 0; s < slice; ++s) {
        out[offset + s] = Reduce(mode, out[offset + s], upd->data<T>()[j * slice + s]);
      }
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status ScatterElements(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* data, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* idx, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(const Tensor* upd, ctx.RequireInput(2));
  const int64_t rank = static_cast<int64_t>(data->dims().size());
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", 0), rank));
  ASSIGN_OR_RETURN(std::vector<int64_t> indices, ReadInts(*idx));
  const std::string mode = ctx.GetString("reduction", "none");
  const std::vector<int64_t> strides = Strides(data->dims());
  ASSIGN_OR_RETURN(std::vector<int64_t> base, AxisBaseOffsets(ctx, *data, *idx, axis));
  if (upd->dims() != idx->dims() || upd->dtype() != data->dtype()) {
    return ctx.Error("updates must match indices in shape and data in type");
  }
  return VisitAll(data->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(data->dims(), &out, data->dtype());
    CopyBytes(out, data->data<T>(), data->bytes().size());
    for (size_t i = 0; i < indices.size(); ++i) {
      ASSIGN_OR_RETURN(int64_t k, WrapIndex(ctx, indices[i], data->dims()[axis]));
      T& slot = out[base[i] + k * strides[axis]];
      slot = Reduce(mode, slot, upd->data<T>()[i]);
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Slice(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.GetInts("starts");
    ends = ctx.GetInts("ends");
    axes = ctx.GetInts("axes");
  } else {
    ASSIGN_OR_RETURN(starts, ReadInts(ctx.input(1)));
    ASSIGN_OR_RETURN(ends, ReadInts(ctx.input(2)));
    if (ctx.HasInput(3)) {
      ASSIGN_OR_RETURN(axes, ReadInts(ctx.input(3)));
    }
    if (ctx.HasInput(4)) {
      ASSIGN_OR_RETURN(steps, ReadInts(ctx.input(4)));
    }
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return ctx.Error("starts, ends, axes and steps differ in length");
  }
  std::vector<int64_t> begin(rank, 0), step(rank, 1), shape = x->dims();
  for (size_t i = 0; i < starts.size(); ++i) {
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(axes[i], rank));
    const int64_t dim = x->dims()[axis];
    const int64_t s = steps[i];
    if (s == 0) return ctx.Error("step cannot be 0");
    int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (s > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      shape[axis] = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      shape[axis] = b > e ? (b - e - s - 1) / -s : 0;
    }
    begin[axis] = b;
    step[axis] = s;
  }
  const std::vector<int64_t> strides = Strides(x->dims());
  int64_t offset = 0;
  std::vector<int64_t> in_strides(rank);
  for (int64_t d = 0; d < rank; ++d) {
    offset += begin[d] * strides[d];
    in_strides[d] = strides[d] * step[d];
  }
  return VisitBytes(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out, x->dtype());
    const T* in = x->data<T>() + offset;
    ForEachBroadcast(shape, in_strides, in_strides,
                     [&](int64_t i, int64_t off, int64_t) { out[i] = in[off]; });
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Pad(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  std::vector<int64_t> pads = ctx.opset() < 11 ? ctx.GetInts("pads") : std::vector<int64_t>{};
  if (ctx.opset() >= 11) {
    ASSIGN_OR_RETURN(pads, ReadInts(ctx.input(1)));
  }
  std::vector<int64_t> axes;
  if (ctx.opset() >= 18 && ctx.HasInput(3)) {
    ASSIGN_OR_RETURN(axes, ReadInts(ctx.input(3)));
  }
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size()) return ctx.Error("pads must have two entries per axis");
  RETURN_IF_ERROR(CheckWindowAttributes(ctx, {&pads}));
  std::vector<int64_t> before(rank, 0), after(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(axes[i], rank));
    before[axis] = pads[i];
    after[axis] = pads[i + axes.size()];
  }
  const std::string mode = ctx.GetString("mode", "constant");
  std::vector<int64_t> shape(rank);
  for (int64_t d = 0; d < rank; ++d) shape[d] = x->dims()[d] + before[d] + after[d];
  for (int64_t d : shape) {
    if (d < 0) return ctx.Error("pads remove more than the dimension");
  }
  RETURN_IF_ERROR(ctx.CheckOutputSize(x->dtype(), shape));
  return VisitAll(x->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    T value{};
    if (ctx.opset() < 11) {
      value = static_cast<T>(ctx.GetFloat("value", 0));
    } else if (ctx.HasInput(2) && ctx.input(2).element_count() > 0) {
      ASSIGN_OR_RETURN(value, ScalarInput<T>(ctx, 2, value));
    }
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out, x->dtype());
    const std::vector<int64_t> strides = Strides(x->dims());
    const std::vector<int64_t> out_strides = Strides(shape);
    const int64_t total = Product(shape);
    for (int64_t i = 0; i < total; ++i) {
      int64_t offset = 0;
      bool inside = true;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t c = (i / out_strides[d]) % shape[d] - before[d];
        const int64_t n = x->dims()[d];
        if (c < 0 || c >= n) {
          if (mode == "constant" || n == 0) {
            inside = false;
            break;
          }
          if (mode == "edge") {
            c = std::clamp<int64_t>(c, 0, n - 1);
          } else if (mode == "reflect") {
            const int64_t period = 2 * (n - 1);
            c = period == 0 ? 0 : ((c % period) + period) % period;
            if (c >= n) c = period - c;
          } else if (mode == "wrap") {
            c = ((c % n) + n) % n;
          } else {
            return ctx.Error("unknown pad mode '" + mode + "'");
          }
        }
        offset += c * strides[d];
      }
      out[i] = inside ? x->data<T>()[offset] : value;
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status NonZero(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const size_t rank = x->dims().size();
  const std::vector<int64_t> strides = Strides(x->dims());
  std::vector<int64_t> hits;
  RETURN_IF_ERROR(VisitAll(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (uint64_t i = 0; i < x->element_count(); ++i) {
      if (x->data<T>()[i] != T{}) hits.push_back(static_cast<int64_t>(i));
    }
    return absl::OkStatus();
  }));
  const int64_t n = static_cast<int64_t>(hits.size());
  std::vector<int64_t> coords(rank * hits.size());
  for (int64_t j = 0; j < n; ++j) {
    for (size_t d = 0; d < rank; ++d) coords[d * n + j] = (hits[j] / strides[d]) % x->dims()[d];
  }
  if (rank == 0) coords.assign(hits.size(), 0);
  ctx.SetOutput(0, Tensor::FromVector<int64_t>(
                       "", {static_cast<int64_t>(std::max<size_t>(rank, 1)), n}, coords));
  return absl::OkStatus();
}

absl::Status Trilu(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  if (x->dims().size() < 2) return ctx.Error("input must be at least 2-D");
  int64_t k = 0;
  if (ctx.HasInput(1)) {
    ASSIGN_OR_RETURN(k, ReadScalar(ctx.input(1)));
  }
  const bool upper = ctx.GetInt("upper", 1) != 0;
  const int64_t rows = x->dims()[x->dims().size() - 2], cols = x->dims().back();
  return VisitAll(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out, x->dtype());
    for (uint64_t i = 0; i < x->element_count(); ++i) {
      const int64_t c = static_cast<int64_t>(i) % cols;
      const int64_t r = (static_cast<int64_t>(i) / cols) % rows;
      const bool keep = upper ? c - r >= k : c - r <= k;
      out[i] = keep ? x->data<T>()[i] : T{};
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterIndexingOps(KernelRegistry& r) {
  r.Add("", "Gather", 1, Gather);
  r.Add("", "GatherElements", 11, GatherElements);
  r.Add("", "GatherND", 11, GatherND);
  r.Add("", "ScatterND", 11, ScatterND);
  r.Add("", "ScatterElements", 11, ScatterElements);
  r.Add("", "Scatter", 9, ScatterElements);  // the deprecated name, same semantics
  r.Add("", "Slice", 1, Slice);
  r.Add("", "Pad", 2, Pad);
  r.Add("", "NonZero", 9, NonZero);
  r.Add("", "Trilu", 14, Trilu);
}

}  // namespace pare::runtime
