#include "data/calibration_data.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "runtime/session.h"

namespace pare::data {

CalibrationData CalibrationOver(const SampleSource& samples, int64_t count,
                                std::string description) {
  CalibrationData data;
  data.count = count;
  data.description = std::move(description);
  data.sample = [&samples](int64_t i) -> absl::StatusOr<std::vector<Tensor>> {
    ASSIGN_OR_RETURN(Sample s, samples.Get(i));
    return std::move(s.inputs);
  };
  return data;
}

CalibrationData CalibrationFrom(std::shared_ptr<const SampleSource> samples) {
  CalibrationData data = CalibrationOver(*samples, samples->size(), samples->Describe());
  // The calibration owns its source from here.
  data.sample = [samples = std::move(samples), read = std::move(data.sample)](int64_t i) {
    return read(i);
  };
  return data;
}

absl::Status RunSamples(const Model& model, const CalibrationData& data, int threads,
                        const absl::flat_hash_set<std::string>& watch,
                        const std::function<void(const Tensor&)>& observe,
                        const std::function<void(int64_t done, int64_t total)>& progress) {
  runtime::RunOptions run;
  run.watch = watch;
  run.observer = [&](const Node&, const Tensor& t) { observe(t); };
  ASSIGN_OR_RETURN(
      auto session,
      runtime::Session::Create(
          model, {.threads = threads, .max_tensor_bytes = data.max_tensor_bytes, .fuse = false}));
  for (int64_t i = 0; i < data.count; ++i) {
    ASSIGN_OR_RETURN(std::vector<Tensor> inputs, data.sample(i));
    for (const Tensor& t : inputs) observe(t);  // graph inputs are not node outputs
    auto out = session->Run(inputs, run);
    if (!out.ok()) {
      return absl::Status(out.status().code(),
                          absl::StrCat("calibration sample ", i, ": ", out.status().message()));
    }
    if (progress) progress(i + 1, data.count);
  }
  return absl::OkStatus();
}

absl::Status RunSamplesAsRows(const Model& model, const CalibrationData& data, int threads,
                              const absl::flat_hash_set<std::string>& watch,
                              const std::function<void(const std::string& name, const float* rows,
                                                       int64_t count, int64_t k)>& observe,
                              const std::function<void(int64_t done, int64_t total)>& progress) {
  auto rows = [&](const Tensor& t) {
    if (!watch.contains(t.name()) || t.dtype() != DataType::kFloat32 || t.dims().empty()) return;
    const int64_t k = t.dims().back();
    if (k <= 0) return;
    observe(t.name(), t.data<float>(), static_cast<int64_t>(t.element_count()) / k, k);
  };
  return RunSamples(model, data, threads, watch, rows, progress);
}

}  // namespace pare::data
