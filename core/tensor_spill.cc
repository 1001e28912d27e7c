#include "core/tensor_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/buffer.h"
#include "core/status_macros.h"

namespace pare {

absl::StatusOr<std::unique_ptr<TensorSpill>> TensorSpill::Create(const std::filesystem::path& dir) {
  std::string path = (dir / ".pare-spill-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat(dir.string(), ": cannot create a scratch file: ", std::strerror(errno)));
  }
  return std::unique_ptr<TensorSpill>(new TensorSpill(path, fd));
}

TensorSpill::~TensorSpill() {
  if (fd_ >= 0) {
    close(fd_);
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
}

absl::Status TensorSpill::Add(const Tensor& tensor) {
  const auto bytes = tensor.bytes();
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ < 0) return absl::FailedPreconditionError("the spill is finished");
  // 64-byte offsets keep every view aligned for vector loads.
  const uint64_t offset = (size_ + 63) / 64 * 64;
  for (uint64_t done = 0; done < bytes.size();) {
    const ssize_t n =
        pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(absl::StrCat(path_.string(), ": writing '", tensor.name(),
                                                 "' failed: ", std::strerror(errno)));
    }
    done += static_cast<uint64_t>(n);
  }
  entries_.push_back({tensor.name(), tensor.dtype(), tensor.dims(), offset, bytes.size()});
  size_ = offset + bytes.size();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> TensorSpill::Finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Tensor> tensors;
  if (entries_.empty()) return tensors;
  // Pad to the last offset so that an empty last tensor maps too.
  if (ftruncate(fd_, static_cast<off_t>(std::max<uint64_t>(size_, 1))) != 0) {
    return absl::UnavailableError(absl::StrCat(path_.string(), ": ", std::strerror(errno)));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path_));
  close(fd_);
  fd_ = -1;
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);  // the mapping keeps the data
  for (Entry& e : entries_) {
    tensors.push_back(Tensor::FromBuffer(std::move(e.name), e.dtype, std::move(e.dims), file,
                                         file->bytes().subspan(e.offset, e.length)));
  }
  entries_.clear();
  return tensors;
}

}  // namespace pare
