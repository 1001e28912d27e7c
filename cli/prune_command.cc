// `pare prune MODEL -o OUT`: unstructured, N:M or channel pruning, with a
// JSON report of what each layer lost.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/calibration_flags.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"
#include "prune/prune.h"

namespace pare::cli {

namespace {

namespace fs = std::filesystem;

struct PruneFlags {
  std::string model, output, report, recipe, method = "magnitude", pattern = "unstructured";
  double sparsity = 0.5, damp = 0.01;
  int64_t block_size = 128, channel_multiple = 8, calib_memory_mb = 2048;
  bool global = false, include_head = false, force = false;
  std::string storage = "dense";
  std::vector<std::string> exclude;
  CalibrationFlags calibration;
  int threads = 0;
};

// {"layers": [{"match": "*down_proj*", "sparsity": 0.3, "pattern": "2:4", "method": "wanda"}]}
absl::StatusOr<std::vector<prune::PruneRule>> ReadRecipe(const std::string& path) {
  ASSIGN_OR_RETURN(const std::vector<nlohmann::json> layers, ReadRecipeRules(path));
  std::vector<prune::PruneRule> rules;
  for (const nlohmann::json& layer : layers) {
    prune::PruneRule r;
    r.match = layer["match"];
    for (const auto& [key, value] : layer.items()) {
      if (key == "match") continue;
      if (key == "sparsity" && value.is_number()) {
        r.sparsity = value.get<double>();
      } else if (key == "pattern" && value.is_string()) {
        ASSIGN_OR_RETURN(r.pattern, prune::ParseNmPattern(value.get<std::string>()));
      } else if (key == "method" && value.is_string()) {
        ASSIGN_OR_RETURN(r.method, prune::ParsePruneMethod(value.get<std::string>()));
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": rule '", r.match, "': unknown or mistyped key '", key, "'"));
      }
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

void PrintSummary(const prune::PruneReport& r, const std::string& output) {
  const nlohmann::json j = prune::PruneReportToJson(r);
  const nlohmann::json& t = j["totals"];
  std::cout << absl::StrCat("pruned ", r.layers.size(), " layer(s) by ", r.method, " (", r.pattern,
                            "); skipped ", r.skipped.size(), "\n");
  if (r.method == "channels") {
    std::cout << absl::StrCat("channels: ", t["channels_before"].get<uint64_t>(), " -> ",
                              t["channels_after"].get<uint64_t>(),
                              "; tensors cut: ", r.bytes_before, " -> ", r.bytes_after, " bytes\n");
  } else {
    std::cout << absl::StrFormat(
        "sparsity %.1f%% of %d weights; %d bytes dense, %d as values + bitmask, %d as a "
        "sparse_initializer\n",
        100 * t["sparsity"].get<double>(), t["elements"].get<uint64_t>(), r.bytes_before,
        t["bytes_compact"].get<uint64_t>(), t["bytes_sparse_initializer"].get<uint64_t>());
  }
  std::cout << "wrote " << output << "\n";
}

absl::Status Run(const PruneFlags& f) {
  RETURN_IF_ERROR(CheckOutputPath(f.output, f.force, {f.model}));
  RETURN_IF_ERROR(CheckReportPath(f.report, {f.model, f.output}));
  prune::PruneOptions o;
  ASSIGN_OR_RETURN(o.method, prune::ParsePruneMethod(f.method));
  ASSIGN_OR_RETURN(o.pattern, prune::ParseNmPattern(f.pattern));
  o.sparsity = f.sparsity;
  o.global = f.global;
  o.include_head = f.include_head;
  o.compact_storage = f.storage == "compact";
  o.exclude = f.exclude;
  o.damp = f.damp;
  o.block_size = f.block_size;
  o.channel_multiple = f.channel_multiple;
  o.calibration_memory_bytes = static_cast<uint64_t>(f.calib_memory_mb) << 20;
  o.threads = f.threads;
  if (!f.recipe.empty()) {
    ASSIGN_OR_RETURN(o.rules, ReadRecipe(f.recipe));
  }
  o.progress = StderrProgress("calibrating", "calibrated", "samples");
  o.weight_progress = StderrProgress("pruning", "pruned", "weights");
  // Pruned weights wait beside the output until it is saved.
  const fs::path parent = fs::path(f.output).parent_path();
  o.spill_directory = parent.empty() ? fs::path(".") : parent;
  ASSIGN_OR_RETURN(Model model, LoadModel(f.model));
  std::optional<data::CalibrationData> data;
  if (f.calibration.any()) {
    ASSIGN_OR_RETURN(data, LoadCalibration(f.calibration, model));
  }
  ASSIGN_OR_RETURN(prune::PruneReport report, prune::Prune(model, data ? &*data : nullptr, o));
  RETURN_IF_ERROR(SaveModel(model, f.output));
  if (!f.report.empty()) {
    nlohmann::json j = prune::PruneReportToJson(report);
    j["schema"] = "pare.prune/1";
    j["model"] = f.model;
    j["output"] = f.output;
    RETURN_IF_ERROR(WriteTextFile(f.report, j.dump(2) + "\n"));
  }
  PrintSummary(report, f.output);
  return absl::OkStatus();
}

}  // namespace

void RegisterPrune(CLI::App& app, std::function<int()>& run) {
  auto f = std::make_shared<PruneFlags>();
  CLI::App* cmd = app.add_subcommand(
      "prune",
      "Prune a float model. Unstructured or N:M (2:4, 4:8) sparsity in MatMul, Gemm and Conv "
      "weights by magnitude, wanda (|w| x activation norm) or sparsegpt (Hessian-based, with "
      "weight updates); or channels: whole output channels of Conv/MatMul layers (FFN neurons "
      "in transformers) removed with every tensor that carries them, so the dense model "
      "shrinks. Writes an ONNX model that ONNX Runtime and pare run, and a JSON report.");
  cmd->add_option("model", f->model, "The float .onnx model")->required();
  cmd->add_option("-o,--output", f->output, "Where to write the pruned model")->required();
  cmd->add_option("--method", f->method,
                  "magnitude (default; no data), wanda or sparsegpt (need --calib or "
                  "--calib-tokens), channels (structured; with --calib it ranks channels by "
                  "their activations and refits the layers that read them)")
      ->check(CLI::IsMember({"magnitude", "wanda", "sparsegpt", "channels"}));
  cmd->add_option("--sparsity", f->sparsity,
                  "Fraction of weights (of channels, for channels) to remove, in [0, 1); "
                  "default 0.5")
      ->check(FiniteRange(0, 1));
  cmd->add_option("--pattern", f->pattern,
                  "unstructured (default) or N:M: keep N of every M consecutive weights along "
                  "the input dimension (2:4 is what sparse tensor cores run)");
  cmd->add_flag("--global", f->global,
                "magnitude: one threshold over all layers instead of the same sparsity in each");
  cmd->add_flag("--include-head", f->include_head,
                "Prune the output head (a MatMul producing a graph output) too");
  cmd->add_option("--storage", f->storage,
                  "dense (default): pruned weights stay plain tensors, ready for pare quantize; "
                  "compact: non-zero values plus a bitmask, decoded by standard ONNX operators "
                  "that ONNX Runtime and pare fold at load (a smaller file for a final artifact)")
      ->check(CLI::IsMember({"dense", "compact"}));
  cmd->add_option("--exclude", f->exclude,
                  "Leave dense the nodes whose name or output matches (exact or a glob such as "
                  "'*attn*'); repeatable");
  cmd->add_option("--recipe", f->recipe,
                  "JSON per-layer rules: {\"layers\": [{\"match\": \"*down*\", \"sparsity\": "
                  "0.3, \"pattern\": \"2:4\", \"method\": \"wanda\"}]}; the first match decides "
                  "(sparsity 0: dense)");
  AddCalibrationFlags(*cmd, f->calibration, "wanda, sparsegpt and channels");
  cmd->add_option("--channel-multiple", f->channel_multiple,
                  "channels: keep a multiple of this many channels in each group (default 8, "
                  "what SIMD and blocked conv kernels run fastest; 1: the exact fraction)")
      ->check(IntegerRange(1));
  cmd->add_option("--calib-memory-mb", f->calib_memory_mb,
                  "wanda/sparsegpt: calibration statistics held at once (SparseGPT keeps a K x K "
                  "Hessian per MatMul input); more take extra passes over the samples "
                  "(default 2048)")
      ->check(IntegerRange(1));
  cmd->add_option("--damp", f->damp, "sparsegpt: dampening, a fraction of mean(diag(H)) (0..1)")
      ->check(FiniteRange(0, 1));
  cmd->add_option("--block-size", f->block_size,
                  "sparsegpt: inputs per mask-selection block (default 128)")
      ->check(IntegerRange(1));
  cmd->add_option("--report", f->report, "Write the JSON report (schema pare.prune/1)");
  cmd->add_flag("--force", f->force, "Replace an existing output file");
  cmd->add_option("--threads", f->threads, "Worker threads (0: one per core)")
      ->check(ThreadCount())
      ->default_val(0);
  cmd->callback([f, &run] {
    run = [f] {
      const absl::Status status = Run(*f);
      return status.ok() ? kExitOk : ReportError(status);
    };
  });
}

}  // namespace pare::cli
