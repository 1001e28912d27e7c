#include "prune/mask.h"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "data/hessian.h"

namespace pare::prune {

namespace {

// Zeroes the `drop` lowest-scoring of `count` entries, entry i being
// w[index(i)] with score score(index(i)).
template <typename Index, typename Score>
void DropLowest(float* w, int64_t count, int64_t drop, Index index, Score score,
                std::vector<int64_t>& order) {
  if (drop <= 0) return;
  order.resize(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::nth_element(order.begin(), order.begin() + (drop - 1), order.end(),
                   [&](int64_t a, int64_t b) { return score(index(a)) < score(index(b)); });
  for (int64_t i = 0; i < drop; ++i) w[index(order[i])] = 0;
}

// Per column, m - n of every m consecutive rows. Rows are swept group by
// group and each group across all columns, so memory is read in order.
template <typename Score>
void PruneGroups(float* w, int64_t k, int64_t n, const NmPattern& pattern, Score score) {
  const int m = pattern.m, drop = pattern.m - pattern.n;
  std::array<int, 64> order;
  std::array<float, 64> value;
  for (int64_t g = 0; g < k; g += m) {
    for (int64_t col = 0; col < n; ++col) {
      for (int i = 0; i < m; ++i) {
        order[i] = i;
        value[i] = score((g + i) * n + col);
      }
      // Insertion sort: m is small (4, 8), and it keeps ties in row order.
      for (int i = 1; i < m; ++i) {
        for (int j = i; j > 0 && value[order[j]] < value[order[j - 1]]; --j) {
          std::swap(order[j], order[j - 1]);
        }
      }
      for (int i = 0; i < drop; ++i) w[(g + order[i]) * n + col] = 0;
    }
  }
}

// Per column: the lowest fraction, or m - n of every m consecutive rows.
template <typename Score>
void PruneColumns(float* w, int64_t k, int64_t n, double sparsity, const NmPattern& pattern,
                  Score score) {
  if (pattern.structured()) return PruneGroups(w, k, n, pattern, score);
  std::vector<int64_t> order;
  for (int64_t col = 0; col < n; ++col) {
    DropLowest(
        w, k, PrunedCount(k, sparsity), [&](int64_t i) { return i * n + col; }, score, order);
  }
}

// The bit pattern of a non-negative float orders like its value; its top
// 21 bits make the histogram's bins.
constexpr int kBinShift = 10;
uint32_t Bin(float v) { return std::bit_cast<uint32_t>(std::fabs(v)) >> kBinShift; }

}  // namespace

int64_t PrunedCount(int64_t count, double sparsity) {
  return std::clamp<int64_t>(std::llround(static_cast<double>(count) * sparsity), 0, count);
}

void PruneColumnsByScore(float* w, const float* scores, int64_t k, int64_t n, double sparsity,
                         const NmPattern& pattern) {
  PruneColumns(w, k, n, sparsity, pattern, [scores](int64_t i) { return scores[i]; });
}

void PruneColumnsByMagnitude(float* w, int64_t k, int64_t n, double sparsity,
                             const NmPattern& pattern) {
  // Each group's scores are all read before any of its weights is zeroed,
  // and groups do not overlap, so the live array can be the score.
  PruneColumns(w, k, n, sparsity, pattern, [w](int64_t i) { return std::fabs(w[i]); });
}

void PruneTensorByMagnitude(float* w, int64_t count, double sparsity) {
  const int64_t drop = PrunedCount(count, sparsity);
  if (drop <= 0) return;
  // The drop-th smallest |w| from one float copy (no index array: this runs
  // on a model's largest tensors), then everything below it and as many
  // ties as needed.
  std::vector<float> magnitude(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) magnitude[i] = std::fabs(w[i]);
  std::nth_element(magnitude.begin(), magnitude.begin() + (drop - 1), magnitude.end());
  const float threshold = magnitude[drop - 1];
  magnitude = {};
  int64_t dropped = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (std::fabs(w[i]) < threshold) w[i] = 0, ++dropped;
  }
  for (int64_t i = 0; i < count && dropped < drop; ++i) {
    if (w[i] != 0 && std::fabs(w[i]) == threshold) w[i] = 0, ++dropped;
  }
}

MagnitudeHistogram::MagnitudeHistogram() : counts_(size_t{1} << (31 - kBinShift), 0) {}

void MagnitudeHistogram::Add(const float* w, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t b = Bin(w[i]);
    if (b < counts_.size()) ++counts_[b];  // NaN's pattern is above every number
  }
  total_ += static_cast<uint64_t>(count);
}

