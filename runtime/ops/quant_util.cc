#include "runtime/ops/quant_util.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/int4.h"
#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {

absl::StatusOr<std::vector<int32_t>> ReadQuantized(const Tensor& t) {
  const size_t n = t.element_count();
  std::vector<int32_t> out(n);
  switch (t.dtype()) {
    case DataType::kInt4: {
      std::vector<int8_t> v(n);
      UnpackInt4(t.bytes().data(), n, v.data());
      std::copy(v.begin(), v.end(), out.begin());
      return out;
    }
    case DataType::kUint4: {
      std::vector<uint8_t> v(n);
      UnpackUint4(t.bytes().data(), n, v.data());
      std::copy(v.begin(), v.end(), out.begin());
      return out;
    }
    case DataType::kInt8:
    case DataType::kUint8:
    case DataType::kInt16:
    case DataType::kUint16:
    case DataType::kInt32: {
      RETURN_IF_ERROR(VisitNumeric(t.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        for (size_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(t.data<T>()[i]);
        return absl::OkStatus();
      }));
      return out;
    }
    default:
      return absl::UnimplementedError(
          absl::StrCat("quantized type ", DataTypeName(t.dtype()), " is not supported"));
  }
}

absl::StatusOr<std::pair<int32_t, int32_t>> QuantRange(DataType type) {
  switch (type) {
    case DataType::kInt4:
      return std::pair{-8, 7};
    case DataType::kUint4:
      return std::pair{0, 15};
    case DataType::kInt8:
      return std::pair{-128, 127};
    case DataType::kUint8:
      return std::pair{0, 255};
    case DataType::kInt16:
      return std::pair{-32768, 32767};
    case DataType::kUint16:
      return std::pair{0, 65535};
    default:
      return absl::UnimplementedError(absl::StrCat("cannot quantize to ", DataTypeName(type)));
  }
}

Tensor WriteQuantized(DataType type, std::vector<int64_t> dims, const std::vector<int32_t>& v) {
  uint8_t* raw = nullptr;
  Tensor t = Tensor::Allocate(type, std::move(dims), &raw);
  switch (type) {
    case DataType::kInt4: {
      std::vector<int8_t> s(v.begin(), v.end());
      PackInt4(s.data(), s.size(), raw);
      break;
    }
    case DataType::kUint4: {
      std::vector<uint8_t> s(v.begin(), v.end());
      PackUint4(s.data(), s.size(), raw);
      break;
    }
    default:
      (void)VisitNumeric(type, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* out = reinterpret_cast<T*>(raw);
        for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<T>(v[i]);
        return absl::OkStatus();
      });
  }
  return t;
}

absl::StatusOr<QuantLayout> ResolveQuantLayout(const KernelContext& ctx,
                                               const std::vector<int64_t>& x,
                                               const std::vector<int64_t>& scale) {
  QuantLayout layout;
  int64_t scale_count = 1;
  for (int64_t d : scale) scale_count *= d;
  const int64_t block = ctx.GetInt("block_size", 0);
  if (scale_count == 1 && block == 0) return layout;
  layout.per_tensor = false;
  const int64_t rank = static_cast<int64_t>(x.size());
  ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx.GetInt("axis", 1), rank));
  layout.dim = x[axis];
  layout.inner = Product(x, axis + 1);
  if (block > 0) {
    layout.block = block;
    layout.scale_dim = (layout.dim + block - 1) / block;
    if (scale.size() != x.size() || scale[axis] != layout.scale_dim) {
      return ctx.Error(absl::StrCat("blocked scale shape [", absl::StrJoin(scale, ","),
                                    "] does not match input [", absl::StrJoin(x, ","),
                                    "] with block_size ", block));
    }
    return layout;
  }
  if (scale.size() != 1 || scale[0] != layout.dim) {
    return ctx.Error(absl::StrCat("per-axis scale has ", scale_count, " values but axis ", axis,
                                  " has ", layout.dim));
  }
  layout.scale_dim = layout.dim;
  return layout;
}

}  // namespace pare::runtime
