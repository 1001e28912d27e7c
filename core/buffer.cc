#include "core/buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace pare {

absl::Span<const uint8_t> OwnedBuffer::bytes() const {
  if (is_string_) {
    return {reinterpret_cast<const uint8_t*>(string_.data()), string_.size()};
  }
  return {vector_.data(), vector_.size()};
}

constexpr std::align_val_t kAlignment{64};

AlignedBuffer::AlignedBuffer(size_t size)
    : data_(static_cast<uint8_t*>(::operator new(size ? size : 64, kAlignment))), size_(size) {
  // Empty buffers still own 64 zeroed bytes: a kernel that reads element 0
  // of an empty tensor from a malformed model reads zero, not freed memory.
  if (size == 0) std::memset(data_, 0, 64);
}

AlignedBuffer::~AlignedBuffer() { ::operator delete(data_, kAlignment); }

absl::StatusOr<std::shared_ptr<const MappedFile>> MappedFile::Open(
    const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string message = absl::StrCat(path.string(), ": cannot open: ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::PermissionDeniedError(message);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": not a regular file"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  const uint8_t* data = nullptr;
  if (size > 0) {
    void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return absl::ResourceExhaustedError(
          absl::StrCat(path.string(), ": cannot map: ", std::strerror(err)));
    }
    data = static_cast<const uint8_t*>(mapped);
  }
  ::close(fd);  // the mapping keeps the file alive
  return std::shared_ptr<const MappedFile>(new MappedFile(path, data, size));
}

void MappedFile::ReleasePages(absl::Span<const uint8_t> range) const {
  // Only whole pages inside the range: neighbours may still be in use.
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(range.data()) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(range.data()) + range.size()) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (size_ > 0) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace pare
