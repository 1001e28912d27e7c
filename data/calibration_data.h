// Calibration data: sample inputs produced on demand, and running them
// through a model to observe the activations that reach chosen operators.
// Shared by the stages that need data (quantize: int8 ranges, GPTQ, AWQ;
// prune: Wanda, SparseGPT), so none reaches into another. The statistics
// they gather live with each stage (quantize/calibration.h for int8
// ranges) or in data/hessian.h.
//
//   CalibrationData samples{count, [&](int64_t i) { return LoadSample(i); }, "32 samples"};
//   HessianAccumulator h(k);
//   RETURN_IF_ERROR(RunSamples(model, samples, threads, {"x"},
//                   [&](const Tensor& t) { h.Add(t.data<float>(), rows); }, nullptr));
#ifndef PARE_DATA_CALIBRATION_DATA_H_
#define PARE_DATA_CALIBRATION_DATA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/model.h"
#include "data/samples.h"

namespace pare::data {

// Calibration data: `count` samples, produced on demand.
struct CalibrationData {
  int64_t count = 0;
  std::function<absl::StatusOr<std::vector<Tensor>>(int64_t index)> sample;
  std::string description;  // for reports
  // Caps each tensor a sample's run may allocate (the session's limit); a
  // fuzzer or a service lowers it so a damaged model fails fast.
  uint64_t max_tensor_bytes = uint64_t{1} << 36;
};

// Calibration over a sample source's inputs (a data folder, random inputs,
// token chunks: data/samples.h), in its order and with its description.
CalibrationData CalibrationFrom(std::shared_ptr<const SampleSource> samples);

// The first `count` samples of `samples`, which must outlive the result.
CalibrationData CalibrationOver(const SampleSource& samples, int64_t count,
                                std::string description);

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

}  // namespace pare::data

#endif  // PARE_DATA_CALIBRATION_DATA_H_
