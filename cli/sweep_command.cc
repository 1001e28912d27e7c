// `pare sweep MODEL --recipes int8,int4-g32,fit@2.5MB -o DIR`: an
// accuracy-vs-size report over recipes, each built and evaluated through
// the real stages; `--merge DIR...` joins shards.
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/device_flags.h"
#include "cli/exit_codes.h"
#include "cli/fit_flags.h"
#include "cli/flags.h"
#include "core/status_macros.h"
#include "plan/sweep.h"

namespace pare::cli {
namespace {

struct SweepFlags {
  std::string model, output, recipes = "int8,int4-g32,int4-g128", shard = "0/1";
  std::vector<std::string> merge;
  int jobs = 1;
  FitDataFlags data;
  bool drop_artifacts = false;
  DeviceFlags device;
};

absl::Status ParseShard(const std::string& text, plan::SweepOptions& o) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &o.shard) ||
      !absl::SimpleAtoi(parts[1], &o.shards) || o.shards < 1 || o.shard < 0 ||
      o.shard >= o.shards) {
    return absl::InvalidArgumentError("--shard is i/N with 0 <= i < N, e.g. 0/2");
  }
  return absl::OkStatus();
}

absl::Status RunSweepCommand(const SweepFlags& f) {
  std::vector<nlohmann::json> results;
  if (!f.merge.empty()) {
    std::vector<std::filesystem::path> inputs(f.merge.begin(), f.merge.end());
    ASSIGN_OR_RETURN(results, plan::MergeSweeps(inputs, f.output));
  } else {
    if (f.model.empty()) return absl::InvalidArgumentError("give a MODEL (or --merge DIR...)");
    if (f.data.eval_tokens.empty() && f.data.eval_data.empty()) {
      return absl::InvalidArgumentError(
          "a sweep measures loss: give --eval-tokens FILE (language models) or --eval-data DIR");
    }
    plan::SweepOptions o{.jobs = f.jobs, .keep_artifacts = !f.drop_artifacts};
    ASSIGN_OR_RETURN(o.base, BaseFitOptions(f.data, f.device));
    o.recipes = absl::StrSplit(f.recipes, ',', absl::SkipWhitespace());
    RETURN_IF_ERROR(ParseShard(f.shard, o));
    ASSIGN_OR_RETURN(results, plan::RunSweep(f.model, f.output, o));
  }
  std::cout << plan::SweepMarkdown(results) << "\nwrote " << f.output << "/report.md, " << f.output
            << "/report.html, " << f.output << "/results.json\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterSweep(CLI::App& app, std::function<int()>& run) {
  auto f = std::make_shared<SweepFlags>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run recipes through the real stages (one artifact each), evaluate each against the "
      "original, and write an accuracy-vs-size report: report.md, report.html (Pareto chart) "
      "and results.json. Results are cached by a hash of model, recipe, data and options, so "
      "a re-run computes only what changed.");
  cmd->add_option("model", f->model, "The float .onnx model");
  cmd->add_option("-o,--output", f->output, "Report folder")->required();
  cmd->add_option("--recipes", f->recipes,
                  "Comma-separated: f32, f16, int8, int4-g32, int4-g128 (every layer alike), "
                  "2:4+int8 (magnitude 2:4, then int8), fit@SIZE (the planner, all weights "
                  "within SIZE, e.g. fit@2.5MB); default int8,int4-g32,int4-g128");
  AddFitDataFlags(*cmd, f->data);
  cmd->add_option("--jobs", f->jobs, "Recipes run at once, each in its own process (default 1)")
      ->check(IntegerRange(1, kMaxThreads));
  cmd->add_option("--shard", f->shard,
                  "i/N: run only every N-th recipe starting at i (split a sweep across "
                  "machines; join the folders with --merge)");
  cmd->add_option("--merge", f->merge, "Join the results of these sweep folders into -o");
  cmd->add_flag("--drop-artifacts", f->drop_artifacts,
                "Delete each recipe's artifact after measuring it (keep only the numbers)");
  AddDeviceFlags(*cmd, f->device);
  cmd->callback([f, &run] {
    run = [f] {
      const absl::Status status = RunSweepCommand(*f);
      return status.ok() ? kExitOk : ReportError(status);
    };
  });
}

}  // namespace pare::cli
