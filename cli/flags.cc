#include "cli/flags.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
    if (!absl::SimpleAtoi(kv.second, &value) || value < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--dim ", d, ": not a size"));
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

absl::Status CheckOutputPath(const std::filesystem::path& output, bool force) {
  const std::filesystem::path parent = output.parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent)) {
    return absl::NotFoundError(
        absl::StrCat(output.string(), ": the folder ", parent.string(), " does not exist"));
  }
  if (std::filesystem::exists(output) && !force) {
    return absl::AlreadyExistsError(
        absl::StrCat(output.string(), ": already exists (pass --force to replace it)"));
  }
  return absl::OkStatus();
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
