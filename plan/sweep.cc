#include "plan/sweep.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "artifacts/artifact.h"
#include "core/atomic_file.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"

#ifndef PARE_VERSION
#define PARE_VERSION "unknown"
#endif

namespace pare::plan {

using analysis::AccountMemory;
using analysis::MemoryAccount;
using analysis::ParseByteSize;
using artifacts::Sha256File;
using artifacts::Sha256Text;

namespace {

namespace fs = std::filesystem;

std::string SafeName(const std::string& recipe) {
  std::string s = recipe;
  for (char& c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  }
  return s;
}

// What decides a result: the model's bytes (its .onnx hashed, external
// data by size and time), the data files, the options, the recipe, pare.
absl::StatusOr<std::string> SweepFingerprint(const fs::path& model, const SweepOptions& o) {
  std::string material = absl::StrCat("pare ", PARE_VERSION, "\n");
  ASSIGN_OR_RETURN(const std::string model_sha, Sha256File(model));
  absl::StrAppend(&material, "model ", model_sha, "\n");
  std::error_code ec;
  for (const auto& entry :
       fs::directory_iterator(model.has_parent_path() ? model.parent_path() : fs::path("."), ec)) {
    const std::string name = entry.path().filename().string();
    if (!absl::StartsWith(name, model.filename().string()) || entry.path() == model) continue;
    absl::StrAppend(&material, "data ", name, " ", entry.file_size(ec), " ",
                    entry.last_write_time(ec).time_since_epoch().count(), "\n");
  }
  const FitOptions& b = o.base;
  for (const fs::path& p : {b.calib_tokens, b.calib_data, b.eval_tokens, b.eval_data}) {
    if (p.empty() || fs::is_directory(p, ec)) {
      absl::StrAppend(&material, "path ", p.string(), "\n");
      continue;
    }
    ASSIGN_OR_RETURN(const std::string sha, Sha256File(p));
    absl::StrAppend(&material, "file ", sha, "\n");
  }
  absl::StrAppend(&material, "options ", b.seq_len, " ", b.calib_samples, " ", b.eval_samples, " ",
                  quantize::WeightAlgorithmName(b.algorithm), " ", b.device.name, " ",
                  b.account.context, " ", b.account.batch, "\n");
  for (const Precision& p : b.candidates) absl::StrAppend(&material, p.name, ",");
  return Sha256Text(material);
}

nlohmann::json ResultJson(const std::string& recipe, const FitResult& r, double seconds) {
  nlohmann::json j = {{"recipe", recipe},
                      {"weight_bytes", r.after.weight_bytes},
                      {"artifact_bytes", r.artifact_bytes},
                      {"memory_total_bytes", r.after.total_bytes},
                      {"fits", r.after.fits},
                      {"device", r.after.device.name},
                      {"seconds", seconds}};
  if (r.measured_loss) j["loss"] = *r.measured_loss;
  if (r.metrics.contains("lm") && r.metrics["lm"].is_object()) {
    const nlohmann::json& lm = r.metrics["lm"];
    j["loss_name"] = "mean KL";
    j["ppl"] = lm.value("candidate_ppl", 0.0);
    j["reference_ppl"] = lm.value("reference_ppl", 0.0);
  } else if (r.measured_loss) {
    j["loss_name"] = "noise power";
    j["sqnr_db"] = -10 * std::log10(std::max(*r.measured_loss, 1e-30));
  }
  return j;
}

// A recipe to run: its name, its cache key, and the sweep it belongs to.
struct Job {
  std::string name, key, sweep;
};

absl::Status RunRecipe(const fs::path& model, const fs::path& out, const SweepOptions& o,
                       const Job& job) {
  const std::string& name = job.name;
  ASSIGN_OR_RETURN(const Recipe recipe, ParseRecipe(name));
  FitOptions f = o.base;
  f.candidates = recipe.candidates;
  f.weight_budget =
      recipe.weight_budget ? recipe.weight_budget : std::optional<uint64_t>(uint64_t{1} << 62);
  f.prune_pattern = recipe.prune_pattern;
  f.replace = true;
  f.sensitivity_cache =
      out / "cache" / absl::StrCat("sensitivity-", job.sweep.substr(0, 24), ".json");
  f.max_kl.reset();
  f.min_sqnr.reset();
  const fs::path artifact = out / "artifacts" / SafeName(name);
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const FitResult r, Fit(model, artifact, f));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json j = ResultJson(name, r, seconds);
  j["key"] = job.key;
  j["sweep"] = job.sweep;  // a report never mixes models or options
  j["artifact"] = artifact.string();
  if (!o.keep_artifacts) {
    std::error_code ec;
    fs::remove_all(artifact, ec);
    j.erase("artifact");
  }
  return WriteFileAtomically(out / "cache" / absl::StrCat(job.key, ".json"), j.dump(2) + "\n");
}

// Runs `todo` (recipe, key) with up to `jobs` child processes.
absl::Status RunAll(const fs::path& model, const fs::path& out, const SweepOptions& o,
                    const std::vector<Job>& todo) {
  if (o.jobs <= 1) {
    for (const Job& job : todo) {
      if (o.base.log) o.base.log(absl::StrCat("== recipe ", job.name));
      RETURN_IF_ERROR(RunRecipe(model, out, o, job));
    }
    return absl::OkStatus();
  }
  std::map<pid_t, std::string> running;
  std::vector<std::string> failed;
  auto reap = [&] {
    int status = 0;
    const pid_t pid = ::wait(&status);
    if (pid <= 0) return;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed.push_back(running[pid]);
    running.erase(pid);
  };
  for (const Job& job : todo) {
    const std::string& name = job.name;
    while (static_cast<int>(running.size()) >= o.jobs) reap();
    if (o.base.log) o.base.log(absl::StrCat("== recipe ", name, " (process)"));
    const pid_t pid = ::fork();
    if (pid < 0) return absl::UnavailableError("fork failed");
    if (pid == 0) {
      const absl::Status s = RunRecipe(model, out, o, job);
      if (!s.ok())
        std::fprintf(stderr, "pare: recipe %s: %s\n", name.c_str(),
                     std::string(s.message()).c_str());
      std::_Exit(s.ok() ? 0 : 1);
    }
    running[pid] = name;
  }
  while (!running.empty()) reap();
  if (!failed.empty()) {
    return absl::InternalError(absl::StrCat("recipe(s) failed: ", absl::StrJoin(failed, ", ")));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<nlohmann::json>> ReadResults(const fs::path& out,
                                                        const std::string& model_key) {
  std::vector<nlohmann::json> results;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out / "cache", ec)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("recipe")) continue;
    if (!model_key.empty() && j.value("sweep", "") != model_key) continue;
    results.push_back(std::move(j));
  }
  std::sort(results.begin(), results.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("weight_bytes", uint64_t{0}) > b.value("weight_bytes", uint64_t{0});
  });
  return results;
}

