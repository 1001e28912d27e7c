// Flag parsing shared by subcommands.
#ifndef PARE_CLI_FLAGS_H_
#define PARE_CLI_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
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

// Option checks that run while the command line is parsed, before any model
// is read. CLI11's Range lets NaN through (every comparison with it is
// false); FiniteRange does not.
CLI::Validator FiniteRange(double lo, double hi);
// A whole number from lo to hi (no upper bound by default).
CLI::Validator IntegerRange(int64_t lo, int64_t hi = std::numeric_limits<int64_t>::max());
// --threads: 0 (one per core) to kMaxThreads; more would only exhaust memory
// with thread stacks.
inline constexpr int kMaxThreads = 1024;
CLI::Validator ThreadCount();
// --dim NAME=N with 0 <= N <= kMaxDim.
inline constexpr int64_t kMaxDim = int64_t{1} << 31;
CLI::Validator DimAssignment();
// A size such as 8GB, 6GiB or 1000000 (analysis::ParseByteSize).
CLI::Validator ByteSize();

// Before any work: `output` can take the file this command writes. Its
// folder exists; it is not a folder, a device or any of `inputs` (replacing
// an input would destroy it before it is read, and --force must never do
// that); it does not exist unless `force`. So a long run cannot end in an
// error about its output, or clobber what it reads.
absl::Status CheckOutputPath(const std::filesystem::path& output, bool force,
                             const std::vector<std::filesystem::path>& inputs = {});

// The same for a report (--report, --json FILE, ...), which is replaced
// without --force like any log; an empty path (no report) passes.
absl::Status CheckReportPath(const std::filesystem::path& report,
                             const std::vector<std::filesystem::path>& inputs = {});

// Writes `text` to `path` atomically (never a half-written report).
absl::Status WriteTextFile(const std::filesystem::path& path, const std::string& text);

}  // namespace pare::cli

#endif  // PARE_CLI_FLAGS_H_
