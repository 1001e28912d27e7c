// A named, typed, shaped tensor whose bytes are a view into shared, immutable
// storage (owned memory or a memory-mapped external data file).
//
//   Tensor w = Tensor::FromVector("w", {4, 8}, std::vector<float>(32, 0.5f));
//   std::vector<float> values = w.ToFloat32().value();
//
// Data is laid out as ONNX raw_data: little-endian, row-major, 4-bit types
// packed two per byte. Copies share storage; to change data, make a new
// tensor.
#ifndef PARE_CORE_TENSOR_H_
#define PARE_CORE_TENSOR_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/buffer.h"
#include "core/dtype.h"

namespace pare {

// Where a tensor's bytes came from, when they came from an external file.
struct ExternalSource {
  std::string location;  // as written in the model, relative to its folder
  uint64_t offset = 0;
};

// Number of elements of a shape; fails on negative dims or overflow.
absl::StatusOr<uint64_t> ElementCount(absl::Span<const int64_t> dims);

// This machine's physical memory in bytes (0 when it cannot be read).
uint64_t PhysicalMemoryBytes();

// Refuses (ResourceExhausted, naming `what`) an allocation of `bytes` larger
// than the machine's memory, before it is tried: such an allocation ends in
// std::bad_alloc or the kernel's OOM killer, neither of which says why.
absl::Status CheckAllocation(const std::string& what, uint64_t bytes);

class Tensor {
 public:
  Tensor() = default;

  // REQUIRES: bytes.size() == StorageBytes(dtype, ElementCount(dims)).
  static Tensor FromBuffer(std::string name, DataType dtype, std::vector<int64_t> dims,
                           std::shared_ptr<const Buffer> storage, absl::Span<const uint8_t> bytes);
  static Tensor FromBytes(std::string name, DataType dtype, std::vector<int64_t> dims,
                          std::vector<uint8_t> bytes);
  static Tensor FromStrings(std::string name, std::vector<int64_t> dims,
                            std::vector<std::string> values);
  // A new tensor with uninitialized, 64-byte-aligned storage; *data points at
  // it so the producer can fill it before anyone else sees the tensor.
  static Tensor Allocate(DataType dtype, std::vector<int64_t> dims, uint8_t** data);

  template <typename T>
  static Tensor FromVector(std::string name, std::vector<int64_t> dims,
                           const std::vector<T>& values);

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  DataType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  uint64_t element_count() const;
  absl::Span<const uint8_t> bytes() const { return bytes_; }
  const std::vector<std::string>& strings() const { return strings_; }
  // Lets the OS drop this tensor's mapped pages from memory once a streaming
  // pass is done with them; the bytes stay readable.
  void ReleasePages() const {
    if (storage_) storage_->ReleasePages(bytes_);
  }

  // The same bytes under another shape (shares storage).
  // REQUIRES: the new shape needs the same number of bytes.
  Tensor WithDims(std::vector<int64_t> dims) const;

  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(bytes_.data());
  }

  const std::optional<ExternalSource>& external_source() const { return external_; }
  void set_external_source(ExternalSource source) { external_ = std::move(source); }

  // Values widened to float32 (from any float, integer or bool type).
  // Fails for string, complex and float8 types.
  absl::StatusOr<std::vector<float>> ToFloat32() const;

 private:
  std::string name_;
  DataType dtype_ = DataType::kUndefined;
  std::vector<int64_t> dims_;
  std::shared_ptr<const Buffer> storage_;
  absl::Span<const uint8_t> bytes_;
  std::vector<std::string> strings_;
  std::optional<ExternalSource> external_;
};

// The ONNX element type of a C++ type (kUndefined for others).
template <typename T>
constexpr DataType DataTypeOf() {
  if constexpr (std::is_same_v<T, bool>) return DataType::kBool;
  if constexpr (std::is_same_v<T, float>) return DataType::kFloat32;
  if constexpr (std::is_same_v<T, double>) return DataType::kFloat64;
  if constexpr (std::is_same_v<T, int8_t>) return DataType::kInt8;
  if constexpr (std::is_same_v<T, uint8_t>) return DataType::kUint8;
  if constexpr (std::is_same_v<T, int16_t>) return DataType::kInt16;
  if constexpr (std::is_same_v<T, uint16_t>) return DataType::kUint16;
  if constexpr (std::is_same_v<T, int32_t>) return DataType::kInt32;
  if constexpr (std::is_same_v<T, uint32_t>) return DataType::kUint32;
  if constexpr (std::is_same_v<T, int64_t>) return DataType::kInt64;
  if constexpr (std::is_same_v<T, uint64_t>) return DataType::kUint64;
  return DataType::kUndefined;
}

template <typename T>
Tensor Tensor::FromVector(std::string name, std::vector<int64_t> dims,
                          const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return FromBytes(std::move(name), DataTypeOf<T>(), std::move(dims), std::move(bytes));
}

}  // namespace pare

#endif  // PARE_CORE_TENSOR_H_
