#include "runtime/ops/op_util.h"

#include <cstring>

namespace pare::runtime {

absl::StatusOr<std::vector<int64_t>> ReadInts(const Tensor& t) {
  std::vector<int64_t> out(t.element_count());
  if (t.dtype() == DataType::kInt64) {
    if (!out.empty()) CopyBytes(out.data(), t.bytes().data(), out.size() * 8);
  } else if (t.dtype() == DataType::kInt32) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<int32_t>()[i];
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", t.name(), "' must be int32 or int64, not ", DataTypeName(t.dtype())));
  }
  return out;
}

absl::StatusOr<double> ReadScalar(const Tensor& t) {
  if (t.element_count() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name(), "' must hold one value"));
  }
  double value = 0;
  auto status = VisitNumeric(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    value = static_cast<double>(t.data<T>()[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return value;
}

absl::StatusOr<std::vector<int64_t>> BroadcastShapes(const std::vector<int64_t>& a,
                                                     const std::vector<int64_t>& b) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("shapes cannot broadcast: dimension ", i, " is ", x, " vs ", y));
    }
    out[i] = x == 1 ? y : x;
  }
  return out;
}

std::vector<int64_t> Strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (int64_t i = static_cast<int64_t>(dims.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * dims[i + 1];
  return s;
}

std::vector<int64_t> BroadcastStrides(const std::vector<int64_t>& dims,
                                      const std::vector<int64_t>& out) {
  std::vector<int64_t> s(out.size(), 0);
  const std::vector<int64_t> own = Strides(dims);
  const size_t shift = out.size() - dims.size();
  for (size_t i = 0; i < dims.size(); ++i) s[i + shift] = dims[i] == 1 ? 0 : own[i];
  return s;
}

BroadcastRows::BroadcastRows(const std::vector<int64_t>& shape, const std::vector<int64_t>& as,
                             const std::vector<int64_t>& bs) {
  // Walk from the innermost dimension, merging while both strides continue.
  std::vector<int64_t> d, sa, sb;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 1) continue;  // contributes nothing to any offset
    if (!d.empty() && as[i] == sa.back() * d.back() && bs[i] == sb.back() * d.back()) {
      d.back() *= shape[i];
    } else {
      d.push_back(shape[i]);
      sa.push_back(as[i]);
      sb.push_back(bs[i]);
    }
  }
  if (d.empty()) return;  // a single element
  inner = d.front();
  inner_a = sa.front();
  inner_b = sb.front();
  dims.assign(d.rbegin(), d.rend() - 1);
  a_strides.assign(sa.rbegin(), sa.rend() - 1);
  b_strides.assign(sb.rbegin(), sb.rend() - 1);
}

absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank) {
  const int64_t lo = -rank, hi = rank - 1;
  if (axis < lo || axis > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank : axis;
}

int64_t Product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < std::min(end, dims.size()); ++i) p *= dims[i];
  return p;
}

}  // namespace pare::runtime
