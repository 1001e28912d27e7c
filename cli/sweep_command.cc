// `pare sweep MODEL --recipes int8,int4-g32,fit@2.5MB -o DIR`: an
// accuracy-vs-size report over recipes, each built and evaluated through
// the real stages; `--merge DIR...` joins shards.
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/device_flags.h"
#include "cli/exit_codes.h"
#include "convert/sweep.h"
#include "core/status_macros.h"

namespace pare::cli {
namespace {

struct SweepFlags {
  std::string model, output, recipes = "int8,int4-g32,int4-g128", shard = "0/1";
  std::string calib_tokens, calib_data, eval_tokens, eval_data;
  std::vector<std::string> merge;
  int64_t seq_len = 128, calib_samples = 4, eval_samples = 0;
  int jobs = 1, threads = 0;
  bool drop_artifacts = false;
  DeviceFlags device;
};

absl::Status ParseShard(const std::string& text, convert::SweepOptions& o) {
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
    ASSIGN_OR_RETURN(results, convert::MergeSweeps(inputs, f.output));
  } else {
    if (f.model.empty()) return absl::InvalidArgumentError("give a MODEL (or --merge DIR...)");
    convert::SweepOptions o{.jobs = f.jobs, .keep_artifacts = !f.drop_artifacts};
    o.base = convert::FitOptions{.account = f.device.account,
                                 .calib_tokens = f.calib_tokens,
                                 .calib_data = f.calib_data,
                                 .seq_len = f.seq_len,
                                 .calib_samples = f.calib_samples,
                                 .eval_tokens = f.eval_tokens,
                                 .eval_data = f.eval_data,
                                 .eval_samples = f.eval_samples,
                                 .threads = f.threads};
    if (f.eval_tokens.empty() && f.eval_data.empty()) {
      return absl::InvalidArgumentError(
          "a sweep measures loss: give --eval-tokens FILE (language models) or --eval-data DIR");
    }
    ASSIGN_OR_RETURN(o.base.device, ResolveDevice(f.device));
    ASSIGN_OR_RETURN(o.base.candidates, convert::ParsePrecisions("f16,int8,int4-g32,int4-g128"));
    o.recipes = absl::StrSplit(f.recipes, ',', absl::SkipWhitespace());
    RETURN_IF_ERROR(ParseShard(f.shard, o));
    o.base.log = [](const std::string& line) { std::cerr << line << "\n"; };
    ASSIGN_OR_RETURN(results, convert::RunSweep(f.model, f.output, o));
  }
  std::cout << convert::SweepMarkdown(results) << "\nwrote " << f.output << "/report.md, "
            << f.output << "/report.html, " << f.output << "/results.json\n";
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
  cmd->add_option("--calib-tokens", f->calib_tokens, "Token file for fit@ recipes' sensitivity");
  cmd->add_option("--calib", f->calib_data, "Sample folder for fit@ recipes' sensitivity");
  cmd->add_option("--eval-tokens", f->eval_tokens, "Held-out token file (language models)");
  cmd->add_option("--eval-data", f->eval_data, "Held-out sample folder (other models)");
  cmd->add_option("--seq-len", f->seq_len, "Tokens per sample (default 128)");
  cmd->add_option("--calib-samples", f->calib_samples, "Samples for sensitivity (default 4)");
  cmd->add_option("--eval-samples", f->eval_samples, "Evaluate on at most this many samples");
  cmd->add_option("--jobs", f->jobs, "Recipes run at once, each in its own process (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--shard", f->shard,
                  "i/N: run only every N-th recipe starting at i (split a sweep across "
                  "machines; join the folders with --merge)");
  cmd->add_option("--merge", f->merge, "Join the results of these sweep folders into -o");
  cmd->add_flag("--drop-artifacts", f->drop_artifacts,
                "Delete each recipe's artifact after measuring it (keep only the numbers)");
  AddDeviceFlags(*cmd, f->device);
  cmd->add_option("--threads", f->threads, "Worker threads per recipe (0: one per core)");
  cmd->callback([f, &run] {
    run = [f] {
      const absl::Status status = RunSweepCommand(*f);
      return status.ok() ? kExitOk : ReportError(status);
    };
  });
}

}  // namespace pare::cli
