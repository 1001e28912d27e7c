// Streaming accuracy metrics: each accumulator takes one sample at a time
// and keeps a fixed amount of state, so evaluating a dataset costs memory
// independent of its size.
//
//   ErrorStats err;
//   err.Add(reference, candidate, n);        // per sample
//   ErrorSummary s = err.Summary();          // max/mean abs, RMSE, cosine, SQNR
#ifndef PARE_EVALUATE_METRICS_H_
#define PARE_EVALUATE_METRICS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "evaluate/histogram.h"

namespace pare::evaluate {

// Element-wise error of a candidate tensor against its reference.
struct ErrorSummary {
  uint64_t elements = 0;
  uint64_t non_finite = 0;  // NaN or infinity in the candidate where the reference is finite
  double max_abs = 0, mean_abs = 0, rmse = 0;
  double cosine = 1;     // of the flattened tensors; 1 when both are zero
  double sqnr_db = 0;    // 10 log10(sum ref^2 / sum err^2); +inf when exact
  double rel_error = 0;  // sqrt(sum err^2 / sum ref^2)
};

class ErrorStats {
 public:
  void Add(const float* reference, const float* candidate, uint64_t n);
  ErrorSummary Summary() const;

 private:
  uint64_t n_ = 0, non_finite_ = 0;
  double max_abs_ = 0, sum_abs_ = 0, sum_sq_err_ = 0, sum_sq_ref_ = 0, sum_sq_cand_ = 0, dot_ = 0;
};

// Classification along the last axis: each row is one prediction.
struct TopKSummary {
  uint64_t rows = 0;
  double top1_agreement = 0;  // candidate's top-1 == reference's top-1
  double top5_agreement = 0;  // reference's top-1 within the candidate's top-5
  // With labels: accuracy of each model.
  std::optional<double> reference_accuracy, candidate_accuracy;
};

class TopKStats {
 public:
  // `labels` (may be empty) holds one class per row.
  void Add(const float* reference, const float* candidate, uint64_t rows, uint64_t classes,
           const std::vector<int64_t>& labels);
  TopKSummary Summary() const;

 private:
  uint64_t rows_ = 0, top1_ = 0, top5_ = 0, labelled_ = 0, ref_correct_ = 0, cand_correct_ = 0;
};

// Language-model comparison over next-token distributions, in the spirit of
// llama.cpp's `perplexity --kl-divergence`.
struct LmSummary {
  uint64_t positions = 0;  // scored positions (with a next token)
  double reference_ppl = 0, candidate_ppl = 0;
  double ppl_ratio = 0;  // candidate / reference
  double kl_mean = 0, kl_median = 0, kl_p90 = 0, kl_p99 = 0, kl_p999 = 0, kl_max = 0;
  double top1_agreement = 0;
  // dp = p_candidate(next) - p_reference(next), per position.
  double dp_mean = 0, dp_rms = 0, dp_min = 0, dp_p1 = 0, dp_p5 = 0, dp_median = 0, dp_p95 = 0,
         dp_p99 = 0, dp_max = 0;
  std::vector<QuantileHistogram::Bar> kl_bars;  // for charts
};

class LmStats {
 public:
  LmStats();
  // Logits [positions, vocab] of both models; next[i] is the token that
  // follows position i, or -1 when none (the last position of a chunk).
  void Add(const float* reference, const float* candidate, uint64_t positions, uint64_t vocab,
           const std::vector<int64_t>& next);
  LmSummary Summary() const;

 private:
  uint64_t scored_ = 0, agree_ = 0, positions_ = 0;
  double nll_ref_ = 0, nll_cand_ = 0, kl_sum_ = 0, dp_sum_ = 0, dp_sq_ = 0;
  QuantileHistogram kl_, dp_;
};

}  // namespace pare::evaluate

#endif  // PARE_EVALUATE_METRICS_H_
