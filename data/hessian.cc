#include "data/hessian.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "absl/strings/str_cat.h"

namespace pare::data {

void HessianAccumulator::Add(const float* rows, int64_t count) {
  // Symmetric rank-k update on the upper triangle, mirrored when read.
  for (int64_t r = 0; r < count; ++r) {
    const float* x = rows + r * k_;
    for (int64_t i = 0; i < k_; ++i) {
      const double xi = x[i];
      if (xi == 0) continue;
      double* row = &h_[static_cast<size_t>(i * k_)];
      for (int64_t j = i; j < k_; ++j) row[j] += xi * x[j];
    }
  }
  rows_ += count;
}

std::vector<double> MeanHessian(const HessianAccumulator& acc, std::vector<bool>* dead) {
  const int64_t k = acc.k();
  const double scale = 1.0 / static_cast<double>(std::max<int64_t>(acc.rows(), 1));
  std::vector<double> h(static_cast<size_t>(k * k));
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = i; j < k; ++j) h[i * k + j] = h[j * k + i] = acc.sum()[i * k + j] * scale;
  }
  dead->assign(static_cast<size_t>(k), false);
  for (int64_t i = 0; i < k; ++i) {
    if (h[i * k + i] == 0) {
      h[i * k + i] = 1;
      (*dead)[i] = true;
    }
  }
  return h;
}

absl::StatusOr<std::vector<double>> InverseCholeskyUpper(const std::vector<double>& h, int64_t k,
                                                         double damp) {
  using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const Matrix> hm(h.data(), k, k);
  if (!(damp >= 0 && damp <= 1)) {  // also NaN
    return absl::InvalidArgumentError(
        absl::StrCat("dampening ", damp, " is not a fraction from 0 to 1"));
  }
  const double mean_diag = hm.diagonal().mean();
  // Ten times more dampening after each failed factorization; from no
  // dampening the first step is 1e-6.
  for (double factor = damp; factor <= 1.0; factor = factor == 0 ? 1e-6 : factor * 10) {
    Matrix d = hm;
    d.diagonal().array() += factor * (mean_diag > 0 ? mean_diag : 1.0);
    Eigen::LLT<Matrix> llt(d);
    if (llt.info() != Eigen::Success) continue;
    const Matrix inverse = llt.solve(Matrix::Identity(k, k));
    Eigen::LLT<Matrix> inv_llt(inverse);
    if (inv_llt.info() != Eigen::Success) continue;
    const Matrix u = inv_llt.matrixU();
    return std::vector<double>(u.data(), u.data() + k * k);
  }
  return absl::InternalError("the Hessian is not positive definite even after dampening");
}

}  // namespace pare::data
