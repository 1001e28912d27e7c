#include "quantize/gptq.h"

#include <Eigen/Core>
#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "data/hessian.h"

namespace pare::quantize {

namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

absl::StatusOr<BlockQuantized> QuantizeGptq(const float* w, int64_t k, int64_t n,
                                            const BlockSpec& spec,
                                            const data::HessianAccumulator& acc,
                                            const GptqOptions& o) {
  if (acc.k() != k) {
    return absl::InvalidArgumentError(
        absl::StrCat("Hessian of ", acc.k(), " inputs for a weight of ", k, " rows"));
  }
  std::vector<bool> dead;
  const std::vector<double> mean = data::MeanHessian(acc, &dead);
  const Eigen::Map<const Matrix> h(mean.data(), k, k);
  Matrix weight(k, n);
  for (int64_t i = 0; i < k * n; ++i) weight.data()[i] = w[i];
  // Inputs never seen carry no information: their rows go to zero.
  for (int64_t i = 0; i < k; ++i) {
    if (dead[i]) weight.row(i).setZero();
  }
  std::vector<int64_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  if (o.act_order) {
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return h(a, a) > h(b, b); });
  }
  std::vector<double> hp(static_cast<size_t>(k * k));
  Matrix wp(k, n);
  for (int64_t i = 0; i < k; ++i) {
    wp.row(i) = weight.row(order[i]);
    for (int64_t j = 0; j < k; ++j) hp[i * k + j] = h(order[i], order[j]);
  }
  ASSIGN_OR_RETURN(const std::vector<double> u_values, data::InverseCholeskyUpper(hp, k, o.damp));
  const Eigen::Map<const Matrix> u(u_values.data(), k, k);

  BlockQuantized q(k, n, spec);
  // Static groups (act order): parameters from the original weight.
  std::vector<float> original(w, w + k * n);
  if (o.act_order) {
    const BlockQuantized rtn = QuantizeRtn(original.data(), k, n, spec);
    q.scales = rtn.scales;
    q.zeros = rtn.zeros;
  }
  std::vector<float> column(static_cast<size_t>(spec.block));
  for (int64_t start = 0; start < k; start += o.lazy_block) {
    const int64_t end = std::min(k, start + o.lazy_block);
    Matrix errors(end - start, n);
    for (int64_t i = start; i < end; ++i) {
      const int64_t row = order[i];
      if (!o.act_order && row % spec.block == 0) {
        // A new block of rows: its parameters from the weight as updated so far.
        const int64_t count = std::min(spec.block, k - row);
        for (int64_t col = 0; col < n; ++col) {
          for (int64_t r = 0; r < count; ++r) column[r] = static_cast<float>(wp(i + r, col));
          ChooseBlockParams(column.data(), count, 1, spec,
                            &q.scales[col * q.blocks + row / spec.block],
                            &q.zeros[col * q.blocks + row / spec.block]);
        }
      }
      const double d = u(i, i);
      for (int64_t col = 0; col < n; ++col) {
        const float v = static_cast<float>(wp(i, col));
        // A weight that is exactly zero (pruned) stays exactly zero: its code
        // is the block's (integer) zero point, and what the updates had
        // added to it spreads on like any rounding error.
        q.Code(row, col) = w[row * n + col] == 0
                               ? static_cast<uint8_t>(q.Zero(row, col))
                               : QuantizeCode(v, q.Scale(row, col), q.Zero(row, col), spec.bits);
        errors(i - start, col) = (v - q.Dequantize(row, col)) / d;
      }
      // Spread this row's error over the rest of the lazy block now.
      for (int64_t j = i + 1; j < end; ++j) wp.row(j) -= u(i, j) * errors.row(i - start);
    }
    // And over every later row at once.
    if (end < k) {
      wp.bottomRows(k - end).noalias() -=
          u.block(start, end, end - start, k - end).transpose() * errors;
    }
  }
  return q;
}

}  // namespace pare::quantize
