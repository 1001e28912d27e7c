// Helpers shared by operator implementations: element-type dispatch, shape
// arithmetic (broadcasting, axes, strides) and output allocation.
#ifndef PARE_RUNTIME_OPS_OP_UTIL_H_
#define PARE_RUNTIME_OPS_OP_UTIL_H_

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/tensor.h"
#include "runtime/kernel.h"

namespace pare::runtime {

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls fn(TypeTag<T>{}) for the C++ type of `type`; Unimplemented otherwise.
template <typename Fn>
absl::Status VisitFloat(DataType type, Fn&& fn) {
  switch (type) {
    case DataType::kFloat32:
      return fn(TypeTag<float>{});
    case DataType::kFloat64:
      return fn(TypeTag<double>{});
    default:
      return absl::UnimplementedError(
          absl::StrCat("element type ", DataTypeName(type), " is not supported here"));
  }
}

template <typename Fn>
absl::Status VisitNumeric(DataType type, Fn&& fn) {
  switch (type) {
    case DataType::kInt8:
      return fn(TypeTag<int8_t>{});
    case DataType::kUint8:
      return fn(TypeTag<uint8_t>{});
    case DataType::kInt16:
      return fn(TypeTag<int16_t>{});
    case DataType::kUint16:
      return fn(TypeTag<uint16_t>{});
    case DataType::kInt32:
      return fn(TypeTag<int32_t>{});
    case DataType::kUint32:
      return fn(TypeTag<uint32_t>{});
    case DataType::kInt64:
      return fn(TypeTag<int64_t>{});
    case DataType::kUint64:
      return fn(TypeTag<uint64_t>{});
    default:
      return VisitFloat(type, fn);
  }
}

// Numeric types plus bool (stored as one byte).
template <typename Fn>
absl::Status VisitAll(DataType type, Fn&& fn) {
  if (type == DataType::kBool) return fn(TypeTag<bool>{});
  return VisitNumeric(type, fn);
}

// Types moved as raw bytes by layout-only operators (Reshape, Transpose,
// Gather...): any fixed-width type of 1, 2, 4 or 8 bytes.
template <typename Fn>
absl::Status VisitBytes(DataType type, Fn&& fn) {
  const DataTypeInfo* info = FindDataType(static_cast<int32_t>(type));
  switch (info ? info->bits : 0) {
    case 8:
      return fn(TypeTag<uint8_t>{});
    case 16:
      return fn(TypeTag<uint16_t>{});
    case 32:
      return fn(TypeTag<uint32_t>{});
    case 64:
      return fn(TypeTag<uint64_t>{});
    default:
      return absl::UnimplementedError(
          absl::StrCat("element type ", DataTypeName(type), " is not supported here"));
  }
}

// double to T: integers truncate toward zero and saturate, NaN becomes 0
// (a plain cast of an out-of-range value is undefined behaviour); bool is
// "not zero"; floats convert normally.
template <typename T>
T SaturateCast(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (v != v) return 0;
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

// memcpy that accepts empty ranges (whose pointers may be null): passing
// null to memcpy is undefined even for zero bytes.
inline void CopyBytes(void* dst, const void* src, size_t n) {
  if (n > 0) std::memcpy(dst, src, n);
}

// A new tensor of `dtype` (default: T's own) with uninitialized data.
template <typename T>
Tensor NewTensor(std::vector<int64_t> dims, T** data, DataType dtype = DataTypeOf<T>()) {
  uint8_t* raw = nullptr;
  Tensor t = Tensor::Allocate(dtype, std::move(dims), &raw);
  *data = reinterpret_cast<T*>(raw);
  return t;
}

// True when `t` holds exactly `count` values of C++ type T.
template <typename T>
bool Holds(const Tensor& t, uint64_t count) {
  return t.dtype() == DataTypeOf<T>() && t.element_count() == count &&
         t.bytes().size() == count * sizeof(T);
}

// The single value of input i as T, or `fallback` when the input is absent.
// InvalidArgument when present with another type or more than one value.
template <typename T>
absl::StatusOr<T> ScalarInput(const KernelContext& ctx, size_t i, T fallback) {
  if (!ctx.HasInput(i)) return fallback;
  const Tensor& t = ctx.input(i);
  if (!Holds<T>(t, 1)) {
    return ctx.Error(
        absl::StrCat("input ", i, " must be one ", DataTypeName(DataTypeOf<T>()), " value"));
  }
  return t.data<T>()[0];
}

// InvalidArgument unless the present inputs among `indices` share one type.
inline absl::Status RequireSameType(const KernelContext& ctx,
                                    std::initializer_list<size_t> indices) {
  const Tensor* first = nullptr;
  for (size_t i : indices) {
    if (!ctx.HasInput(i)) continue;
    if (first == nullptr) {
      first = &ctx.input(i);
    } else if (ctx.input(i).dtype() != first->dtype()) {
      return ctx.Error(absl::StrCat("inputs must share one type; input ", i, " is ",
                                    DataTypeName(ctx.input(i).dtype()), ", not ",
                                    DataTypeName(first->dtype())));
    }
  }
  return absl::OkStatus();
}

// Values of an int32 or int64 tensor (shape, axes, indices inputs).
absl::StatusOr<std::vector<int64_t>> ReadInts(const Tensor& t);
// Values of a float/double/int tensor widened to double (scalars: min/max).
absl::StatusOr<double> ReadScalar(const Tensor& t);

// Numpy-style broadcast of two shapes.
absl::StatusOr<std::vector<int64_t>> BroadcastShapes(const std::vector<int64_t>& a,
                                                     const std::vector<int64_t>& b);

// Row-major strides of a shape, in elements.
std::vector<int64_t> Strides(const std::vector<int64_t>& dims);

// Strides of `dims` seen through broadcasting to `out` (0 where broadcast).
std::vector<int64_t> BroadcastStrides(const std::vector<int64_t>& dims,
                                      const std::vector<int64_t>& out);

// Maps a possibly negative axis into [0, rank); an error when out of range.
absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank);

int64_t Product(const std::vector<int64_t>& dims, size_t begin = 0, size_t end = SIZE_MAX);

// e^x for float32 in plain arithmetic the compiler vectorizes (std::exp
// does not): x = n ln2 + r with |r| <= ln2/2, e^r by its degree-7 Taylor
// polynomial (error < 1e-8 relative), 2^n assembled in the exponent bits.
// Within 2 ulp of std::exp; underflows to ~1e-38 rather than 0 below -87.3;
// NaN stays NaN.
inline float ExpApprox(float x) {
  x = std::min(std::max(x, -87.3f), 88.3f);
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = x * 1.44269504f + kMagic;
  const float n = t - kMagic;
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;  // ln 2 in two parts
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const uint32_t bits = (std::bit_cast<uint32_t>(t) - 0x4B400000u + 127u) << 23;
  return p * std::bit_cast<float>(bits);
}

// A two-operand broadcast seen as rows: adjacent dimensions that both
// operands walk contiguously (or both repeat) are merged, so the innermost
// row is as long as possible; Offsets gives where row r starts in a and b.
struct BroadcastRows {
  std::vector<int64_t> dims, a_strides, b_strides;  // coalesced, outer dims
  int64_t inner = 1, inner_a = 0, inner_b = 0;

