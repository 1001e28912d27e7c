// Keeps computed tensors on disk instead of in memory, so a stage that makes
// one large tensor after another (quantizing a model's weights) holds about
// one at a time: each Add writes the bytes to a scratch file and drops them;
// Finish maps the file and returns the tensors as views of it (their pages
// load on demand and SaveModel releases them after copying each).
//
//   ASSIGN_OR_RETURN(TensorSpill spill, TensorSpill::Create(output_dir));
//   RETURN_IF_ERROR(spill.Add(std::move(packed)));     // thread-safe
//   ASSIGN_OR_RETURN(std::vector<Tensor> tensors, spill.Finish());
//
// The scratch file is unlinked as soon as it is mapped (or when the spill is
// destroyed unfinished), so nothing is left behind on any path.
#ifndef PARE_CORE_TENSOR_SPILL_H_
#define PARE_CORE_TENSOR_SPILL_H_

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace pare {

class TensorSpill {
 public:
  // Creates the scratch file in `dir` (pick one on a disk with room: the
  // output's folder).
  static absl::StatusOr<std::unique_ptr<TensorSpill>> Create(const std::filesystem::path& dir);
  ~TensorSpill();
  TensorSpill(const TensorSpill&) = delete;
  TensorSpill& operator=(const TensorSpill&) = delete;

  absl::Status Add(const Tensor& tensor);
  // The tensors added, in order, as views of the mapped scratch file.
  absl::StatusOr<std::vector<Tensor>> Finish();
  uint64_t bytes() const { return size_; }

 private:
  struct Entry {
    std::string name;
    DataType dtype;
    std::vector<int64_t> dims;
    uint64_t offset, length;
  };
  TensorSpill(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::vector<Entry> entries_;
  std::mutex mutex_;
};

}  // namespace pare

#endif  // PARE_CORE_TENSOR_SPILL_H_
