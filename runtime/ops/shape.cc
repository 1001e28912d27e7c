// Operators that change only shape or layout: Reshape Flatten Squeeze
// Unsqueeze Transpose Concat Split Expand Tile Identity Dropout Shape Size
// DepthToSpace SpaceToDepth.
#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

absl::Status Identity(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ctx.SetOutput(0, x->WithDims(x->dims()));
  return absl::OkStatus();
}

// Dropout at inference: Y = X, and the optional mask is all true. In
// training mode with ratio 0 (torchvision's Swin exports that) it drops
// nothing, so it is the same identity; any other training ratio is random.
absl::Status Dropout(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  if (ctx.HasInput(2) && ctx.input(2).element_count() == 1 && ctx.input(2).bytes()[0] != 0) {
    double ratio = 0.5;  // the operator's default
    if (ctx.HasInput(1)) {
      ASSIGN_OR_RETURN(ratio, ReadScalar(ctx.input(1)));
    }
    if (ratio != 0.0) {
      return ctx.Unsupported(
          "training_mode with a nonzero ratio drops at random: pare runs inference");
    }
  }
  ctx.SetOutput(0, x->WithDims(x->dims()));
  if (ctx.output_count() > 1) {
    bool* mask = nullptr;
    Tensor m = NewTensor<bool>(x->dims(), &mask);
    std::fill(mask, mask + x->element_count(), true);
    ctx.SetOutput(1, std::move(m));
  }
  return absl::OkStatus();
}

absl::Status Reshape(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  std::vector<int64_t> shape;
  if (ctx.opset() < 5) {
    shape = ctx.GetInts("shape");
  } else {
    ASSIGN_OR_RETURN(const Tensor* s, ctx.RequireInput(1));
    ASSIGN_OR_RETURN(shape, ReadInts(*s));
  }
  const bool allow_zero = ctx.GetInt("allowzero", 0) != 0;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allow_zero) {
      if (i >= x->dims().size()) return ctx.Error("shape copies a dimension the input lacks");
      shape[i] = x->dims()[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0) return ctx.Error("shape has more than one -1");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      return ctx.Error("shape has a negative dimension");
    } else {
      known *= shape[i];
    }
  }
  const int64_t total = static_cast<int64_t>(x->element_count());
  if (infer >= 0) {
    if (known == 0 || total % known != 0) return ctx.Error("cannot infer the -1 dimension");
    shape[infer] = total / known;
  }
  if (Product(shape) != total) {
    return ctx.Error(
        absl::StrCat("cannot reshape ", total, " elements to [", absl::StrJoin(shape, ","), "]"));
  }
  ctx.SetOutput(0, x->WithDims(shape));
  return absl::OkStatus();
}

absl::Status Flatten(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  int64_t axis = ctx.GetInt("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return ctx.Error("axis out of range");
  ctx.SetOutput(0, x->WithDims({Product(x->dims(), 0, axis), Product(x->dims(), axis)}));
  return absl::OkStatus();
}

// Axes from the attribute (old opsets) or the optional second input.
absl::StatusOr<std::vector<int64_t>> AxesArg(KernelContext& ctx, int64_t input_since) {
  if (ctx.opset() < input_since) return ctx.GetInts("axes");
  if (!ctx.HasInput(1)) return std::vector<int64_t>{};
  return ReadInts(ctx.input(1));
}

absl::Status Squeeze(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, AxesArg(ctx, 13));
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  std::vector<bool> drop(rank, false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(a, rank));
    if (x->dims()[axis] != 1) return ctx.Error("cannot squeeze a dimension that is not 1");
    drop[axis] = true;
  }
  std::vector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    const bool squeeze = axes.empty() ? x->dims()[i] == 1 : drop[i];
    if (!squeeze) shape.push_back(x->dims()[i]);
  }
  ctx.SetOutput(0, x->WithDims(shape));
  return absl::OkStatus();
}

absl::Status Unsqueeze(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, AxesArg(ctx, 13));
  const int64_t rank = static_cast<int64_t>(x->dims().size() + axes.size());
  std::vector<bool> added(rank, false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(a, rank));
    if (added[axis]) return ctx.Error("repeated axis");
    added[axis] = true;
  }
  std::vector<int64_t> shape;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) shape.push_back(added[i] ? 1 : x->dims()[next++]);
  ctx.SetOutput(0, x->WithDims(shape));
  return absl::OkStatus();
}

// Generic strided copy: out[i] = in[offset(i)] where offsets follow
// `in_strides` over the output shape. Used by Transpose, Expand, Tile.
template <typename T>
void StridedCopy(const T* in, T* out, const std::vector<int64_t>& shape,
                 const std::vector<int64_t>& in_strides) {
  ForEachBroadcast(shape, in_strides, in_strides,
                   [&](int64_t i, int64_t offset, int64_t) { out[i] = in[offset]; });
}

