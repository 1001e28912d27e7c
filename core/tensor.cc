#include "core/tensor.h"

#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/float16.h"
#include "core/int4.h"

namespace pare {

static_assert(std::endian::native == std::endian::little,
              "pare stores tensors in ONNX's little-endian layout in place");

absl::StatusOr<uint64_t> ElementCount(absl::Span<const int64_t> dims) {
  uint64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0) return absl::InvalidArgumentError(absl::StrCat("negative dimension ", d));
    if (d != 0 && count > UINT64_MAX / static_cast<uint64_t>(d)) {
      return absl::InvalidArgumentError("shape's element count overflows 64 bits");
    }
    count *= static_cast<uint64_t>(d);
  }
  return count;
}

uint64_t PhysicalMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

absl::Status CheckAllocation(const std::string& what, uint64_t bytes) {
  static const uint64_t memory = PhysicalMemoryBytes();
  if (memory == 0 || bytes <= memory) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(what, " needs ", bytes / (uint64_t{1} << 20),
                                                   " MiB, more than this machine's ",
                                                   memory / (uint64_t{1} << 20), " MiB of memory"));
}

Tensor Tensor::FromBuffer(std::string name, DataType dtype, std::vector<int64_t> dims,
                          std::shared_ptr<const Buffer> storage, absl::Span<const uint8_t> bytes) {
  Tensor t;
  t.name_ = std::move(name);
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.storage_ = std::move(storage);
  t.bytes_ = bytes;
  const absl::StatusOr<uint64_t> expected = StorageBytes(dtype, t.element_count());
  if (!expected.ok() || *expected != bytes.size()) {
    std::fprintf(stderr, "pare: internal error: tensor '%s' holds %zu bytes for its shape\n",
                 t.name_.c_str(), bytes.size());
    std::abort();
  }
  return t;
}

Tensor Tensor::FromBytes(std::string name, DataType dtype, std::vector<int64_t> dims,
                         std::vector<uint8_t> bytes) {
  auto storage = std::make_shared<OwnedBuffer>(std::move(bytes));
  const absl::Span<const uint8_t> view = storage->bytes();
  return FromBuffer(std::move(name), dtype, std::move(dims), std::move(storage), view);
}

Tensor Tensor::FromStrings(std::string name, std::vector<int64_t> dims,
                           std::vector<std::string> values) {
  Tensor t;
  t.name_ = std::move(name);
  t.dtype_ = DataType::kString;
  t.dims_ = std::move(dims);
  t.strings_ = std::move(values);
  return t;
}

Tensor Tensor::Allocate(DataType dtype, std::vector<int64_t> dims, uint8_t** data) {
  const uint64_t count = ElementCount(dims).value();
  auto storage = std::make_shared<AlignedBuffer>(StorageBytes(dtype, count).value());
  *data = storage->mutable_data();
  const auto view = storage->bytes();
  return FromBuffer("", dtype, std::move(dims), std::move(storage), view);
}

Tensor Tensor::WithDims(std::vector<int64_t> dims) const {
  if (dtype_ == DataType::kString) {
    Tensor t = *this;
    t.dims_ = std::move(dims);
    return t;
  }
  Tensor t = FromBuffer(name_, dtype_, std::move(dims), storage_, bytes_);
  t.strings_ = strings_;
  return t;
}

uint64_t Tensor::element_count() const {
  // Shapes are validated when tensors are built from files, so this cannot fail.
  return ElementCount(dims_).value_or(0);
}

namespace {

template <typename T>
void WidenInto(absl::Span<const uint8_t> bytes, std::vector<float>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));  // data may be unaligned
    out[i] = static_cast<float>(v);
  }
}

template <float (*Convert)(uint16_t)>
void Widen16Into(absl::Span<const uint8_t> bytes, std::vector<float>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    uint16_t v;
    std::memcpy(&v, bytes.data() + i * 2, 2);
    out[i] = Convert(v);
  }
}

}  // namespace

absl::StatusOr<std::vector<float>> Tensor::ToFloat32() const {
  std::vector<float> out(element_count());
  switch (dtype_) {
    case DataType::kFloat32:
      WidenInto<float>(bytes_, out);
      break;
    case DataType::kFloat64:
      WidenInto<double>(bytes_, out);
      break;
    case DataType::kFloat16:
      Widen16Into<Float16ToFloat32>(bytes_, out);
      break;
    case DataType::kBFloat16:
      Widen16Into<BFloat16ToFloat32>(bytes_, out);
      break;
    case DataType::kInt8:
      WidenInto<int8_t>(bytes_, out);
      break;
    case DataType::kUint8:
      WidenInto<uint8_t>(bytes_, out);
      break;
    case DataType::kBool:
      WidenInto<uint8_t>(bytes_, out);
      break;
    case DataType::kInt16:
      WidenInto<int16_t>(bytes_, out);
      break;
    case DataType::kUint16:
      WidenInto<uint16_t>(bytes_, out);
      break;
    case DataType::kInt32:
      WidenInto<int32_t>(bytes_, out);
      break;
    case DataType::kUint32:
      WidenInto<uint32_t>(bytes_, out);
      break;
    case DataType::kInt64:
      WidenInto<int64_t>(bytes_, out);
      break;
    case DataType::kUint64:
      WidenInto<uint64_t>(bytes_, out);
      break;
    case DataType::kInt4: {
      std::vector<int8_t> v(out.size());
      UnpackInt4(bytes_.data(), v.size(), v.data());
      for (size_t i = 0; i < v.size(); ++i) out[i] = v[i];
      break;
    }
    case DataType::kUint4: {
      std::vector<uint8_t> v(out.size());
      UnpackUint4(bytes_.data(), v.size(), v.data());
      for (size_t i = 0; i < v.size(); ++i) out[i] = v[i];
      break;
    }
    default:
      return absl::UnimplementedError(
          absl::StrCat("tensor '", name_, "': cannot widen ", DataTypeName(dtype_), " to float"));
  }
  return out;
}

}  // namespace pare
