// Flag parsing shared by subcommands.
#ifndef PARE_CLI_FLAGS_H_
#define PARE_CLI_FLAGS_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace pare::cli {

// "NAME=VALUE" as a pair; `flag` names the flag in errors.
absl::StatusOr<std::pair<std::string, std::string>> SplitAssignment(const std::string& text,
                                                                    const char* flag);

// Repeated --dim NAME=N flags as a map of symbolic dimension sizes.
absl::StatusOr<std::map<std::string, int64_t>> ParseDims(const std::vector<std::string>& specs);

// A progress callback for long work: a bar on stderr when it is a terminal,
// else a line per tenth of the work (CI logs). `doing` / `done`: "evaluating"
// / "evaluated"; `unit`: "samples".
std::function<void(int64_t, int64_t)> StderrProgress(std::string doing, std::string done,
                                                     std::string unit);

// The rules of a per-layer recipe file, {"layers": [{"match": PATTERN, ...}]}:
// each an object with a string "match"; the command reads its other keys.
absl::StatusOr<std::vector<nlohmann::json>> ReadRecipeRules(const std::string& path);

// Before any work: the output's folder exists and the output does not
// (unless `force`), so a long run does not end in an error.
absl::Status CheckOutputPath(const std::filesystem::path& output, bool force);

// Writes `text` to `path` atomically (never a half-written report).
absl::Status WriteTextFile(const std::filesystem::path& path, const std::string& text);

}  // namespace pare::cli

#endif  // PARE_CLI_FLAGS_H_
