// GPTQ (Frantar et al., 2022): quantizes a MatMul weight W [K, N] one input
// row at a time, in the order of the inverse Hessian's Cholesky factor, and
// after each row spreads its rounding error over the rows not yet quantized
// so that X W changes least for the calibration inputs X. H = X^T X comes
// from calibration (data::HessianAccumulator), dampened by
// `damp` x mean(diag H). Rows are processed in blocks of 128 with lazy
// updates; with act_order, rows go by decreasing diag(H) and block
// parameters are fixed up front from the original weight ("static groups").
// Weights that are exactly zero (pruned) stay exactly zero, so sparsity
// survives quantization.
#ifndef PARE_QUANTIZE_GPTQ_H_
#define PARE_QUANTIZE_GPTQ_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "data/hessian.h"
#include "quantize/blockwise.h"

namespace pare::quantize {

struct GptqOptions {
  double damp = 0.01;
  bool act_order = false;
  int64_t lazy_block = 128;
};

absl::StatusOr<BlockQuantized> QuantizeGptq(const float* w, int64_t k, int64_t n,
                                            const BlockSpec& spec,
                                            const data::HessianAccumulator& h,
                                            const GptqOptions& options = {});

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_GPTQ_H_
