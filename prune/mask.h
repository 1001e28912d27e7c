// The numeric core of unstructured and N:M pruning, on a weight laid out as
// [k, n]: row i is input i, column j is output j (a MatMul's B). Internal to
// prune/.
#ifndef PARE_PRUNE_MASK_H_
#define PARE_PRUNE_MASK_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "data/hessian.h"
#include "prune/options.h"

namespace pare::prune {

// How many of `count` weights a fraction `sparsity` prunes (rounded).
int64_t PrunedCount(int64_t count, double sparsity);

// Zeroes the lowest-scoring weights of each output (column): a fraction
// `sparsity` of the column, or, for an N:M pattern, m-n of every m
// consecutive inputs. REQUIRES: for N:M, k % m == 0.
void PruneColumnsByScore(float* w, const float* scores, int64_t k, int64_t n, double sparsity,
                         const NmPattern& pattern);

// PruneColumnsByScore with |w| as the score, without a copy of the weight.
void PruneColumnsByMagnitude(float* w, int64_t k, int64_t n, double sparsity,
                             const NmPattern& pattern);

// Zeroes the fraction `sparsity` of smallest |w| over the whole tensor.
void PruneTensorByMagnitude(float* w, int64_t count, double sparsity);

// A histogram of |w| over many tensors, fine enough (2^-10 relative) to find
// one magnitude threshold for a global sparsity without holding every weight.
class MagnitudeHistogram {
 public:
  MagnitudeHistogram();
  void Add(const float* w, int64_t count);
  // The |w| below which about a fraction `sparsity` of all weights lie.
  float Threshold(double sparsity) const;

 private:
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
};

// SparseGPT: prunes w [k, n] to `sparsity` (or the N:M pattern) choosing the
// mask block by block of `block` inputs by w^2 / [H^-1]_ii^2, and after each
// input spreads the pruned weights' error over the inputs not yet visited.
absl::Status PruneSparseGpt(float* w, int64_t k, int64_t n, const data::HessianAccumulator& h,
                            double sparsity, const NmPattern& pattern, double damp, int64_t block);

// Fraction of exact zeros.
double ZeroFraction(const float* w, int64_t count);

}  // namespace pare::prune

#endif  // PARE_PRUNE_MASK_H_
