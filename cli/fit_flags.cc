#include "cli/fit_flags.h"

#include <iostream>

#include "cli/flags.h"
#include "core/status_macros.h"

namespace pare::cli {

void AddFitDataFlags(CLI::App& cmd, FitDataFlags& f) {
  const std::string group = "Data";
  cmd.add_option("--calib-tokens", f.calib_tokens,
                 "Token file for sensitivity (language models: KL of next-token distributions)")
      ->group(group);
  cmd.add_option("--calib", f.calib_data,
                 "Sample folder for sensitivity (other models: output noise power); without "
                 "either, each weight's own quantization error is used")
      ->group(group);
  cmd.add_option("--seq-len", f.seq_len, "Tokens per sample (default 128)")
      ->check(IntegerRange(2, int64_t{1} << 20))
      ->group(group);
  cmd.add_option("--calib-samples", f.calib_samples, "Samples for sensitivity (default 4)")
      ->check(IntegerRange(1, int64_t{1} << 24))
      ->group(group);
  cmd.add_option("--eval-tokens", f.eval_tokens, "Held-out token file to evaluate artifacts")
      ->group(group);
  cmd.add_option("--eval-data", f.eval_data, "Held-out sample folder to evaluate artifacts")
      ->group(group);
  cmd.add_option("--eval-samples", f.eval_samples, "Evaluate on at most this many samples")
      ->check(IntegerRange(0))
      ->group(group);
  cmd.add_option("--threads", f.threads, "Worker threads (0: one per core)")->check(ThreadCount());
}

absl::StatusOr<plan::FitOptions> BaseFitOptions(const FitDataFlags& data,
                                                const DeviceFlags& device) {
  if (!data.calib_tokens.empty() && !data.calib_data.empty()) {
    return absl::InvalidArgumentError("give --calib-tokens or --calib, not both");
  }
  if (!data.eval_tokens.empty() && !data.eval_data.empty()) {
    return absl::InvalidArgumentError("give --eval-tokens or --eval-data, not both");
  }
  plan::FitOptions o{.account = device.account,
                     .calib_tokens = data.calib_tokens,
                     .calib_data = data.calib_data,
                     .seq_len = data.seq_len,
                     .calib_samples = data.calib_samples,
                     .eval_tokens = data.eval_tokens,
                     .eval_data = data.eval_data,
                     .eval_samples = data.eval_samples,
                     .threads = data.threads};
  ASSIGN_OR_RETURN(o.device, ResolveDevice(device));
  ASSIGN_OR_RETURN(o.candidates, plan::ParsePrecisions("f16,int8,int4-g32,int4-g128"));
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  return o;
}

}  // namespace pare::cli
