#include "quantize/range_search.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "runtime/session.h"

namespace pare::quantize {
namespace {

using Outputs = std::vector<std::vector<float>>;  // per graph output

absl::StatusOr<std::vector<Outputs>> RunOn(const Model& model, const CalibrationData& data,
                                           int64_t samples, int threads) {
  ASSIGN_OR_RETURN(auto session,
                   runtime::Session::Create(
                       model, {.threads = threads, .max_tensor_bytes = data.max_tensor_bytes}));
  std::vector<Outputs> all;
  for (int64_t i = 0; i < samples; ++i) {
    ASSIGN_OR_RETURN(std::vector<Tensor> inputs, data.sample(i));
    ASSIGN_OR_RETURN(std::vector<Tensor> out, session->Run(inputs));
    Outputs values;
    for (const Tensor& t : out) {
      auto v = t.ToFloat32();
      values.push_back(v.ok() ? *std::move(v) : std::vector<float>{});  // non-float: not scored
    }
    all.push_back(std::move(values));
  }
  return all;
}

// Summed over samples and outputs: |q - r|^2 / |r|^2.
double RelativeError(const std::vector<Outputs>& reference, const std::vector<Outputs>& got) {
  double total = 0;
  for (size_t s = 0; s < reference.size(); ++s) {
    for (size_t k = 0; k < reference[s].size(); ++k) {
      const std::vector<float>& r = reference[s][k];
      const std::vector<float>& q = got[s][k];
      if (r.size() != q.size()) return std::numeric_limits<double>::infinity();
      double signal = 0, noise = 0;
      for (size_t i = 0; i < r.size(); ++i) {
        signal += double{r[i]} * r[i];
        noise += (double{q[i]} - r[i]) * (double{q[i]} - r[i]);
      }
      total += noise / std::max(signal, 1e-30);
    }
  }
  return total;
}

bool SameRange(const Range& a, const Range& b) { return a.min == b.min && a.max == b.max; }

}  // namespace

std::vector<NamedRange> CandidateRanges(const TensorCalibrator& c, int entropy_levels) {
  const std::vector<std::pair<std::string, CalibrationOptions>> methods = {
      {"minmax", {CalibrationMethod::kMinMax}},
      {"mse", {CalibrationMethod::kMse}},
      {"entropy", {CalibrationMethod::kEntropy, 99.999, entropy_levels}},
      {"percentile 99.9", {CalibrationMethod::kPercentile, 99.9}},
      {"percentile 99.99", {CalibrationMethod::kPercentile, 99.99}},
      {"percentile 99.999", {CalibrationMethod::kPercentile, 99.999}},
  };
  std::vector<NamedRange> out;
  for (const auto& [label, options] : methods) {
    const Range r = c.Compute(options);
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](const NamedRange& n) { return SameRange(n.second, r); });
    if (!seen) out.emplace_back(label, r);
  }
  return out;
}

absl::StatusOr<RangeOverrides> SearchRanges(const Model& reference, const CalibrationData& data,
                                            const std::vector<RangeChoice>& choices,
                                            const QuantizedBuilder& build,
                                            const RangeSearchOptions& o) {
  const int64_t samples = std::min(o.samples, data.count);
  ASSIGN_OR_RETURN(const std::vector<Outputs> want, RunOn(reference, data, samples, o.threads));
  RangeOverrides chosen;
  auto error_with = [&](const RangeOverrides& overrides) -> absl::StatusOr<double> {
    ASSIGN_OR_RETURN(const Model candidate, build(overrides));
    ASSIGN_OR_RETURN(const std::vector<Outputs> got, RunOn(candidate, data, samples, o.threads));
    return RelativeError(want, got);
  };
  ASSIGN_OR_RETURN(double best, error_with(chosen));
  int64_t done = 0;
  for (const RangeChoice& choice : choices) {
    if (o.progress) o.progress(done++, static_cast<int64_t>(choices.size()));
    std::optional<NamedRange> winner;
    for (const NamedRange& candidate : choice.candidates) {
      RangeOverrides trial = chosen;
      trial[choice.value] = candidate;
      ASSIGN_OR_RETURN(const double error, error_with(trial));
      if (error < best) {
        best = error;
        winner = candidate;
      }
    }
    if (winner) chosen[choice.value] = *winner;
  }
  if (o.progress) o.progress(done, static_cast<int64_t>(choices.size()));
  return chosen;
}

}  // namespace pare::quantize
