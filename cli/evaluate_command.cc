// `pare evaluate CANDIDATE... --reference MODEL`: accuracy lost against the
// original model, where it was lost, and CI gates on it.
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/evaluate_gguf.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "core/status_macros.h"
#include "evaluate/evaluate.h"
#include "evaluate/report.h"
#include "plan/sensitivity.h"

namespace pare::cli {
namespace {

struct EvaluateFlags {
  std::vector<std::string> candidates;
  std::string reference, reference_outputs, save_reference_outputs;
  std::string data, tokens, labels;
  int64_t random = 0, seq_len = 0, max_samples = 0, per_layer_samples = 1;
  uint64_t seed = 1;
  std::vector<std::string> dims;
  std::string task = "tensor";
  bool per_layer = false, quiet = false, sensitivity = false;
  std::string gguf_arithmetic = "llama.cpp";
  int64_t sensitivity_samples = 4;
  int top_layers = 10, threads = 0;
  std::string json, markdown, html, junit;
  std::optional<double> max_kl, min_sqnr, min_cosine, min_top1, max_ppl_increase;
};

absl::StatusOr<evaluate::EvaluateOptions> ToOptions(const EvaluateFlags& f) {
  evaluate::EvaluateOptions o;
  o.progress = StderrProgress("evaluating", "evaluated", "samples");
  o.reference = f.reference;
  o.reference_outputs = f.reference_outputs;
  for (const std::string& c : f.candidates) o.candidates.push_back(c);
  o.data = f.data;
  o.random_samples = f.random;
  o.seed = f.seed;
  ASSIGN_OR_RETURN(o.dims, ParseDims(f.dims));
  o.tokens = f.tokens;
  o.seq_len = f.seq_len;
  o.max_samples = f.max_samples;
  o.task = f.task == "lm"         ? evaluate::Task::kLm
           : f.task == "classify" ? evaluate::Task::kClassify
                                  : evaluate::Task::kTensor;
  o.labels = f.labels;
  o.per_layer = f.per_layer;
  o.per_layer_samples = f.per_layer_samples;
  if (f.sensitivity) {
    o.sensitivity = [samples = f.sensitivity_samples, threads = f.threads, progress = o.progress](
                        const Model& reference, const data::SampleSource& source) {
      return plan::QuantizationSensitivity(reference, source,
                                           {.calibration_samples = samples,
                                            .evaluation_samples = samples,
                                            .threads = threads,
                                            .progress = progress});
    };
  }
  o.gates = {f.max_kl, f.min_sqnr, f.min_cosine, f.min_top1, f.max_ppl_increase};
  o.threads = f.threads;
  o.save_reference_outputs = f.save_reference_outputs;
  return o;
}

absl::Status WriteReports(const EvaluateFlags& f, const evaluate::EvaluateReport& report) {
  if (!f.json.empty()) {
    RETURN_IF_ERROR(WriteTextFile(f.json, evaluate::ReportToJson(report).dump(2) + "\n"));
  }
  if (!f.markdown.empty()) {
    RETURN_IF_ERROR(WriteTextFile(f.markdown, evaluate::ReportToMarkdown(report)));
  }
  if (!f.html.empty()) RETURN_IF_ERROR(WriteTextFile(f.html, evaluate::ReportToHtml(report)));
  if (!f.junit.empty()) RETURN_IF_ERROR(WriteTextFile(f.junit, evaluate::ReportToJunit(report)));
  return absl::OkStatus();
}

// Every report can be written, checked before the models are read.
absl::Status CheckReportPaths(const EvaluateFlags& f) {
  std::vector<std::filesystem::path> inputs = {f.reference};
  for (const std::string& c : f.candidates) inputs.push_back(c);
  for (const std::string* report : {&f.json, &f.markdown, &f.html, &f.junit}) {
    RETURN_IF_ERROR(CheckReportPath(*report, inputs));
  }
  if (!f.save_reference_outputs.empty()) {
    const std::filesystem::path parent =
        std::filesystem::path(f.save_reference_outputs).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent)) {
      return absl::NotFoundError(absl::StrCat(f.save_reference_outputs, ": the folder ",
                                              parent.string(), " does not exist"));
    }
  }
  return absl::OkStatus();
}

int Run(const EvaluateFlags& f) {
  if (absl::Status s = CheckReportPaths(f); !s.ok()) return ReportError(s);
  auto options = ToOptions(f);
  if (!options.ok()) return ReportError(options.status());
  auto stand_ins = PrepareGgufCandidates(*options, f.gguf_arithmetic == "llama.cpp");
  if (!stand_ins.ok()) return ReportError(stand_ins.status());
  auto report = evaluate::Evaluate(*options);
  if (!report.ok()) return ReportError(report.status());
  if (*stand_ins) (*stand_ins)->RestoreNames(*report);
  if (!f.quiet) std::cout << evaluate::ReportToText(*report, f.top_layers);
  if (absl::Status s = WriteReports(f, *report); !s.ok()) return ReportError(s);
  if (!report->passed()) {
    std::cerr << "pare: a gate failed (see the report)\n";
    return kExitGateFailed;
  }
  return kExitOk;
}

