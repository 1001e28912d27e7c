#include "core/external_data.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace pare {
namespace fs = std::filesystem;

absl::Status ValidateExternalLocation(const std::string& location) {
  if (location.empty()) return absl::InvalidArgumentError("external data location is empty");
  if (location.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("external data location contains a NUL byte");
  }
  const fs::path path(location);
  if (path.is_absolute() || location.front() == '/' || location.front() == '\\') {
    return absl::InvalidArgumentError(
        absl::StrCat("external data location '", location, "' is absolute"));
  }
  for (const fs::path& part : path) {
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("external data location '", location, "' contains '..'"));
    }
  }
  // Windows-style separators could smuggle ".." past the check above.
  if (location.find("..\\") != std::string::npos || location.find("\\..") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("external data location '", location, "' contains '..'"));
  }
  return absl::OkStatus();
}

ExternalDataResolver::ExternalDataResolver(fs::path base_dir) : base_dir_(std::move(base_dir)) {}

absl::StatusOr<std::shared_ptr<const MappedFile>> ExternalDataResolver::Map(
    const std::string& location) {
  if (auto it = files_.find(location); it != files_.end()) return it->second;
  RETURN_IF_ERROR(ValidateExternalLocation(location));
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(base_dir_.empty() ? fs::path(".") : base_dir_, ec);
  const fs::path resolved = fs::weakly_canonical(base / location, ec);
  if (ec || !fs::exists(resolved, ec)) {
    return absl::NotFoundError(
        absl::StrCat("external data file '", location, "' not found in ", base.string()));
  }
  // Symlinks may point anywhere; the resolved target must stay in the folder.
  const std::string base_str = base.string();
  const std::string resolved_str = resolved.string();
  if (resolved_str.compare(0, base_str.size(), base_str) != 0 ||
      (resolved_str.size() > base_str.size() && base_str.back() != '/' &&
       resolved_str[base_str.size()] != '/')) {
    return absl::InvalidArgumentError(absl::StrCat("external data location '", location,
                                                   "' resolves outside the model's folder"));
  }
  auto mapped = MappedFile::Open(resolved);
  if (!mapped.ok()) {
    return absl::Status(mapped.status().code(), absl::StrCat("external data file '", location,
                                                             "': ", mapped.status().message()));
  }
  files_.emplace(location, *mapped);
  return *mapped;
}

absl::StatusOr<ExternalSlice> ExternalDataResolver::Resolve(const std::string& location,
                                                            uint64_t offset,
                                                            std::optional<uint64_t> length) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, Map(location));
  const uint64_t size = file->bytes().size();
  if (offset > size) {
    return absl::OutOfRangeError(absl::StrCat("external data offset ", offset,
                                              " is beyond the end of '", location, "' (", size,
                                              " bytes)"));
  }
  const uint64_t len = length.value_or(size - offset);
  if (len > size - offset) {
    return absl::OutOfRangeError(absl::StrCat("external data range ", offset, "+", len,
                                              " runs past the end of '", location, "' (", size,
                                              " bytes)"));
  }
  return ExternalSlice{file, file->bytes().subspan(offset, len)};
}

}  // namespace pare
