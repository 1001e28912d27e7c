// GPTQ (Frantar et al., 2022): quantizes a MatMul weight W [K, N] one input
// row at a time, in the order of the inverse Hessian's Cholesky factor, and
// after each row spreads its rounding error over the rows not yet quantized
// so that X W changes least for the calibration inputs X. H = X^T X comes
// from calibration (accumulated by HessianAccumulator), dampened by
// `damp` x mean(diag H). Rows are processed in blocks of 128 with lazy
// updates; with act_order, rows go by decreasing diag(H) and block
// parameters are fixed up front from the original weight ("static groups").
#ifndef PARE_QUANTIZE_GPTQ_H_
#define PARE_QUANTIZE_GPTQ_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "quantize/blockwise.h"

namespace pare::quantize {

// Sum of x x^T over the rows of activations [rows, K] fed to it, in double.
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t k) : k_(k), h_(static_cast<size_t>(k * k), 0.0) {}
  void Add(const float* rows, int64_t count);
  int64_t k() const { return k_; }
  int64_t rows() const { return rows_; }
  const std::vector<double>& sum() const { return h_; }

 private:
  int64_t k_, rows_ = 0;
  std::vector<double> h_;
};

struct GptqOptions {
  double damp = 0.01;
  bool act_order = false;
  int64_t lazy_block = 128;
};

absl::StatusOr<BlockQuantized> QuantizeGptq(const float* w, int64_t k, int64_t n,
                                            const BlockSpec& spec, const HessianAccumulator& h,
                                            const GptqOptions& options = {});

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_GPTQ_H_