// Where the report goes, and the gates that fail a CI job.
void AddReportAndGateFlags(CLI::App* cmd, EvaluateFlags& f) {
  cmd->add_option("--json", f.json, "Write the report as JSON (schema pare.evaluate/1)");
  cmd->add_option("--markdown", f.markdown, "Write the report as Markdown");
  cmd->add_option("--html", f.html, "Write a self-contained HTML report with charts");
  cmd->add_option("--junit", f.junit, "Write JUnit XML, one test per gate");
  cmd->add_option("--max-kl", f.max_kl, "Gate: mean KL divergence at most X (lm)")
      ->check(FiniteRange(0, 1e9));
  cmd->add_option("--min-sqnr", f.min_sqnr, "Gate: every output's SQNR at least X dB")
      ->check(FiniteRange(-1000, 1000));
  cmd->add_option("--min-cosine", f.min_cosine, "Gate: every output's cosine similarity >= X")
      ->check(FiniteRange(-1, 1));
  cmd->add_option("--min-top1", f.min_top1, "Gate: top-1 agreement at least X (0..1)")
      ->check(FiniteRange(0, 1));
  cmd->add_option("--max-ppl-increase", f.max_ppl_increase,
                  "Gate: perplexity at most (1 + X) times the reference's (lm)")
      ->check(FiniteRange(0, 1e9));
}

}  // namespace

void RegisterEvaluate(CLI::App& app, std::function<int()>& run) {
  auto f = std::make_shared<EvaluateFlags>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate",
      "Measure the accuracy a compressed model lost against the original on the same inputs, "
      "name the layers that lost it (--per-layer), and fail a CI job when a threshold is "
      "crossed. Exit code 0: every gate held; 1: a gate failed; 2 and above: an error "
      "(docs/exit-codes.md).");
  cmd->add_option("candidates", f->candidates,
                  "Compressed model(s) to compare; several give one comparison table");
  auto* reference = cmd->add_option("--reference", f->reference, "The original (float) model");
  cmd->add_option("--gguf-arithmetic", f->gguf_arithmetic,
                  "GGUF candidates: llama.cpp (default: activations rounded to 8 bits before each "
                  "product with a quantized weight, as llama.cpp's CPU kernels do, so the KL is "
                  "llama.cpp's) or weights (the weights' error alone)")
      ->check(CLI::IsMember({"llama.cpp", "weights"}));
  cmd->add_option("--reference-outputs", f->reference_outputs,
                  "Instead of --reference: its outputs stored by --save-reference-outputs (or "
                  "output_N.pb files in the ONNX test layout)")
      ->excludes(reference);
  cmd->add_option("--save-reference-outputs", f->save_reference_outputs,
                  "Write each sample's inputs and reference outputs here (a new folder, ONNX "
                  "test layout), so later runs need only --reference-outputs");
  auto* data = cmd->add_option(
      "--data", f->data, "Inputs: test_data_set_*/input_N.pb (or NAME.npy / NAME.pb) folders");
  auto* random = cmd->add_option("--random", f->random, "Inputs: N seeded random samples")
                     ->check(IntegerRange(1, int64_t{1} << 24));
  cmd->add_option("--seed", f->seed, "Seed of --random (sample i uses seed + i)")->default_val(1);
  cmd->add_option("--dim", f->dims, "NAME=N for a symbolic dimension of --random inputs")
      ->check(DimAssignment());
  auto* tokens = cmd->add_option("--tokens", f->tokens,
                                 "lm inputs: token ids (whitespace-separated text, .npy, or "
                                 "int32 .bin), cut into --seq-len chunks");
  cmd->add_option("--seq-len", f->seq_len, "Tokens per lm sample")
      ->check(IntegerRange(2, int64_t{1} << 20))
      ->needs(tokens);
  data->excludes(random)->excludes(tokens);
  random->excludes(tokens);
  cmd->add_option("--max-samples", f->max_samples, "Evaluate at most N samples (0: all)")
      ->check(IntegerRange(0));
  cmd->add_option("--task", f->task,
                  "tensor: error metrics on every output; classify: plus top-1/top-5 "
                  "agreement along the last axis; lm: plus perplexity, KL divergence and "
                  "token agreement on the logits")
      ->check(CLI::IsMember({"tensor", "classify", "lm"}))
      ->default_val("tensor");
  cmd->add_option("--labels", f->labels,
                  "classify: true class per row of the first output (whitespace-separated), "
                  "to report accuracy");
  cmd->add_flag("--per-layer", f->per_layer,
                "Rank layers by the error each one adds (needs --reference)");
  cmd->add_option("--per-layer-samples", f->per_layer_samples,
                  "Samples the per-layer analysis uses")
      ->check(IntegerRange(1))
      ->default_val(1);
  cmd->add_flag("--sensitivity", f->sensitivity,
                "Quantize each Conv/MatMul/Gemm alone to static int8 and rank the layers by "
                "the output error each causes (needs --reference; candidates optional)");
  cmd->add_option("--sensitivity-samples", f->sensitivity_samples,
                  "Samples that calibrate each layer, and as many more that measure it")
      ->check(IntegerRange(1))
      ->default_val(4);
  cmd->add_option("--top-layers", f->top_layers, "Layers shown in the text report")
      ->check(IntegerRange(0))
      ->default_val(10);
  AddReportAndGateFlags(cmd, *f);
  cmd->add_option("--threads", f->threads, "Worker threads (0: one per core)")
      ->check(ThreadCount())
      ->default_val(0);
  cmd->add_flag("--quiet", f->quiet, "Print no text report (reports still go to their files)");
  cmd->callback([f, &run] { run = [f] { return Run(*f); }; });
}

}  // namespace pare::cli
