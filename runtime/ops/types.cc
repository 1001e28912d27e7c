// Type conversion and constant producers: Cast CastLike Constant
// ConstantOfShape Range EyeLike.
#include <cmath>
#include <limits>

#include "core/float16.h"
#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

// Reads element i of any numeric, bool, float16 or bfloat16 tensor as double.
absl::StatusOr<std::vector<double>> AsDoubles(const Tensor& t) {
  std::vector<double> out(t.element_count());
  if (t.dtype() == DataType::kFloat16 || t.dtype() == DataType::kBFloat16) {
    const bool half = t.dtype() == DataType::kFloat16;
    for (size_t i = 0; i < out.size(); ++i) {
      const uint16_t bits = t.data<uint16_t>()[i];
      out[i] = half ? Float16ToFloat32(bits) : BFloat16ToFloat32(bits);
    }
    return out;
  }
  RETURN_IF_ERROR(VisitAll(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(t.data<T>()[i]);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Tensor> CastTo(const Tensor& x, DataType to) {
  if (x.dtype() == to) return x.WithDims(x.dims());
  // Integer-to-integer casts keep exact 64-bit values; others go via double.
  if (x.dtype() == DataType::kInt64 || x.dtype() == DataType::kUint64) {
    Tensor out;
    auto status = VisitAll(to, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* data = nullptr;
      out = NewTensor<T>(x.dims(), &data, to);
      for (uint64_t i = 0; i < x.element_count(); ++i) {
        if (x.dtype() == DataType::kInt64) {
          data[i] = static_cast<T>(x.data<int64_t>()[i]);
        } else {
          data[i] = static_cast<T>(x.data<uint64_t>()[i]);
        }
      }
      return absl::OkStatus();
    });
    if (status.ok()) return out;
  }
  ASSIGN_OR_RETURN(std::vector<double> values, AsDoubles(x));
  if (to == DataType::kFloat16 || to == DataType::kBFloat16) {
    uint16_t* data = nullptr;
    Tensor out = NewTensor<uint16_t>(x.dims(), &data, to);
    for (size_t i = 0; i < values.size(); ++i) {
      const float f = static_cast<float>(values[i]);
      data[i] = to == DataType::kFloat16 ? Float32ToFloat16(f) : Float32ToBFloat16(f);
    }
    return out;
  }
  Tensor out;
  RETURN_IF_ERROR(VisitAll(to, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* data = nullptr;
    out = NewTensor<T>(x.dims(), &data, to);
    for (size_t i = 0; i < values.size(); ++i) data[i] = SaturateCast<T>(values[i]);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status Cast(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  const int64_t to = ctx.GetInt("to", 0);
  const DataTypeInfo* info = FindDataType(static_cast<int32_t>(to));
  if (info == nullptr) return ctx.Error(absl::StrCat("unknown target type ", to));
  auto out = CastTo(*x, info->type);
  if (!out.ok()) {
    return ctx.Unsupported(
        absl::StrCat("cast from ", DataTypeName(x->dtype()), " to ", info->name));
  }
  ctx.SetOutput(0, *std::move(out));
  return absl::OkStatus();
}

absl::Status CastLike(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(const Tensor* like, ctx.RequireInput(1));
  auto out = CastTo(*x, like->dtype());
  if (!out.ok()) return ctx.Unsupported("cast between these types");
  ctx.SetOutput(0, *std::move(out));
  return absl::OkStatus();
}

absl::Status Constant(KernelContext& ctx) {
  const Node& node = ctx.node();
  for (const Attribute& a : node.attributes) {
    if (a.name == "value" && !a.tensors.empty()) {
      ctx.SetOutput(0, a.tensors[0].WithDims(a.tensors[0].dims()));
    } else if (a.name == "value_float") {
      ctx.SetOutput(0, Tensor::FromVector<float>("", {}, {a.f}));
    } else if (a.name == "value_floats") {
      ctx.SetOutput(
          0, Tensor::FromVector<float>("", {static_cast<int64_t>(a.floats.size())}, a.floats));
    } else if (a.name == "value_int") {
      ctx.SetOutput(0, Tensor::FromVector<int64_t>("", {}, {a.i}));
    } else if (a.name == "value_ints") {
      ctx.SetOutput(0,
                    Tensor::FromVector<int64_t>("", {static_cast<int64_t>(a.ints.size())}, a.ints));
    } else if (a.name == "value_string") {
      ctx.SetOutput(0, Tensor::FromStrings("", {}, {a.s}));
    } else if (a.name == "value_strings") {
      ctx.SetOutput(0,
                    Tensor::FromStrings("", {static_cast<int64_t>(a.strings.size())}, a.strings));
    } else {
      continue;
    }
    return absl::OkStatus();
  }
  return ctx.Unsupported("Constant without a dense value (sparse_value is not supported)");
}

absl::Status ConstantOfShape(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* s, ctx.RequireInput(0));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, ReadInts(*s));
  for (int64_t d : shape) {
    if (d < 0) return ctx.Error("shape has a negative dimension");
  }
  const Attribute* fill_attr = ctx.FindAttribute("value");
  RETURN_IF_ERROR(ctx.CheckOutputSize(
      fill_attr && !fill_attr->tensors.empty() ? fill_attr->tensors[0].dtype() : DataType::kFloat32,
      shape));
  const Attribute* value = ctx.FindAttribute("value");
  const Tensor fill = value && !value->tensors.empty() ? value->tensors[0]
                                                       : Tensor::FromVector<float>("", {1}, {0.0f});
  const size_t elem = fill.bytes().size();
  if (fill.element_count() != 1 || !StorageBytes(fill.dtype(), 1).ok() ||
      Info(fill.dtype()).bits < 8) {
    return ctx.Error("value must be one element of a fixed-size type");
  }
  uint8_t* out = nullptr;
  Tensor result = Tensor::Allocate(fill.dtype(), shape, &out);
  for (int64_t i = 0; i < Product(shape); ++i) CopyBytes(out + i * elem, fill.bytes().data(), elem);
  ctx.SetOutput(0, std::move(result));
  return absl::OkStatus();
}

absl::Status Range(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* start, ctx.RequireInput(0));
  return VisitNumeric(start->dtype(), [&](auto tag) -> absl::Status {
    using T = typename decltype(tag)::type;
    ASSIGN_OR_RETURN(const T s, ScalarInput<T>(ctx, 0, T{}));
    ASSIGN_OR_RETURN(const T limit, ScalarInput<T>(ctx, 1, T{}));
    ASSIGN_OR_RETURN(const T delta, ScalarInput<T>(ctx, 2, T{}));
    if (delta == 0) return ctx.Error("delta cannot be 0");
    const double count = std::ceil((static_cast<double>(limit) - s) / static_cast<double>(delta));
    if (!(count < 1e15)) return ctx.Error("range is too long");    // also catches NaN
    const int64_t n = static_cast<int64_t>(std::max(0.0, count));  // negative: empty
    RETURN_IF_ERROR(ctx.CheckOutputSize(start->dtype(), {n}));
    T* out = nullptr;
    Tensor result = NewTensor<T>({n}, &out);
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(s + i * delta);
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

absl::Status EyeLike(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, ctx.RequireInput(0));
  if (x->dims().size() != 2) return ctx.Error("input must be 2-D");
  const int64_t k = ctx.GetInt("k", 0);
  const DataType to =
      ctx.FindAttribute("dtype") ? static_cast<DataType>(ctx.GetInt("dtype", 1)) : x->dtype();
  return VisitAll(to, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* out = nullptr;
    Tensor result = NewTensor<T>(x->dims(), &out, to);
    const int64_t rows = x->dims()[0], cols = x->dims()[1];
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = static_cast<T>(c - r == k ? 1 : 0);
    }
    ctx.SetOutput(0, std::move(result));
    return absl::OkStatus();
  });
}

}  // namespace

void RegisterTypeOps(KernelRegistry& r) {
  r.Add("", "Cast", 6, Cast);
  r.Add("", "CastLike", 15, CastLike);
  r.Add("", "Constant", 1, Constant);
  r.Add("", "ConstantOfShape", 9, ConstantOfShape);
  r.Add("", "Range", 11, Range);
  r.Add("", "EyeLike", 9, EyeLike);
}

}  // namespace pare::runtime
