// The evaluate stage: how much accuracy a compressed model lost against the
// original, on the same inputs, and where.
//
//   EvaluateOptions options{.reference = "model.onnx", .candidates = {"model.int8.onnx"},
//                           .random_samples = 16};
//   ASSIGN_OR_RETURN(EvaluateReport report, Evaluate(options));
//   bool ok = report.passed();   // every gate held
//
// Samples stream one at a time through the reference (or stored reference
// outputs) and every candidate; metrics accumulate in fixed memory, so the
// number of samples does not change the memory used.
#ifndef PARE_EVALUATE_EVALUATE_H_
#define PARE_EVALUATE_EVALUATE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/dtype.h"
#include "data/samples.h"
#include "evaluate/metrics.h"
#include "evaluate/per_layer.h"

namespace pare::evaluate {

enum class Task {
  kTensor,    // element-wise error metrics on every output
  kClassify,  // plus top-1/top-5 agreement along the last axis
  kLm,        // plus perplexity, KL divergence and token agreement on the logits
};
const char* TaskName(Task task);

// CI gates; unset ones are not checked.
struct Thresholds {
  std::optional<double> max_kl;            // mean KL divergence (lm)
  std::optional<double> min_sqnr;          // dB, the worst output
  std::optional<double> min_cosine;        // the worst output
  std::optional<double> min_top1;          // agreement (classify, lm)
  std::optional<double> max_ppl_increase;  // relative, e.g. 0.02 (lm)
};

// One layer quantized alone, and the error it causes in the model's output.
struct SensitivityEntry {
  std::string node;
  std::string op_type;
  ErrorSummary error;  // of the output with the lowest SQNR
};

using SensitivityFn = std::function<absl::StatusOr<std::vector<SensitivityEntry>>(
    const Model& reference, const data::SampleSource& samples)>;

struct EvaluateOptions {
  std::filesystem::path reference;          // the original model
  std::filesystem::path reference_outputs;  // or its outputs stored on disk
  std::vector<std::filesystem::path> candidates;
  // Inputs: one of these.
  std::filesystem::path data;  // ONNX test layout, or sample folders of NAME.npy / NAME.pb
  int64_t random_samples = 0;
  uint64_t seed = 0;
  std::map<std::string, int64_t> dims;  // symbolic dimensions of random inputs
  std::filesystem::path tokens;         // lm: token ids (text, .npy or raw int32 .bin)
  int64_t seq_len = 0;                  // lm: tokens per sample
  int64_t max_samples = 0;              // 0: every sample
  Task task = Task::kTensor;
  std::filesystem::path labels;  // classify: one class id per row, whitespace-separated
  bool per_layer = false;
  int64_t per_layer_samples = 1;
  // Ranks the reference's layers by how much quantizing each costs (the
  // plan stage's QuantizationSensitivity, handed in so that evaluation does
  // not depend on a quantizer); needs `reference`, no candidate.
  SensitivityFn sensitivity;
  Thresholds gates;
  int threads = 0;
  std::filesystem::path save_reference_outputs;  // write the reference's outputs here
  std::function<void(int64_t done, int64_t total)> progress;
};

struct OutputReport {
  std::string name;
  std::vector<int64_t> shape;  // of the first sample
  ErrorSummary error;
  std::optional<TopKSummary> topk;
};

struct GateResult {
  std::string name;  // the flag, e.g. "min-sqnr"
  double threshold = 0, value = 0;
  bool passed = false;
};

struct ModelSize {
  uint64_t file_bytes = 0;    // the .onnx and its external data files
  uint64_t weight_bytes = 0;  // initializers and Constant tensors
  uint64_t parameters = 0;    // their elements
};

struct CandidateReport {
  std::string path;
  ModelSize size;
  std::optional<double> bits_per_weight;  // weight bits per reference parameter
  std::vector<OutputReport> outputs;
  std::optional<LmSummary> lm;
  std::vector<LayerReport> layers;  // with per_layer, worst first
  std::vector<GateResult> gates;
  bool passed() const;
};

struct EvaluateReport {
  std::string reference;  // model path, or the reference-outputs folder
  std::optional<ModelSize> reference_size;
  Task task = Task::kTensor;
  std::string inputs;  // where the samples came from, in words
  int64_t samples = 0;
  double seconds = 0;
  std::vector<CandidateReport> candidates;
  std::vector<SensitivityEntry> sensitivity;  // most sensitive first
  bool passed() const;
};

absl::StatusOr<EvaluateReport> Evaluate(const EvaluateOptions& options);

}  // namespace pare::evaluate

#endif  // PARE_EVALUATE_EVALUATE_H_