  BroadcastRows(const std::vector<int64_t>& shape, const std::vector<int64_t>& as,
                const std::vector<int64_t>& bs);
  void Offsets(int64_t row, int64_t* a, int64_t* b) const {
    *a = 0;
    *b = 0;
    for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
      const int64_t i = row % dims[d];
      row /= dims[d];
      *a += i * a_strides[d];
      *b += i * b_strides[d];
    }
  }
};

// Calls fn(out_index, a_offset, b_offset) for every element of a broadcast
// of a and b to `out`, walking the output in row-major order.
template <typename Fn>
void ForEachBroadcast(const std::vector<int64_t>& out, const std::vector<int64_t>& a_strides,
                      const std::vector<int64_t>& b_strides, Fn&& fn) {
  const size_t rank = out.size();
  const int64_t total = Product(out);
  if (total == 0) return;
  if (rank == 0) {
    fn(0, 0, 0);
    return;
  }
  std::vector<int64_t> index(rank, 0);
  int64_t a = 0, b = 0;
  const int64_t inner = out[rank - 1];
  const int64_t as = a_strides[rank - 1], bs = b_strides[rank - 1];
  for (int64_t i = 0; i < total; i += inner) {
    for (int64_t j = 0; j < inner; ++j) fn(i + j, a + j * as, b + j * bs);
    for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
      a += a_strides[d];
      b += b_strides[d];
      if (++index[d] < out[d]) break;
      a -= a_strides[d] * out[d];
      b -= b_strides[d] * out[d];
      index[d] = 0;
    }
  }
}

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_OPS_OP_UTIL_H_