absl::Status Transpose(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const size_t rank = x->dims().size();
  std::vector<int64_t> perm = ctx.GetInts("perm");
  if (perm.empty()) {
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  }
  if (perm.size() != rank) return ctx.Error("perm does not match the input's rank");
  const std::vector<int64_t> strides = Strides(x->dims());
  std::vector<int64_t> shape(rank), in_strides(rank);
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < rank; ++i) {
    if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(rank) || seen[perm[i]]) {
      return ctx.Error("perm is not a permutation");
    }
    seen[perm[i]] = true;
    shape[i] = x->dims()[perm[i]];
    in_strides[i] = strides[perm[i]];
  }
  return VisitBytes(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out, x->dtype());
    StridedCopy(x->data<T>(), out, shape, in_strides);
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Expand(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* s, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(std::vector<int64_t> target, ReadInts(*s));
  auto shape = BroadcastShapes(x->dims(), target);
  if (!shape.ok()) return ctx.Error(std::string(shape.status().message()));
  RETURN_IF_ERROR(ctx.CheckOutputSize(x->dtype(), *shape));
  return VisitBytes(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(*shape, &out, x->dtype());
    StridedCopy(x->data<T>(), out, *shape, BroadcastStrides(x->dims(), *shape));
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Tile(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* r, ctx.RequireInput(1));
  ASSIGN_OR_RETURN(std::vector<int64_t> repeats, ReadInts(*r));
  const size_t rank = x->dims().size();
  if (repeats.size() != rank) return ctx.Error("repeats must have one entry per dimension");
  for (int64_t r : repeats) {
    if (r < 0) return ctx.Error("repeats must not be negative");
  }
  // View the output as [r0, d0, r1, d1, ...] so tiling is a broadcast copy.
  std::vector<int64_t> split_shape, split_strides, shape;
  const std::vector<int64_t> strides = Strides(x->dims());
  for (size_t i = 0; i < rank; ++i) {
    split_shape.insert(split_shape.end(), {repeats[i], x->dims()[i]});
    split_strides.insert(split_strides.end(), {0, strides[i]});
    shape.push_back(repeats[i] * x->dims()[i]);
  }
  RETURN_IF_ERROR(ctx.CheckOutputSize(x->dtype(), shape));
  return VisitBytes(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(shape, &out, x->dtype());
    StridedCopy(x->data<T>(), out, split_shape, split_strides);
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status Concat(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* first, ctx.RequireInput(0));
  const int64_t rank = static_cast<int64_t>(first->dims().size());
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", 0), rank));
  std::vector<int64_t> shape = first->dims();
  shape[axis] = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    ASSIGN_OR_RETURN(const Tensor* t, ctx.RequireInput(i));
    if (t->dtype() != first->dtype() || static_cast<int64_t>(t->dims().size()) != rank) {
      return ctx.Error(absl::StrCat("input ", i, " differs in type or rank"));
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis && t->dims()[d] != first->dims()[d]) {
        return ctx.Error(absl::StrCat("input ", i, " differs in dimension ", d));
      }
    }
    shape[axis] += t->dims()[axis];
  }
  const int64_t outer = Product(shape, 0, axis);
  const int64_t inner = Product(shape, axis + 1);
  const size_t elem = StorageBytes(first->dtype(), 1).value_or(0);
  if (elem == 0 || Info(first->dtype()).bits < 8)
    return ctx.Unsupported("type cannot be concatenated");
  uint8_t* out = nullptr;
  Tensor result = Tensor::Allocate(first->dtype(), shape, &out);
  const int64_t row = shape[axis] * inner * static_cast<int64_t>(elem);
  int64_t offset = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const Tensor& t = ctx.input(i);
    const int64_t chunk = t.dims()[axis] * inner * static_cast<int64_t>(elem);
    for (int64_t o = 0; o < outer; ++o) {
      CopyBytes(out + o * row + offset, t.bytes().data() + o * chunk, chunk);
    }
    offset += chunk;
  }
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

