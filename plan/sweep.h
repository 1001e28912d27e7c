// `pare sweep`: several recipes through the real stages, one artifact and
// one evaluation each, summarised as an accuracy-vs-size report (Markdown
// and an HTML page with the Pareto chart).
//
//   SweepOptions o{.base = fit_options, .recipes = {"int8", "int4-g32", "fit@2.5MB"}};
//   ASSIGN_OR_RETURN(std::vector<nlohmann::json> results, RunSweep("model.onnx", "report/", o));
//
// Each recipe's result is cached under OUT/cache/ by a hash of the model,
// the recipe, the data files and the options, so a re-run computes only
// what changed; --shard i/N runs every N-th recipe, and MergeSweeps joins
// the caches of shards run elsewhere. Recipes may run in parallel
// processes (fork), each with its own threads.
#ifndef PARE_PLAN_SWEEP_H_
#define PARE_PLAN_SWEEP_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "plan/fit.h"

namespace pare::plan {

// f32 | f16 | int8 | int4-gB | int2-gB: every layer at that precision;
// P+int8 (P an N:M pattern such as 2:4): magnitude-pruned, then int8;
// fit@SIZE: the planner with all weights within SIZE (e.g. fit@2.5MB).
struct Recipe {
  std::string name;
  std::vector<Precision> candidates;
  std::optional<uint64_t> weight_budget;
  std::string prune_pattern;
};
absl::StatusOr<Recipe> ParseRecipe(const std::string& name);

struct SweepOptions {
  FitOptions base;  // data, evaluation, device; candidates for fit@ recipes
  std::vector<std::string> recipes;
  int jobs = 1;
  int shard = 0, shards = 1;
  bool keep_artifacts = true;
};

// Runs (or reuses) each recipe of this shard; returns every result found in
// OUT/cache for this model and options (other shards' too), and writes
// OUT/report.md, OUT/report.html and OUT/results.json.
absl::StatusOr<std::vector<nlohmann::json>> RunSweep(const std::filesystem::path& model,
                                                     const std::filesystem::path& out,
                                                     const SweepOptions& options);

// Copies the cached results of `inputs` into `out` and writes its report.
absl::StatusOr<std::vector<nlohmann::json>> MergeSweeps(
    const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& out);

// The report pages from results (sweep_report.cc).
std::string SweepMarkdown(const std::vector<nlohmann::json>& results);
std::string SweepHtml(const std::vector<nlohmann::json>& results);

}  // namespace pare::plan

#endif  // PARE_PLAN_SWEEP_H_
