// Calibration for GGUF export: each projection input's second-order
// statistics over calibration samples, run through pare's executor on the
// ONNX model. They give GPTQ into the GGUF blocks (quantize/grid_gptq.h)
// its Hessians, and llama.cpp's importance matrix its values: the imatrix
// entry of a weight is the diagonal of its input's Hessian, the sum of x^2
// per input over the calibration tokens.
#ifndef PARE_CLI_GGUF_CALIBRATION_H_
#define PARE_CLI_GGUF_CALIBRATION_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "artifacts/gguf_llama.h"
#include "artifacts/imatrix.h"
#include "core/model.h"
#include "data/calibration_data.h"
#include "data/hessian.h"
#include "runtime/thread_pool.h"

namespace pare::cli {

class ProjectionStats {
 public:
  // Watches the data input of every MatMul/Gemm with a constant 2-D weight.
  static absl::StatusOr<ProjectionStats> Collect(const Model& model,
                                                 const data::CalibrationData& data, int threads);

  // The Hessian of the inputs `value` carries, or null when not watched.
  const data::HessianAccumulator* Find(const std::string& value) const;

  // llama.cpp's importance matrix for the weights a GGUF export wrote:
  // each entry the sum of x^2 per input of the value its projection reads.
  artifacts::ImportanceMatrix Importance(const artifacts::GgufExport& exported,
                                         const std::string& dataset) const;

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<data::HessianAccumulator>> by_input_;
};

// GgufExportOptions::encoder: GPTQ into the blocks for every weight whose
// input `stats` watched; the others (the token embedding) by the one-scale
// formats' least-squares grid search, or to nearest in K-quant blocks. `stats` and `pool` must
// outlive the export.
auto GptqEncoder(const ProjectionStats& stats, double damp, runtime::ThreadPool* pool)
    -> decltype(artifacts::GgufExportOptions::encoder);

// GgufExportOptions::encoder from an importance matrix (llama.cpp's, or
// pare's --write-imatrix): the one-scale formats' grids and Q4_K/Q5_K's fit
// weighted by each input's mean square, as llama.cpp's quantizer does with
// one; Q2_K/Q3_K/Q6_K blocks and weights without an entry round to nearest. `m`
// and `pool` must outlive the export.
auto ImatrixEncoder(const artifacts::ImportanceMatrix& m, runtime::ThreadPool* pool)
    -> decltype(artifacts::GgufExportOptions::encoder);

}  // namespace pare::cli

#endif  // PARE_CLI_GGUF_CALIBRATION_H_
