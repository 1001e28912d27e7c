#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace pare {
namespace {

absl::Status IoError(const std::filesystem::path& path, const char* what) {
  const int err = errno;
  const std::string message = absl::StrCat(path.string(), ": ", what, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM || err == EROFS) return absl::PermissionDeniedError(message);
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

}  // namespace

absl::StatusOr<AtomicFile> AtomicFile::Create(const std::filesystem::path& destination) {
  const std::filesystem::path dir =
      destination.has_parent_path() ? destination.parent_path() : std::filesystem::path(".");
  // StrCat, not operator+, sidesteps a GCC 12 -Wrestrict false positive.
  std::string pattern =
      (dir / absl::StrCat(".", destination.filename().string(), ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) return IoError(destination, "cannot create a temporary file beside it");
  ::fchmod(fd, 0644);
  return AtomicFile(destination, pattern, fd);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : destination_(std::move(other.destination_)),
      temp_(std::move(other.temp_)),
      fd_(other.fd_),
      size_(other.size_),
      committed_(other.committed_) {
  other.fd_ = -1;
  other.committed_ = true;  // the moved-from object owns nothing to clean up
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

absl::Status AtomicFile::Write(absl::Span<const uint8_t> bytes) {
  // Writes past a hole land at the logical end, not the kernel's position.
  if (::lseek(fd_, static_cast<off_t>(size_), SEEK_SET) < 0) return IoError(temp_, "seek failed");
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, std::min<size_t>(left, size_t{1} << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(destination_, "write failed");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  size_ += bytes.size();
  return absl::OkStatus();
}

absl::Status AtomicFile::Skip(uint64_t count) {
  size_ += count;
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit() {
  // Trailing holes need the file length set explicitly.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) return IoError(temp_, "truncate failed");
  if (::fsync(fd_) != 0) return IoError(destination_, "fsync failed");
  if (::close(fd_) != 0) {
    fd_ = -1;
    return IoError(destination_, "close failed");
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), destination_.c_str()) != 0) {
    return IoError(destination_, "cannot rename the finished file into place");
  }
  committed_ = true;
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::filesystem::path& dir) {
  const std::filesystem::path d = dir.empty() ? std::filesystem::path(".") : dir;
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError(d, "cannot open folder");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return IoError(d, "fsync failed");
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text) {
  ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path));
  RETURN_IF_ERROR(
      out.Write(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  return out.Commit();
}

}  // namespace pare