absl::Status Split(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", 0), rank));
  const int64_t dim = x->dims()[axis];
  const int64_t parts = static_cast<int64_t>(ctx.output_count());
  std::vector<int64_t> sizes = ctx.opset() < 13 ? ctx.GetInts("split") : std::vector<int64_t>{};
  if (ctx.opset() >= 13 && ctx.HasInput(1)) {
    ASSIGN_OR_RETURN(sizes, ReadInts(ctx.input(1)));
  }
  if (sizes.empty()) {
    const int64_t n = ctx.opset() >= 18 ? ctx.GetInt("num_outputs", parts) : parts;
    // Checked before sizing anything: a damaged num_outputs must not
    // allocate (or divide by) what it claims.
    if (n != parts || n <= 0) return ctx.Error("num_outputs does not match the outputs");
    const int64_t each = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i) sizes.push_back(std::min(each, dim - i * each));
  }
  if (static_cast<int64_t>(sizes.size()) != parts || Product(sizes) < 0) {
    return ctx.Error("split sizes do not match the outputs");
  }
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  if (total != dim) return ctx.Error("split sizes do not add up to the dimension");
  const int64_t outer = Product(x->dims(), 0, axis);
  const int64_t inner = Product(x->dims(), axis + 1);
  const int64_t elem = static_cast<int64_t>(StorageBytes(x->dtype(), 1).value_or(0));
  if (elem == 0 || Info(x->dtype()).bits < 8) return ctx.Unsupported("this element type");
  int64_t offset = 0;
  for (int64_t p = 0; p < parts; ++p) {
    std::vector<int64_t> shape = x->dims();
    shape[axis] = sizes[p];
    uint8_t* out = nullptr;
    Tensor part = Tensor::Allocate(x->dtype(), shape, &out);
    const int64_t chunk = sizes[p] * inner * elem;
    for (int64_t o = 0; o < outer; ++o) {
      CopyBytes(out + o * chunk, x->bytes().data() + o * dim * inner * elem + offset, chunk);
    }
    offset += chunk;
    ctx.SetOutput(p, std::move(part));
  }
  return absl::OkStatus();
}

absl::Status Shape(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const int64_t rank = static_cast<int64_t>(x->dims().size());
  int64_t start = ctx.GetInt("start", 0), end = ctx.GetInt("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  ctx.SetOutput(0, Tensor::FromVector<int64_t>(
                       "", {end - start},
                       std::vector<int64_t>(x->dims().begin() + start, x->dims().begin() + end)));
  return absl::OkStatus();
}

absl::Status Size(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ctx.SetOutput(0, Tensor::FromVector<int64_t>("", {}, {static_cast<int64_t>(x->element_count())}));
  return absl::OkStatus();
}

// DepthToSpace (DCR or CRD order) and SpaceToDepth as 6-D transposes.
KernelFn SpaceDepth(bool to_space) {
  return [to_space](KernelContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
    if (x->dims().size() != 4) return ctx.Error("input must be 4-D (NCHW)");
    const int64_t b = ctx.GetInt("blocksize", 0);
    if (b <= 0) return ctx.Error("blocksize must be positive");
    const int64_t n = x->dims()[0], c = x->dims()[1], h = x->dims()[2], w = x->dims()[3];
    std::vector<int64_t> view, perm, shape;
    if (to_space) {
      if (b > c / b || c % (b * b)) return ctx.Error("channels must divide by blocksize^2");
      const bool crd = ctx.GetString("mode", "DCR") == "CRD";
      view = crd ? std::vector<int64_t>{n, c / (b * b), b, b, h, w}
                 : std::vector<int64_t>{n, b, b, c / (b * b), h, w};
      perm = crd ? std::vector<int64_t>{0, 1, 4, 2, 5, 3} : std::vector<int64_t>{0, 3, 4, 1, 5, 2};
      shape = {n, c / (b * b), h * b, w * b};
    } else {
      if (b > h || b > w || h % b || w % b) {
        return ctx.Error("height and width must divide by blocksize");
      }
      view = {n, c, h / b, b, w / b, b};
      perm = {0, 3, 5, 1, 2, 4};
      shape = {n, c * b * b, h / b, w / b};
    }
    const std::vector<int64_t> strides = Strides(view);
    std::vector<int64_t> out_view(6), in_strides(6);
    for (int i = 0; i < 6; ++i) out_view[i] = view[perm[i]], in_strides[i] = strides[perm[i]];
    return VisitBytes(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = nullptr;
      Tensor result = NewTensor<T>(shape, &out, x->dtype());
      StridedCopy(x->data<T>(), out, out_view, in_strides);
      ctx.SetOutput(0, std::move(result));
      return absl::OkStatus();
    });
  };
}

}  // namespace

void RegisterShapeOps(KernelRegistry& r) {
  r.Add("", "Identity", 1, Identity);
  r.Add("", "Dropout", 1, Dropout);
  r.Add("", "Reshape", 1, Reshape);
  r.Add("", "Flatten", 1, Flatten);
  r.Add("", "Squeeze", 1, Squeeze);
  r.Add("", "Unsqueeze", 1, Unsqueeze);
  r.Add("", "Transpose", 1, Transpose);
  r.Add("", "Expand", 8, Expand);
  r.Add("", "Tile", 6, Tile);
  r.Add("", "Concat", 4, Concat);
  r.Add("", "Split", 2, Split);
  r.Add("", "Shape", 1, Shape);
  r.Add("", "Size", 1, Size);
  r.Add("", "DepthToSpace", 1, SpaceDepth(true));
  r.Add("", "SpaceToDepth", 1, SpaceDepth(false));
}

}  // namespace pare::runtime
