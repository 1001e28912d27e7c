// `pare fit MODEL -o DIR`: per-layer precision chosen to fit a device (or a
// byte budget) with the least predicted accuracy loss, built through the
// real stages and evaluated.
#include <cmath>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/device_flags.h"
#include "cli/exit_codes.h"
#include "cli/fit_flags.h"
#include "cli/flags.h"
#include "core/status_macros.h"
#include "plan/fit.h"

namespace pare::cli {
namespace {

struct FitFlags {
  std::string model, output, candidates = "f16,int8,int4-g32,int4-g128", weight_budget;
  std::string algorithm = "rtn";
  std::optional<double> max_kl, min_sqnr;
  bool json = false, force = false;
  FitDataFlags data;
  DeviceFlags device;
};

absl::Status RunFit(const FitFlags& f) {
  ASSIGN_OR_RETURN(plan::FitOptions o, BaseFitOptions(f.data, f.device));
  o.max_kl = f.max_kl;
  o.min_sqnr = f.min_sqnr;
  o.replace = f.force;
  ASSIGN_OR_RETURN(o.candidates, plan::ParsePrecisions(f.candidates));
  ASSIGN_OR_RETURN(o.algorithm, quantize::ParseWeightAlgorithm(f.algorithm));
  if (!f.weight_budget.empty()) {
    ASSIGN_OR_RETURN(o.weight_budget, analysis::ParseByteSize(f.weight_budget));
  }
  o.progress = StderrProgress("measuring", "measured", "steps");
  ASSIGN_OR_RETURN(const plan::FitResult r, plan::Fit(f.model, f.output, o));
  if (f.json) {
    std::cout << plan::FitToJson(r, o.candidates).dump(2) << "\n";
  } else {
    std::cout << plan::FitToText(r, o.candidates);
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
                  "All weights within this size (e.g. 4.5GB) instead of what the device leaves")
      ->check(ByteSize());
  cmd->add_option("--candidates", f->candidates,
                  "Precisions a layer may get (default f16,int8,int4-g32,int4-g128; also f32, "
                  "int4-g64, int4-g16, int2-g16...)");
  cmd->add_option("--algorithm", f->algorithm,
                  "How integer layers are quantized when building: rtn (default), hqq, gptq or "
                  "awq (gptq/awq need --calib-tokens)")
      ->check(CLI::IsMember({"rtn", "hqq", "gptq", "awq"}));
  AddFitDataFlags(*cmd, f->data);
  cmd->add_option("--max-kl", f->max_kl, "Target: mean KL at most this (re-plans if missed)")
      ->check(FiniteRange(0, 1e9));
  cmd->add_option("--min-sqnr", f->min_sqnr, "Target: output SQNR at least this many dB")
      ->check(FiniteRange(-1000, 1000));
  cmd->add_flag("--json", f->json, "Print the plan, accounts and metrics as JSON");
  cmd->add_flag("--force", f->force, "Replace an existing artifact folder");
  cmd->callback([f, &run] {
    run = [f] {
      const absl::Status status = RunFit(*f);
      return ReportCheckOrError(status);
    };
  });
}

}  // namespace pare::cli
