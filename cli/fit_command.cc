// `pare fit MODEL -o DIR`: per-layer precision chosen to fit a device (or a
// byte budget) with the least predicted accuracy loss, built through the
// real stages and evaluated.
#include <cmath>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/device_flags.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "convert/fit.h"
#include "core/status_macros.h"

namespace pare::cli {
namespace {

struct FitFlags {
  std::string model, output, candidates = "f16,int8,int4-g32,int4-g128", weight_budget;
  std::string calib_tokens, calib_data, eval_tokens, eval_data, algorithm = "rtn";
  int64_t seq_len = 128, calib_samples = 4, eval_samples = 0;
  std::optional<double> max_kl, min_sqnr;
  bool json = false, force = false;
  int threads = 0;
  DeviceFlags device;
};

absl::Status RunFit(const FitFlags& f) {
  convert::FitOptions o{.account = f.device.account,
                        .calib_tokens = f.calib_tokens,
                        .calib_data = f.calib_data,
                        .seq_len = f.seq_len,
                        .calib_samples = f.calib_samples,
                        .eval_tokens = f.eval_tokens,
                        .eval_data = f.eval_data,
                        .eval_samples = f.eval_samples,
                        .max_kl = f.max_kl,
                        .min_sqnr = f.min_sqnr,
                        .replace = f.force,
                        .threads = f.threads};
  ASSIGN_OR_RETURN(o.device, ResolveDevice(f.device));
  ASSIGN_OR_RETURN(o.candidates, convert::ParsePrecisions(f.candidates));
  ASSIGN_OR_RETURN(o.algorithm, quantize::ParseWeightAlgorithm(f.algorithm));
  if (!f.weight_budget.empty()) {
    ASSIGN_OR_RETURN(o.weight_budget, convert::ParseByteSize(f.weight_budget));
  }
  if (!f.calib_tokens.empty() && !f.calib_data.empty()) {
    return absl::InvalidArgumentError("give --calib-tokens or --calib, not both");
  }
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  o.progress = StderrProgress("measuring", "measured", "steps");
  ASSIGN_OR_RETURN(const convert::FitResult r, convert::Fit(f.model, f.output, o));
  if (f.json) {
    std::cout << convert::FitToJson(r, o.candidates).dump(2) << "\n";
  } else {
    std::cout << convert::FitToText(r, o.candidates);
    std::cout << "wrote " << f.output << " (manifest.json holds the plan, account and metrics)\n";
  }
  if (!r.after.fits) {
    return absl::AbortedError(
        absl::StrCat("the artifact does not fit ", o.device.name, ": use smaller --candidates"));
  }
  if (r.measured_loss && ((f.max_kl && *r.measured_loss > *f.max_kl) ||
                          (f.min_sqnr && *r.measured_loss > std::pow(10.0, -*f.min_sqnr / 10)))) {
    return absl::AbortedError("the loss target was not met within the budget");
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterFit(CLI::App& app, std::function<int()>& run) {
  auto f = std::make_shared<FitFlags>();
  CLI::App* cmd = app.add_subcommand(
      "fit",
      "Make a model fit a device: measure each layer's sensitivity at each candidate "
      "precision, choose one precision per layer that minimises the predicted loss within the "
      "bytes the device leaves for weights (after KV cache, activations and overhead), build "
      "the artifact through the quantize stage, account for its memory, and evaluate it. With "
      "--max-kl or --min-sqnr it re-plans when the measured loss misses the target.");
  cmd->add_option("model", f->model, "The float .onnx model")->required();
  cmd->add_option("-o,--output", f->output, "Artifact folder to write")->required();
  AddDeviceFlags(*cmd, f->device);
  cmd->add_option("--weight-budget", f->weight_budget,
                  "All weights within this size (e.g. 4.5GB) instead of what the device leaves");
  cmd->add_option("--candidates", f->candidates,
                  "Precisions a layer may get (default f16,int8,int4-g32,int4-g128; also f32, "
                  "int4-g64, int4-g16, int2-g16...)");
  cmd->add_option("--algorithm", f->algorithm,
                  "How integer layers are quantized when building: rtn (default), hqq, gptq or "
                  "awq (gptq/awq need --calib-tokens)")
      ->check(CLI::IsMember({"rtn", "hqq", "gptq", "awq"}));
  cmd->add_option("--calib-tokens", f->calib_tokens,
                  "Token file for sensitivity (language models: KL of next-token distributions)");
  cmd->add_option("--calib", f->calib_data,
                  "Sample folder for sensitivity (other models: output noise power); without "
                  "either, each weight's own quantization error is used");
  cmd->add_option("--seq-len", f->seq_len, "Tokens per sample (default 128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--calib-samples", f->calib_samples, "Samples for sensitivity (default 4)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--eval-tokens", f->eval_tokens, "Held-out token file to evaluate the artifact");
  cmd->add_option("--eval-data", f->eval_data, "Held-out sample folder to evaluate the artifact");
  cmd->add_option("--eval-samples", f->eval_samples, "Evaluate on at most this many samples");
  cmd->add_option("--max-kl", f->max_kl, "Target: mean KL at most this (re-plans if missed)");
  cmd->add_option("--min-sqnr", f->min_sqnr, "Target: output SQNR at least this many dB");
  cmd->add_flag("--json", f->json, "Print the plan, accounts and metrics as JSON");
  cmd->add_flag("--force", f->force, "Replace an existing artifact folder");
  cmd->add_option("--threads", f->threads, "Worker threads (0: one per core)");
  cmd->callback([f, &run] {
    run = [f] {
      const absl::Status status = RunFit(*f);
      if (status.code() == absl::StatusCode::kAborted ||
          status.code() == absl::StatusCode::kResourceExhausted) {
        std::cerr << "pare: error: " << status.message() << "\n";
        return static_cast<int>(kExitGateFailed);
      }
      return status.ok() ? kExitOk : ReportError(status);
    };
  });
}

}  // namespace pare::cli
