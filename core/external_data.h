// Resolves ONNX external-data references safely and maps each data file once.
//
//   ExternalDataResolver resolver(model_dir);
//   ASSIGN_OR_RETURN(ExternalSlice slice, resolver.Resolve("w.bin", 4096, 1 << 20));
//
// A location must be relative, contain no "..", and resolve (through
// symlinks) to a regular file inside the model's folder; the requested range
// must lie within the file. Each failure is an error naming the location.
#ifndef PARE_CORE_EXTERNAL_DATA_H_
#define PARE_CORE_EXTERNAL_DATA_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/buffer.h"

namespace pare {

struct ExternalSlice {
  std::shared_ptr<const MappedFile> file;
  absl::Span<const uint8_t> bytes;
};

// Checks that `location` may be used as an external-data path at all
// (relative, no "..", not empty); does not touch the file system.
absl::Status ValidateExternalLocation(const std::string& location);

class ExternalDataResolver {
 public:
  explicit ExternalDataResolver(std::filesystem::path base_dir);

  // Returns the bytes [offset, offset + length) of `location`. When length is
  // empty, the range runs to the end of the file. Not thread-safe.
  absl::StatusOr<ExternalSlice> Resolve(const std::string& location, uint64_t offset,
                                        std::optional<uint64_t> length);

  // Files mapped so far, by location as written in the model.
  const std::map<std::string, std::shared_ptr<const MappedFile>>& files() const { return files_; }

 private:
  absl::StatusOr<std::shared_ptr<const MappedFile>> Map(const std::string& location);

  std::filesystem::path base_dir_;
  std::map<std::string, std::shared_ptr<const MappedFile>> files_;
};

}  // namespace pare

#endif  // PARE_CORE_EXTERNAL_DATA_H_
