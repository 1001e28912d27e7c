// Flag parsing shared by subcommands.
#ifndef PARE_CLI_FLAGS_H_
#define PARE_CLI_FLAGS_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace pare::cli {

// "NAME=VALUE" as a pair; `flag` names the flag in errors.
absl::StatusOr<std::pair<std::string, std::string>> SplitAssignment(const std::string& text,
                                                                    const char* flag);

// Repeated --dim NAME=N flags as a map of symbolic dimension sizes.
absl::StatusOr<std::map<std::string, int64_t>> ParseDims(const std::vector<std::string>& specs);

// Writes `text` to `path` atomically (never a half-written report).
absl::Status WriteTextFile(const std::filesystem::path& path, const std::string& text);

}  // namespace pare::cli

#endif  // PARE_CLI_FLAGS_H_
