#include "evaluate/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace pare::evaluate {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

uint64_t ArgMax(const float* row, uint64_t n) {
  return static_cast<uint64_t>(std::max_element(row, row + n) - row);
}

// log-softmax of one row, in double.
void LogSoftmax(const float* logits, uint64_t n, std::vector<double>& out) {
  out.resize(n);
  const double max = *std::max_element(logits, logits + n);
  double sum = 0;
  for (uint64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_sum = max + std::log(sum);
  for (uint64_t i = 0; i < n; ++i) out[i] = logits[i] - log_sum;
}

}  // namespace

void ErrorStats::Add(const float* reference, const float* candidate, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    const double r = reference[i], c = candidate[i];
    if (std::isfinite(r) && !std::isfinite(c)) {
      ++non_finite_;
      continue;
    }
    const double e = c - r;
    if (!std::isfinite(e)) continue;  // both infinite and equal, or the reference is not finite
    max_abs_ = std::max(max_abs_, std::abs(e));
    sum_abs_ += std::abs(e);
    sum_sq_err_ += e * e;
    sum_sq_ref_ += r * r;
    sum_sq_cand_ += c * c;
    dot_ += r * c;
  }
  n_ += n;
}

ErrorSummary ErrorStats::Summary() const {
  ErrorSummary s;
  s.elements = n_;
  s.non_finite = non_finite_;
  const double counted = static_cast<double>(n_ - non_finite_);
  if (counted > 0) {
    s.max_abs = max_abs_;
    s.mean_abs = sum_abs_ / counted;
    s.rmse = std::sqrt(sum_sq_err_ / counted);
  }
  const double norms = std::sqrt(sum_sq_ref_ * sum_sq_cand_);
  s.cosine = norms > 0 ? dot_ / norms : (sum_sq_ref_ == sum_sq_cand_ ? 1.0 : 0.0);
  s.sqnr_db = sum_sq_err_ == 0   ? kInf
              : sum_sq_ref_ == 0 ? -kInf
                                 : 10 * std::log10(sum_sq_ref_ / sum_sq_err_);
  s.rel_error = sum_sq_ref_ > 0 ? std::sqrt(sum_sq_err_ / sum_sq_ref_) : (sum_sq_err_ ? kInf : 0);
  if (non_finite_ > 0) {  // a model emitting NaN has not kept its accuracy
    s.sqnr_db = -kInf;
    s.max_abs = s.rel_error = kInf;
  }
  return s;
}

void TopKStats::Add(const float* reference, const float* candidate, uint64_t rows, uint64_t classes,
                    const std::vector<int64_t>& labels) {
  if (classes == 0) return;
  std::vector<uint64_t> order(classes);
  for (uint64_t r = 0; r < rows; ++r) {
    const float* ref = reference + r * classes;
    const float* cand = candidate + r * classes;
    const uint64_t ref_top = ArgMax(ref, classes), cand_top = ArgMax(cand, classes);
    top1_ += ref_top == cand_top;
    // Is the reference's choice among the candidate's five highest?
    uint64_t higher = 0;
    for (uint64_t i = 0; i < classes; ++i) higher += cand[i] > cand[ref_top];
    top5_ += higher < 5;
    if (r < labels.size() && labels[r] >= 0) {
      ++labelled_;
      ref_correct_ += static_cast<int64_t>(ref_top) == labels[r];
      cand_correct_ += static_cast<int64_t>(cand_top) == labels[r];
    }
  }
  rows_ += rows;
}

TopKSummary TopKStats::Summary() const {
  TopKSummary s;
  s.rows = rows_;
  if (rows_ == 0) return s;
  s.top1_agreement = static_cast<double>(top1_) / rows_;
  s.top5_agreement = static_cast<double>(top5_) / rows_;
  if (labelled_ > 0) {
    s.reference_accuracy = static_cast<double>(ref_correct_) / labelled_;
    s.candidate_accuracy = static_cast<double>(cand_correct_) / labelled_;
  }
  return s;
}

LmStats::LmStats()
    : kl_(QuantileHistogram::Log(1e-10, 1e4, 200)), dp_(QuantileHistogram::Linear(-1, 1, 20000)) {}

void LmStats::Add(const float* reference, const float* candidate, uint64_t positions,
                  uint64_t vocab, const std::vector<int64_t>& next) {
  std::vector<double> lr, lc;
  for (uint64_t p = 0; p < positions; ++p) {
    const float* ref = reference + p * vocab;
    const float* cand = candidate + p * vocab;
    LogSoftmax(ref, vocab, lr);
    LogSoftmax(cand, vocab, lc);
    double kl = 0;
    for (uint64_t i = 0; i < vocab; ++i) kl += std::exp(lr[i]) * (lr[i] - lc[i]);
    kl = std::max(kl, 0.0);  // rounding can leave a tiny negative
    kl_.Add(kl);
    kl_sum_ += kl;
    agree_ += ArgMax(ref, vocab) == ArgMax(cand, vocab);
    ++positions_;
    if (p < next.size() && next[p] >= 0 && static_cast<uint64_t>(next[p]) < vocab) {
      const int64_t t = next[p];
      nll_ref_ -= lr[t];
      nll_cand_ -= lc[t];
      const double dp = std::exp(lc[t]) - std::exp(lr[t]);
      dp_.Add(dp);
      dp_sum_ += dp;
      dp_sq_ += dp * dp;
      ++scored_;
    }
  }
}

LmSummary LmStats::Summary() const {
  LmSummary s;
  s.positions = scored_;
  if (positions_ > 0) {
    s.kl_mean = kl_sum_ / positions_;
    s.kl_median = kl_.Quantile(0.5);
    s.kl_p90 = kl_.Quantile(0.9);
    s.kl_p99 = kl_.Quantile(0.99);
    s.kl_p999 = kl_.Quantile(0.999);
    s.kl_max = kl_.max();
    s.top1_agreement = static_cast<double>(agree_) / positions_;
    s.kl_bars = kl_.Bars(40);
  }
  if (scored_ > 0) {
    s.reference_ppl = std::exp(nll_ref_ / scored_);
    s.candidate_ppl = std::exp(nll_cand_ / scored_);
    s.ppl_ratio = std::exp((nll_cand_ - nll_ref_) / scored_);
    s.dp_mean = dp_sum_ / scored_;
    s.dp_rms = std::sqrt(dp_sq_ / scored_);
    s.dp_min = dp_.min();
    s.dp_p1 = dp_.Quantile(0.01);
    s.dp_p5 = dp_.Quantile(0.05);
    s.dp_median = dp_.Quantile(0.5);
    s.dp_p95 = dp_.Quantile(0.95);
    s.dp_p99 = dp_.Quantile(0.99);
    s.dp_max = dp_.max();
  }
  return s;
}

}  // namespace pare::evaluate