absl::Status WriteReports(const fs::path& out, const std::vector<nlohmann::json>& results) {
  RETURN_IF_ERROR(
      WriteFileAtomically(out / "results.json", nlohmann::json(results).dump(2) + "\n"));
  RETURN_IF_ERROR(WriteFileAtomically(out / "report.md", SweepMarkdown(results)));
  return WriteFileAtomically(out / "report.html", SweepHtml(results));
}

}  // namespace

absl::StatusOr<Recipe> ParseRecipe(const std::string& name) {
  Recipe r{.name = name};
  absl::string_view rest = name;
  if (absl::ConsumePrefix(&rest, "fit@")) {
    ASSIGN_OR_RETURN(r.weight_budget, ParseByteSize(std::string(rest)));
    ASSIGN_OR_RETURN(r.candidates, ParsePrecisions("f16,int8,int4-g32,int4-g128"));
    return r;
  }
  if (const size_t plus = name.find('+'); plus != std::string::npos) {
    r.prune_pattern = name.substr(0, plus);
    if (r.prune_pattern.find(':') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("recipe '", name, "': before '+' comes an N:M pattern such as 2:4"));
    }
    rest = absl::string_view(name).substr(plus + 1);
  }
  ASSIGN_OR_RETURN(const Precision p, ParsePrecision(std::string(rest)));
  r.candidates = {p};
  return r;
}

