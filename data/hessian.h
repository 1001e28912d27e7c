// The second-order statistics of a linear layer's inputs that GPTQ and
// SparseGPT need: the sum of x x^T over calibration rows, its mean, and the
// dampened inverse's Cholesky factor.
#ifndef PARE_DATA_HESSIAN_H_
#define PARE_DATA_HESSIAN_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace pare::data {

// Sum of x x^T over the rows of activations [rows, K] fed to it, in double:
// the Hessian of a linear layer's squared output error (GPTQ, SparseGPT).
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t k) : k_(k), h_(static_cast<size_t>(k * k), 0.0) {}
  void Add(const float* rows, int64_t count);
  int64_t k() const { return k_; }
  int64_t rows() const { return rows_; }
  const std::vector<double>& sum() const { return h_; }  // upper triangle filled

 private:
  int64_t k_, rows_ = 0;
  std::vector<double> h_;
};

// The mean Hessian H = sum / rows (symmetric, row-major [k, k]), with
// inputs never seen (zero diagonal) set to 1 on the diagonal and reported in
// `dead`.
std::vector<double> MeanHessian(const HessianAccumulator& h, std::vector<bool>* dead);

// The upper Cholesky factor U of (H + damp * mean(diag H) * I)^-1, row-major
// [k, k]; dampening grows tenfold (up to 1) until H is positive definite.
absl::StatusOr<std::vector<double>> InverseCholeskyUpper(const std::vector<double>& h, int64_t k,
                                                         double damp);

}  // namespace pare::data

#endif  // PARE_DATA_HESSIAN_H_