float MagnitudeHistogram::Threshold(double sparsity) const {
  const uint64_t target =
      static_cast<uint64_t>(std::llround(static_cast<double>(total_) * sparsity));
  uint64_t seen = 0;
  for (size_t b = 0; b < counts_.size(); ++b) {
    if (seen + counts_[b] > target) {
      // Within the bin, interpolate linearly between its edges.
      const float lo = std::bit_cast<float>(static_cast<uint32_t>(b << kBinShift));
      const float hi = std::bit_cast<float>(static_cast<uint32_t>((b + 1) << kBinShift));
      const double f = static_cast<double>(target - seen) / static_cast<double>(counts_[b]);
      return static_cast<float>(lo + f * (hi - lo));
    }
    seen += counts_[b];
  }
  return std::numeric_limits<float>::infinity();
}

absl::Status PruneSparseGpt(float* w, int64_t k, int64_t n, const data::HessianAccumulator& acc,
                            double sparsity, const NmPattern& pattern, double damp, int64_t block) {
  using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (acc.k() != k) {
    return absl::InvalidArgumentError(
        absl::StrCat("Hessian of ", acc.k(), " inputs for a weight of ", k, " rows"));
  }
  if (pattern.structured()) block = std::max<int64_t>(pattern.m, block / pattern.m * pattern.m);
  std::vector<bool> dead;
  const std::vector<double> mean = data::MeanHessian(acc, &dead);
  ASSIGN_OR_RETURN(const std::vector<double> u_values, data::InverseCholeskyUpper(mean, k, damp));
  const Eigen::Map<const Matrix> u(u_values.data(), k, k);
  Matrix weight(k, n);
  for (int64_t i = 0; i < k * n; ++i) weight.data()[i] = w[i];
  // Inputs never seen carry no information: their weights go first.
  for (int64_t i = 0; i < k; ++i) {
    if (dead[i]) weight.row(i).setZero();
  }
  std::vector<float> scores, values;
  std::vector<int64_t> order;
  std::vector<uint8_t> pruned(static_cast<size_t>(k * n), 0);
  auto select = [&](int64_t start, int64_t rows) {
    // Marks the weights to prune among inputs [start, start + rows): those
    // whose removal costs least, w^2 / [H^-1]_ii^2, per output.
    scores.assign(static_cast<size_t>(rows * n), 0);
    values.assign(static_cast<size_t>(rows * n), 1);
    for (int64_t i = 0; i < rows; ++i) {
      const double d = u(start + i, start + i);
      for (int64_t col = 0; col < n; ++col) {
        const double v = weight(start + i, col);
        scores[i * n + col] = static_cast<float>(v * v / (d * d));
      }
    }
    PruneColumnsByScore(values.data(), scores.data(), rows, n,
                        pattern.structured() ? 0.0 : sparsity,
                        pattern.structured() ? NmPattern{pattern.n, pattern.m} : NmPattern{});
    for (int64_t i = 0; i < rows * n; ++i) pruned[start * n + i] = values[i] == 0;
  };
  for (int64_t start = 0; start < k; start += block) {
    const int64_t end = std::min(k, start + block);
    // Unstructured masks are chosen a block at a time, N:M masks a group at
    // a time, each from the weights as updated so far.
    if (!pattern.structured()) select(start, end - start);
    Matrix errors(end - start, n);
    for (int64_t i = start; i < end; ++i) {
      if (pattern.structured() && (i - start) % pattern.m == 0) {
        select(i, std::min<int64_t>(pattern.m, end - i));
      }
      const double d = u(i, i);
      for (int64_t col = 0; col < n; ++col) {
        const double v = weight(i, col);
        const bool drop = pruned[i * n + col] != 0;
        errors(i - start, col) = drop ? v / d : 0.0;
        if (drop) weight(i, col) = 0;
      }
      for (int64_t j = i + 1; j < end; ++j) weight.row(j) -= u(i, j) * errors.row(i - start);
    }
    if (end < k) {
      weight.bottomRows(k - end).noalias() -=
          u.block(start, end, end - start, k - end).transpose() * errors;
    }
  }
  for (int64_t i = 0; i < k * n; ++i) {
    w[i] = pruned[i] != 0 ? 0.0f : static_cast<float>(weight.data()[i]);
  }
  return absl::OkStatus();
}

double ZeroFraction(const float* w, int64_t count) {
  int64_t zeros = 0;
  for (int64_t i = 0; i < count; ++i) zeros += w[i] == 0;
  return count == 0 ? 0.0 : static_cast<double>(zeros) / static_cast<double>(count);
}

}  // namespace pare::prune
