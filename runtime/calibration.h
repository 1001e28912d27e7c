// Calibration: running sample inputs through a model and gathering
// statistics of the activations that reach chosen operators. Shared by the
// stages that need data (quantize: int8 ranges, GPTQ, AWQ; prune: Wanda,
// SparseGPT), so none reaches into another.
//
//   CalibrationData data{count, [&](int64_t i) { return LoadSample(i); }, "32 samples"};
//   HessianAccumulator h(k);
//   RETURN_IF_ERROR(RunSamples(model, data, threads, {"x"},
//                   [&](const Tensor& t) { h.Add(t.data<float>(), rows); }, nullptr));
#ifndef PARE_RUNTIME_CALIBRATION_H_
#define PARE_RUNTIME_CALIBRATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare::runtime {

// Calibration data: `count` samples, produced on demand.
struct CalibrationData {
  int64_t count = 0;
  std::function<absl::StatusOr<std::vector<Tensor>>(int64_t index)> sample;
  std::string description;  // for reports
  // Caps each tensor a sample's run may allocate (the session's limit); a
  // fuzzer or a service lowers it so a damaged model fails fast.
  uint64_t max_tensor_bytes = uint64_t{1} << 36;
};

// Runs every sample through pare's executor (no fusion, so every value is
// observable), handing `observe` the graph inputs and each value named in
// `watch`; errors name the sample.
absl::Status RunSamples(const Model& model, const CalibrationData& data, int threads,
                        const absl::flat_hash_set<std::string>& watch,
                        const std::function<void(const Tensor&)>& observe,
                        const std::function<void(int64_t done, int64_t total)>& progress);

// RunSamples for statistics over a layer's inputs: each watched float32
// value reaches `observe` as a [rows, k] matrix, k its last dimension (a
// MatMul input's features); other dtypes and scalars are passed over.
absl::Status RunSamplesAsRows(const Model& model, const CalibrationData& data, int threads,
                              const absl::flat_hash_set<std::string>& watch,
                              const std::function<void(const std::string& name, const float* rows,
                                                       int64_t count, int64_t k)>& observe,
                              const std::function<void(int64_t done, int64_t total)>& progress);

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

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_CALIBRATION_H_
