#include "plan/mixed_precision.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "evaluate/metrics.h"
#include "plan/sensitivity.h"
#include "runtime/session.h"

namespace pare::plan {

using data::Sample;
using data::SampleSource;
using evaluate::ErrorStats;
using evaluate::SensitivityEntry;

namespace {

struct Candidate {
  Model model;
  quantize::QuantizeReport report;
};

absl::StatusOr<Candidate> QuantizeWith(const Model& float_model,
                                       const quantize::CalibrationData& calibration,
                                       const MixedPrecisionOptions& o,
                                       const std::vector<std::string>& promoted) {
  quantize::StaticInt8Options q = o.quantize;
  std::vector<std::string>& list = o.fallback_float ? q.exclude : q.wide_nodes;
  list.insert(list.end(), promoted.begin(), promoted.end());
  Candidate c{float_model, {}};
  ASSIGN_OR_RETURN(c.report, quantize::QuantizeStaticInt8(c.model, calibration, q));
  return c;
}

// The worst output SQNR of `candidate` against `reference` on every
// validation sample.
absl::StatusOr<double> WorstSqnr(runtime::Session& reference, const Model& candidate,
                                 const SampleSource& validation, int threads) {
  ASSIGN_OR_RETURN(auto session, runtime::Session::Create(candidate, {.threads = threads}));
  std::vector<ErrorStats> errors;
  for (int64_t i = 0; i < validation.size(); ++i) {
    ASSIGN_OR_RETURN(Sample s, validation.Get(i));
    ASSIGN_OR_RETURN(std::vector<Tensor> want, reference.Run(s.inputs));
    ASSIGN_OR_RETURN(std::vector<Tensor> got, session->Run(s.inputs));
    errors.resize(want.size());
    for (size_t j = 0; j < want.size() && j < got.size(); ++j) {
      ASSIGN_OR_RETURN(std::vector<float> r, want[j].ToFloat32());
      ASSIGN_OR_RETURN(std::vector<float> c, got[j].ToFloat32());
      if (r.size() == c.size()) errors[j].Add(r.data(), c.data(), r.size());
    }
  }
  double worst = std::numeric_limits<double>::infinity();
  for (const ErrorStats& e : errors) worst = std::min(worst, e.Summary().sqnr_db);
  return worst;
}

}  // namespace

absl::StatusOr<MixedPrecisionResult> QuantizeToTarget(const Model& float_model,
                                                      const quantize::CalibrationData& calibration,
                                                      const SampleSource& validation,
                                                      const MixedPrecisionOptions& o) {
  if (validation.size() == 0) return absl::InvalidArgumentError("no validation samples");
  if (o.quantize.format != quantize::StaticInt8Options::Format::kQdq) {
    return absl::InvalidArgumentError("mixed precision needs the qdq format");
  }
  ASSIGN_OR_RETURN(auto reference, runtime::Session::Create(float_model, {.threads = o.threads}));
  MixedPrecisionResult result;
  auto log = [&](int64_t promoted, double sqnr) {
    result.steps.push_back({promoted, sqnr});
    if (o.log) {
      o.log(absl::StrFormat("%d layer(s) %s: worst output SQNR %.1f dB", promoted,
                            o.fallback_float ? "in float" : "with 16-bit activations", sqnr));
    }
  };
  ASSIGN_OR_RETURN(Candidate all8, QuantizeWith(float_model, calibration, o, {}));
  ASSIGN_OR_RETURN(double sqnr, WorstSqnr(*reference, all8.model, validation, o.threads));
  log(0, sqnr);
  if (sqnr >= o.min_sqnr_db) {
    return MixedPrecisionResult{std::move(all8.model), std::move(all8.report), {}, sqnr, true,
                                result.steps};
  }
  // The ranking: each layer quantized alone, by the output error it causes.
  SensitivityOptions so{.calibration_samples = o.ranking_samples,
                        .evaluation_samples = o.ranking_samples,
                        .threads = o.threads};
  so.quantize = o.quantize;
  so.quantize.progress = nullptr;
  if (validation.size() < 2 * o.ranking_samples) {
    so.calibration_samples = so.evaluation_samples = std::max<int64_t>(validation.size() / 2, 1);
  }
  ASSIGN_OR_RETURN(std::vector<SensitivityEntry> sensitivity,
                   QuantizationSensitivity(float_model, validation, so));
  std::vector<std::string> ranked;
  for (const SensitivityEntry& e : sensitivity) ranked.push_back(e.node);
  const int64_t total = static_cast<int64_t>(ranked.size());
  // Try the first k ranked layers promoted. The chosen model: the fewest
  // promoted among those that meet the target, else the best SQNR seen.
  Candidate best = std::move(all8);
  int64_t best_k = 0;
  double best_sqnr = sqnr;
  auto attempt = [&](int64_t k) -> absl::StatusOr<bool> {
    std::vector<std::string> promoted(ranked.begin(), ranked.begin() + k);
    ASSIGN_OR_RETURN(Candidate c, QuantizeWith(float_model, calibration, o, promoted));
    ASSIGN_OR_RETURN(double s, WorstSqnr(*reference, c.model, validation, o.threads));
    log(k, s);
    const bool met = s >= o.min_sqnr_db, best_met = best_sqnr >= o.min_sqnr_db;
    if (met ? (!best_met || k < best_k) : (!best_met && s > best_sqnr)) {
      best = std::move(c);
      best_k = k;
      best_sqnr = s;
    }
    return met;
  };
  int64_t low = 0, high = -1;  // `low` layers miss the target, `high` meet it
  for (int64_t k = 1; k <= total; k = k == total ? total + 1 : std::min(2 * k, total)) {
    ASSIGN_OR_RETURN(bool met, attempt(k));
    if (met) {
      high = k;
      break;
    }
    low = k;
  }
  while (high > 0 && high - low > 1) {
    const int64_t mid = (low + high) / 2;
    ASSIGN_OR_RETURN(bool met, attempt(mid));
    (met ? high : low) = mid;
  }
  result.model = std::move(best.model);
  result.report = std::move(best.report);
  result.promoted.assign(ranked.begin(), ranked.begin() + best_k);
  result.sqnr_db = best_sqnr;
  result.met = best_sqnr >= o.min_sqnr_db;
  return result;
}

}  // namespace pare::plan
