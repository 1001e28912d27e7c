// A file written under a temporary name beside its destination and published
// by rename only when complete, so readers never see a partial file.
//
//   ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create("out/model.onnx"));
//   RETURN_IF_ERROR(out.Write(bytes));
//   RETURN_IF_ERROR(out.Commit());   // fsync, rename, fsync the folder
//
// Destroying an uncommitted AtomicFile removes the temporary file.
#ifndef PARE_CORE_ATOMIC_FILE_H_
#define PARE_CORE_ATOMIC_FILE_H_

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace pare {

class AtomicFile {
 public:
  static absl::StatusOr<AtomicFile> Create(const std::filesystem::path& destination);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  int fd() const { return fd_; }
  const std::filesystem::path& destination() const { return destination_; }
  // Bytes written so far through Write/Skip (the current end of the file).
  uint64_t size() const { return size_; }

  absl::Status Write(absl::Span<const uint8_t> bytes);
  // Extends the file by `count` zero bytes without writing them (a hole).
  absl::Status Skip(uint64_t count);
  // Flushes to disk and renames over the destination.
  absl::Status Commit();

 private:
  AtomicFile(std::filesystem::path destination, std::filesystem::path temp, int fd)
      : destination_(std::move(destination)), temp_(std::move(temp)), fd_(fd) {}

  std::filesystem::path destination_;
  std::filesystem::path temp_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool committed_ = false;
};

// Writes `text` to `path` through an AtomicFile: readers see the old file
// or the whole new one (reports, manifests, cache entries).
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text);

// fsyncs a folder so that renames inside it survive a crash.
absl::Status SyncDirectory(const std::filesystem::path& dir);

}  // namespace pare

#endif  // PARE_CORE_ATOMIC_FILE_H_
