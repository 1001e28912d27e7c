// GPTQ (Frantar et al., 2022) straight into a GGUF block format's grids:
// the calibrated path of GGUF export. Each block of a weight row is first
// packed by the format's own codec from the weight as GPTQ has updated it
// so far, which fixes the block's scales (for K-quants the float16
// super-block scale and minimum and the 6-bit sub-block scales, as llama.cpp
// would choose them; the one-scale legacy blocks search their scale with
// each input weighted by its Hessian diagonal, as llama.cpp does with an
// importance matrix); then every code is chosen on that grid one input at a
// time, and its rounding error is spread over the inputs not yet quantized,
// weighted by the inverse Hessian of the layer's calibration inputs, so the
// layer's output changes least. The bytes are the format's, so llama.cpp
// reads them as any file of that type.
//
//   ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
//                    QuantizeGptqIntoBlocks(rows, out, in, hessian, *FindQuantFormat("q4_k")));
#ifndef PARE_QUANTIZE_GRID_GPTQ_H_
#define PARE_QUANTIZE_GRID_GPTQ_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/quant_format.h"
#include "data/hessian.h"
#include "runtime/thread_pool.h"

namespace pare::quantize {

struct GridGptqOptions {
  double damp = 0.01;                   // of mean(diag H), as data::InverseCholeskyUpper takes it
  runtime::ThreadPool* pool = nullptr;  // rows in parallel; inline when null
};

// `rows` [out, in] row-major (GGUF's layout: each row one output's weights
// over the inputs), `in` a multiple of the format's block, `h` summed over
// the inputs the weight multiplies. Returns out * in / block blocks, row
// after row, as the format lays them out.
absl::StatusOr<std::vector<uint8_t>> QuantizeGptqIntoBlocks(const float* rows, int64_t out,
                                                            int64_t in,
                                                            const data::HessianAccumulator& h,
                                                            const QuantFormat& format,
                                                            const GridGptqOptions& options = {});

// Weights quantized without error feedback: each block packed by the
// format's weighted grid search, each input weighted by `importance` (in
// values: an importance matrix's mean squares), or equally when null (the
// token embedding, a lookup): the least weighted squared error among its
// candidates rather than the reference codec's extreme-based scale.
// REQUIRES: format.pack_weighted.
std::vector<uint8_t> PackRowsWeighted(const float* rows, int64_t out, int64_t in,
                                      const QuantFormat& format,
                                      runtime::ThreadPool* pool = nullptr,
                                      const float* importance = nullptr);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_GRID_GPTQ_H_
