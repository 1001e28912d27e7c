// Immutable byte storage that tensors view: owned memory or a read-only
// memory map of a file. Buffers are shared by pointer, so copying a tensor or
// a model never copies weight data.
//
//   ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
//   absl::Span<const uint8_t> bytes = file->bytes().subspan(offset, length);
#ifndef PARE_CORE_BUFFER_H_
#define PARE_CORE_BUFFER_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace pare {

class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual absl::Span<const uint8_t> bytes() const = 0;
  // Hint that `range` (inside bytes()) will not be read soon. Memory maps drop
  // those pages from this process's resident set (they stay in the page cache
  // and fault back in if read again); owned memory ignores it.
  virtual void ReleasePages(absl::Span<const uint8_t> range) const {}
};

// Owns its bytes; built from a vector or by taking over a string (protobuf's
// raw_data) without copying.
class OwnedBuffer final : public Buffer {
 public:
  explicit OwnedBuffer(std::vector<uint8_t> data) : vector_(std::move(data)) {}
  explicit OwnedBuffer(std::string data) : string_(std::move(data)), is_string_(true) {}
  absl::Span<const uint8_t> bytes() const override;

 private:
  std::vector<uint8_t> vector_;
  std::string string_;
  bool is_string_ = false;
};

// Uninitialized heap storage aligned to 64 bytes, for computed tensors.
class AlignedBuffer final : public Buffer {
 public:
  explicit AlignedBuffer(size_t size);
  ~AlignedBuffer() override;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  absl::Span<const uint8_t> bytes() const override { return {data_, size_}; }
  uint8_t* mutable_data() { return data_; }

 private:
  uint8_t* data_;
  size_t size_;
};

// A whole file mapped read-only. Pages are read on demand, so mapping a 10 GB
// file costs address space, not resident memory. Thread-safe to read.
class MappedFile final : public Buffer {
 public:
  static absl::StatusOr<std::shared_ptr<const MappedFile>> Open(const std::filesystem::path& path);
  ~MappedFile() override;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  absl::Span<const uint8_t> bytes() const override { return {data_, size_}; }
  void ReleasePages(absl::Span<const uint8_t> range) const override;
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile(std::filesystem::path path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::filesystem::path path_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace pare

#endif  // PARE_CORE_BUFFER_H_
