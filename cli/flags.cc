#include "cli/flags.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "analysis/device.h"
#include "core/atomic_file.h"
#include "core/status_macros.h"

namespace pare::cli {

absl::StatusOr<std::pair<std::string, std::string>> SplitAssignment(const std::string& text,
                                                                    const char* flag) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " expects NAME=VALUE, got '", text, "'"));
  }
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

absl::StatusOr<std::map<std::string, int64_t>> ParseDims(const std::vector<std::string>& specs) {
  std::map<std::string, int64_t> dims;
  for (const std::string& d : specs) {
    ASSIGN_OR_RETURN(auto kv, SplitAssignment(d, "--dim"));
    int64_t value = 0;
    if (!absl::SimpleAtoi(kv.second, &value) || value < 0 || value > kMaxDim) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dim ", d, ": not a size from 0 to ", kMaxDim));
    }
    dims[kv.first] = value;
  }
  return dims;
}

std::function<void(int64_t, int64_t)> StderrProgress(std::string doing, std::string done,
                                                     std::string unit) {
  const bool tty = isatty(STDERR_FILENO);
  return [tty, doing, done, unit](int64_t n, int64_t total) {
    if (total <= 0) return;
    if (tty) {
      const int width = 30, filled = static_cast<int>(width * n / total);
      std::fprintf(stderr, "\r  %s [%s%s] %lld/%lld %s", doing.c_str(),
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   static_cast<long long>(n), static_cast<long long>(total), unit.c_str());
      if (n == total) std::fputc('\n', stderr);
    } else if (n == total || n * 10 / total != (n - 1) * 10 / total) {
      std::fprintf(stderr, "  %s %lld/%lld %s\n", done.c_str(), static_cast<long long>(n),
                   static_cast<long long>(total), unit.c_str());
    }
  };
}

absl::Status WriteTextFile(const std::filesystem::path& path, const std::string& text) {
  return WriteFileAtomically(path, text);
}

namespace {

namespace fs = std::filesystem;

// Where an output may go at all: its folder exists, and if it exists it is
// a regular file and none of the inputs. Files are written beside the
// destination and renamed over it, so a device (/dev/full, /dev/null)
// would be replaced by a file rather than written to.
absl::Status CheckWritableFile(const fs::path& output, const std::vector<fs::path>& inputs) {
  const fs::path parent = output.parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    return absl::NotFoundError(
        absl::StrCat(output.string(), ": the folder ", parent.string(), " does not exist"));
  }
  const fs::file_status status = fs::status(output, ec);
  if (!fs::exists(status)) return absl::OkStatus();
  if (fs::is_directory(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat(output.string(), ": is a folder; name the file to write"));
  }
  if (!fs::is_regular_file(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat(output.string(),
                     ": not a regular file (pare writes a new file and renames it into "
                     "place, which would replace the device or pipe)"));
  }
  for (const fs::path& input : inputs) {
    if (!input.empty() && fs::equivalent(output, input, ec)) {
      return absl::InvalidArgumentError(absl::StrCat(output.string(), ": is the input ",
                                                     input.string(), "; write to another file"));
    }
  }
  return absl::OkStatus();
}

// CLI11 validators return "" for a good value, else the message.
CLI::Validator Check(std::function<std::string(const std::string&)> check, std::string what) {
  return CLI::Validator([check](std::string& value) { return check(value); }, std::move(what));
}

}  // namespace

CLI::Validator FiniteRange(double lo, double hi) {
  return Check(
      [lo, hi](const std::string& text) -> std::string {
        double value = 0;
        if (!absl::SimpleAtod(text, &value) || !std::isfinite(value) || value < lo || value > hi) {
          return absl::StrCat("'", text, "' is not a number from ", lo, " to ", hi);
        }
        return "";
      },
      absl::StrCat("NUMBER in [", lo, ", ", hi, "]"));
}

CLI::Validator IntegerRange(int64_t lo, int64_t hi) {
  const std::string range = hi == std::numeric_limits<int64_t>::max()
                                ? absl::StrCat("at least ", lo)
                                : absl::StrCat("from ", lo, " to ", hi);
  return Check(
      [lo, hi, range](const std::string& text) -> std::string {
        int64_t value = 0;
        if (!absl::SimpleAtoi(text, &value) || value < lo || value > hi) {
          return absl::StrCat("'", text, "' is not a whole number ", range);
        }
        return "";
      },
      absl::StrCat("INT ", range));
}

CLI::Validator ThreadCount() {
  return Check(
      [](const std::string& text) -> std::string {
        int value = 0;
        if (!absl::SimpleAtoi(text, &value) || value < 0 || value > kMaxThreads) {
          return absl::StrCat("'", text, "' is not a thread count from 0 (one per core) to ",
                              kMaxThreads);
        }
        return "";
      },
      absl::StrCat("0..", kMaxThreads));
}

CLI::Validator DimAssignment() {
  return Check(
      [](const std::string& text) -> std::string {
        const size_t eq = text.find('=');
        int64_t value = 0;
        if (eq == std::string::npos || eq == 0 || !absl::SimpleAtoi(text.substr(eq + 1), &value) ||
            value < 0 || value > kMaxDim) {
          return absl::StrCat("'", text, "' is not NAME=N with N from 0 to ", kMaxDim);
        }
        return "";
      },
      "NAME=N");
}

CLI::Validator ByteSize() {
  return Check(
      [](const std::string& text) -> std::string {
        absl::StatusOr<uint64_t> bytes = analysis::ParseByteSize(text);
        if (!bytes.ok()) return std::string(bytes.status().message());
        return *bytes == 0 ? "the size must be more than 0 bytes" : "";
      },
      "SIZE");
}

absl::Status CheckOutputPath(const fs::path& output, bool force,
                             const std::vector<fs::path>& inputs) {
  RETURN_IF_ERROR(CheckWritableFile(output, inputs));
  if (fs::exists(output) && !force) {
    return absl::AlreadyExistsError(
        absl::StrCat(output.string(), ": already exists (pass --force to replace it)"));
  }
  return absl::OkStatus();
}

absl::Status CheckReportPath(const fs::path& report, const std::vector<fs::path>& inputs) {
  if (report.empty()) return absl::OkStatus();
  return CheckWritableFile(report, inputs);
}

absl::StatusOr<std::vector<nlohmann::json>> ReadRecipeRules(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the recipe"));
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("layers") || !j["layers"].is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a recipe (a JSON object with a \"layers\" array)"));
  }
  std::vector<nlohmann::json> rules;
  for (const nlohmann::json& layer : j["layers"]) {
    if (!layer.is_object() || !layer.contains("match") || !layer["match"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": each layer rule needs a \"match\" pattern"));
    }
    rules.push_back(layer);
  }
  return rules;
}

}  // namespace pare::cli
