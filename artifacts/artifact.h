// A deployable artifact: a folder holding the model (model.onnx plus its
// external data, tensors aligned for mmap) and manifest.json, which lists
// every file with its size and SHA-256, the recipe that made it, pare's
// version, the memory account and, when measured, the evaluate metrics.
//
//   ASSIGN_OR_RETURN(std::vector<ArtifactFile> files,
//                    WriteArtifact(model, "out/llm-m4", manifest, /*replace=*/false));
//   RETURN_IF_ERROR(VerifyArtifact("out/llm-m4").status());  // hashes, then a load
//
// The folder is written under a temporary name beside the destination and
// renamed into place when complete: a failure leaves nothing behind, and an
// existing folder is replaced only when asked.
#ifndef PARE_ARTIFACTS_ARTIFACT_H_
#define PARE_ARTIFACTS_ARTIFACT_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "nlohmann/json.hpp"

namespace pare::artifacts {

inline constexpr char kModelFile[] = "model.onnx";
inline constexpr char kManifestFile[] = "manifest.json";

struct ArtifactFile {
  std::string path;  // relative to the folder
  uint64_t bytes = 0;
  std::string sha256;
};

// Whether `dir` can take an artifact folder, checked before any work: its
// parent folder exists; if `dir` exists, `replace` is set and it is an
// artifact (it holds manifest.json) or an empty folder, never a file or a
// folder of something else (so `-o ~ --force` cannot remove a home folder,
// nor `-o model.onnx --force` the model); none of `inputs` lies inside it.
absl::Status CheckArtifactDestination(const std::filesystem::path& dir, bool replace,
                                      const std::vector<std::filesystem::path>& inputs = {});

// `manifest` carries what the caller knows (recipe, memory account,
// metrics); "files", "format" and "pare_version" are filled in here.
absl::StatusOr<std::vector<ArtifactFile>> WriteArtifact(const Model& model,
                                                        const std::filesystem::path& dir,
                                                        nlohmann::json manifest, bool replace);

// Re-reads manifest.json, checks that every file it lists exists with its
// size and SHA-256 (an error names the first file that differs), then loads
// the model and plans it with pare's runtime (every operator supported).
// Returns the manifest.
absl::StatusOr<nlohmann::json> VerifyArtifact(const std::filesystem::path& dir);

// Hex SHA-256 of a file's contents, read in chunks.
absl::StatusOr<std::string> Sha256File(const std::filesystem::path& path);
// Hex SHA-256 of bytes in memory (cache keys).
std::string Sha256Text(std::string_view text);

}  // namespace pare::artifacts

#endif  // PARE_ARTIFACTS_ARTIFACT_H_