absl::StatusOr<std::vector<nlohmann::json>> RunSweep(const fs::path& model, const fs::path& out,
                                                     const SweepOptions& o) {
  if (o.recipes.empty()) return absl::InvalidArgumentError("no recipes given");
  for (const std::string& name : o.recipes) RETURN_IF_ERROR(ParseRecipe(name).status());
  std::error_code ec;
  fs::create_directories(out / "cache", ec);
  if (!ec) fs::create_directories(out / "artifacts", ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot create ", out.string(), ": ", ec.message()));
  ASSIGN_OR_RETURN(const std::string sweep_key, SweepFingerprint(model, o));
  std::vector<Job> todo;
  for (size_t i = 0; i < o.recipes.size(); ++i) {
    if (static_cast<int>(i % o.shards) != o.shard) continue;
    const std::string key = Sha256Text(sweep_key + "\n" + o.recipes[i]).substr(0, 24);
    if (fs::exists(out / "cache" / absl::StrCat(key, ".json"), ec)) {
      if (o.base.log) o.base.log(absl::StrCat("== recipe ", o.recipes[i], ": cached"));
      continue;
    }
    todo.push_back({o.recipes[i], key, sweep_key});
  }
  RETURN_IF_ERROR(RunAll(model, out, o, todo));
  {
    // The original's own row, cached like a recipe so merged shards keep it.
    ASSIGN_OR_RETURN(const Model m, LoadModel(model));
    ASSIGN_OR_RETURN(const MemoryAccount a, AccountMemory(m, o.base.device, o.base.account));
    const nlohmann::json original = {{"recipe", "original"},
                                     {"weight_bytes", a.weight_bytes},
                                     {"memory_total_bytes", a.total_bytes},
                                     {"fits", a.fits},
                                     {"device", a.device.name},
                                     {"loss", 0.0},
                                     {"reference", true},
                                     {"sweep", sweep_key}};
    RETURN_IF_ERROR(WriteFileAtomically(
        out / "cache" / absl::StrCat("original-", sweep_key.substr(0, 24), ".json"),
        original.dump(2) + "\n"));
  }
  ASSIGN_OR_RETURN(std::vector<nlohmann::json> results, ReadResults(out, sweep_key));
  RETURN_IF_ERROR(WriteReports(out, results));
  return results;
}

absl::StatusOr<std::vector<nlohmann::json>> MergeSweeps(const std::vector<fs::path>& inputs,
                                                        const fs::path& out) {
  std::error_code ec;
  fs::create_directories(out / "cache", ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot create ", out.string(), ": ", ec.message()));
  // Results are files named by their keys: the same result from two shards
  // (the original's row) lands once.
  for (const fs::path& in : inputs) {
    ASSIGN_OR_RETURN(const std::vector<nlohmann::json> part, ReadResults(in, ""));
    if (part.empty()) {
      return absl::NotFoundError(absl::StrCat(in.string(), ": no sweep results in cache/"));
    }
    for (const auto& entry : fs::directory_iterator(in / "cache", ec)) {
      if (entry.path().extension() != ".json") continue;
      fs::copy_file(entry.path(), out / "cache" / entry.path().filename(),
                    fs::copy_options::overwrite_existing, ec);
      if (ec) {
        return absl::UnavailableError(
            absl::StrCat("cannot copy ", entry.path().string(), ": ", ec.message()));
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<nlohmann::json> results, ReadResults(out, ""));
  RETURN_IF_ERROR(WriteReports(out, results));
  return results;
}

}  // namespace pare::plan
