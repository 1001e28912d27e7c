// The prune stage's vocabulary: methods, N:M patterns, per-layer rules,
// options and the report. Apart from prune.h (the entry points) so that the
// stage's own parts (targets, masks, channels) use them without including
// the stage that calls them.
#ifndef PARE_PRUNE_OPTIONS_H_
#define PARE_PRUNE_OPTIONS_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace pare::prune {

// What a non-finite weight's error (CheckFiniteWeight) tells the user.
inline constexpr char kNonFiniteWeightAdvice[] =
    "pruning ranks weights by magnitude; fix the weight or leave its node out with --exclude";

enum class PruneMethod { kMagnitude, kWanda, kSparseGpt, kChannels };
const char* PruneMethodName(PruneMethod m);
absl::StatusOr<PruneMethod> ParsePruneMethod(const std::string& name);

// N:M semi-structured sparsity; n == 0 means unstructured.
struct NmPattern {
  int n = 0, m = 0;
  bool structured() const { return m > 0; }
};
// "unstructured", or "N:M" with 0 < N < M <= 64.
absl::StatusOr<NmPattern> ParseNmPattern(const std::string& text);
std::string NmPatternName(const NmPattern& p);

// A per-layer override (from a recipe file): the first rule whose pattern
// matches a node decides for it. sparsity 0 keeps the layer dense.
struct PruneRule {
  std::string match;
  std::optional<double> sparsity;
  std::optional<NmPattern> pattern;
  std::optional<PruneMethod> method;
};

struct PruneOptions {
  PruneMethod method = PruneMethod::kMagnitude;
  double sparsity = 0.5;  // fraction of weights (of channels, for kChannels); ignored for N:M
  NmPattern pattern;
  bool global = false;        // magnitude: one threshold over every layer
  bool include_head = false;  // prune the output head too
  // Store each sparse weight as its values plus a bitmask, decoded by
  // standard operators (compact_storage.h), when that is smaller. For a
  // final artifact: later stages (quantize) need plain constant weights.
  bool compact_storage = false;
  std::vector<std::string> exclude;
  std::vector<PruneRule> rules;
  // channels: the channels kept in a group are rounded up to a multiple of
  // this (when the group has at least that many), as vector units and
  // blocked conv kernels want; 1 keeps the exact fraction.
  int64_t channel_multiple = 8;
  // Calibration statistics held at once (SparseGPT: a K x K Hessian in
  // doubles per MatMul input); more run as extra passes over the samples.
  uint64_t calibration_memory_bytes = uint64_t{2} << 30;
  double damp = 0.01;        // sparsegpt: dampening, a fraction of mean(diag(H))
  int64_t block_size = 128;  // sparsegpt: inputs per mask-selection block
  // Where pruned weights wait on disk until the model is saved; empty: in
  // memory. With it, memory holds about one weight per thread.
  std::filesystem::path spill_directory;
  int threads = 0;
  std::function<void(int64_t done, int64_t total)> progress;         // calibration samples
  std::function<void(int64_t done, int64_t total)> weight_progress;  // weights pruned
};

struct PrunedLayer {
  std::string node, weight, op_type, method, pattern;
  double target = 0, achieved = 0;  // fraction of zero weights (or of channels removed)
  uint64_t elements = 0, zeros = 0;
  // Bytes: as stored now (dense), as an ONNX sparse_initializer (values plus
  // int64 indices), and as compact values plus a bitmask (or 2:4's 2-bit
  // positions); for channels, before and after the cut.
  uint64_t bytes_dense = 0, bytes_sparse_initializer = 0, bytes_compact = 0;
  uint64_t bytes_before = 0, bytes_after = 0;
  int64_t channels_before = 0, channels_after = 0;
};

struct PruneReport {
  std::string method, pattern, calibration;
  double target = 0;
  int64_t samples = 0, calibration_passes = 0;
  double calibration_seconds = 0;
  std::vector<PrunedLayer> layers;
  std::vector<std::string> skipped;  // "node: why"
  // Bytes of every weight the method changed, before and after (for
  // channels: every tensor cut, counted once).
  uint64_t bytes_before = 0, bytes_after = 0;
};

nlohmann::json PruneReportToJson(const PruneReport& r);

}  // namespace pare::prune

#endif  // PARE_PRUNE_OPTIONS_H_
