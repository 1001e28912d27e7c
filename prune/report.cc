// The prune stage's names, patterns and JSON report.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prune/prune.h"

namespace pare::prune {

const char* PruneMethodName(PruneMethod m) {
  switch (m) {
    case PruneMethod::kMagnitude:
      return "magnitude";
    case PruneMethod::kWanda:
      return "wanda";
    case PruneMethod::kSparseGpt:
      return "sparsegpt";
    case PruneMethod::kChannels:
      return "channels";
  }
  return "?";
}

absl::StatusOr<PruneMethod> ParsePruneMethod(const std::string& name) {
  for (PruneMethod m : {PruneMethod::kMagnitude, PruneMethod::kWanda, PruneMethod::kSparseGpt,
                        PruneMethod::kChannels}) {
    if (name == PruneMethodName(m)) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown prune method '", name, "' (magnitude, wanda, sparsegpt or channels)"));
}

absl::StatusOr<NmPattern> ParseNmPattern(const std::string& text) {
  if (text.empty() || text == "unstructured") return NmPattern{};
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  NmPattern p;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &p.n) || !absl::SimpleAtoi(parts[1], &p.m) ||
      p.n <= 0 || p.n >= p.m || p.m > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pattern '", text, "': expected unstructured or N:M with 0 < N < M <= 64 (2:4, 4:8)"));
  }
  return p;
}

std::string NmPatternName(const NmPattern& p) {
  return p.structured() ? absl::StrCat(p.n, ":", p.m) : "unstructured";
}

nlohmann::json PruneReportToJson(const PruneReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  uint64_t elements = 0, zeros = 0, sparse = 0, compact = 0;
  const bool channels = r.method == PruneMethodName(PruneMethod::kChannels);
  for (const PrunedLayer& l : r.layers) {
    nlohmann::json j = {{"node", l.node},        {"weight", l.weight},   {"op_type", l.op_type},
                        {"method", l.method},    {"pattern", l.pattern}, {"target", l.target},
                        {"achieved", l.achieved}};
    if (channels) {
      j["channels_before"] = l.channels_before;
      j["channels_after"] = l.channels_after;
    } else {
      j.update({{"elements", l.elements},
                {"zeros", l.zeros},
                {"bytes_dense", l.bytes_dense},
                {"bytes_sparse_initializer", l.bytes_sparse_initializer},
                {"bytes_compact", l.bytes_compact}});
    }
    layers.push_back(std::move(j));
    elements += l.elements;
    zeros += l.zeros;
    sparse += l.bytes_sparse_initializer;
    compact += l.bytes_compact;
  }
  nlohmann::json totals = {{"layers", r.layers.size()},
                           {"bytes_before", r.bytes_before},
                           {"bytes_after", r.bytes_after}};
  if (channels) {
    totals["channels_before"] = elements;
    totals["channels_after"] = elements - zeros;
  } else {
    totals.update({{"elements", elements},
                   {"zeros", zeros},
                   {"sparsity", elements == 0 ? 0.0 : double(zeros) / elements},
                   {"bytes_sparse_initializer", sparse},
                   {"bytes_compact", compact}});
  }
  nlohmann::json j = {{"method", r.method}, {"pattern", r.pattern}, {"target", r.target},
                      {"layers", layers},   {"skipped", r.skipped}, {"totals", totals}};
  if (r.samples > 0) {
    j["calibration"] = {{"data", r.calibration},
                        {"samples", r.samples},
                        {"passes", r.calibration_passes},
                        {"seconds", r.calibration_seconds}};
  }
  return j;
}

}  // namespace pare::prune
