#include "plan/sensitivity.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "data/calibration_data.h"
#include "quantize/static_int8.h"
#include "runtime/session.h"

namespace pare::plan {

using data::Sample;
using data::SampleSource;
using evaluate::ErrorStats;
using evaluate::SensitivityEntry;

namespace {

std::string LabelOf(const Node& n) { return n.name.empty() ? n.outputs[0] : n.name; }

}  // namespace

absl::StatusOr<std::vector<SensitivityEntry>> QuantizationSensitivity(const Model& reference,
                                                                      const SampleSource& samples,
                                                                      const SensitivityOptions& o) {
  const int64_t calib = std::min(o.calibration_samples, samples.size());
  const int64_t eval = std::min(o.evaluation_samples, samples.size() - calib);
  if (calib <= 0 || eval <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sensitivity needs ", o.calibration_samples, " calibration and ", o.evaluation_samples,
        " evaluation samples; the inputs hold ", samples.size()));
  }
  // Which layers the quantizer would take, from one whole-model pass.
  Model whole = reference;
  ASSIGN_OR_RETURN(
      quantize::QuantizeReport plan,
      quantize::QuantizeStaticInt8(
          whole, data::CalibrationOver(samples, calib, "sensitivity calibration"), o.quantize));
  // The reference's outputs on the evaluation samples, kept (few samples).
  ASSIGN_OR_RETURN(auto ref_session, runtime::Session::Create(reference, {.threads = o.threads}));
  std::vector<std::vector<Tensor>> inputs, expected;
  for (int64_t i = 0; i < eval; ++i) {
    ASSIGN_OR_RETURN(Sample s, samples.Get(calib + i));
    ASSIGN_OR_RETURN(std::vector<Tensor> out, ref_session->Run(s.inputs));
    inputs.push_back(std::move(s.inputs));
    expected.push_back(std::move(out));
  }
  std::vector<SensitivityEntry> entries;
  const int64_t total = static_cast<int64_t>(plan.quantized_nodes.size());
  for (int64_t k = 0; k < total; ++k) {
    const std::string& target = plan.quantized_nodes[k];
    quantize::StaticInt8Options one = o.quantize;
    for (const std::string& other : plan.quantized_nodes) {
      if (other != target) one.exclude.push_back(other);
    }
    Model model = reference;
    RETURN_IF_ERROR(
        quantize::QuantizeStaticInt8(
            model, data::CalibrationOver(samples, calib, "sensitivity calibration"), one)
            .status());
    ASSIGN_OR_RETURN(auto session, runtime::Session::Create(model, {.threads = o.threads}));
    std::vector<ErrorStats> errors(expected[0].size());
    for (int64_t i = 0; i < eval; ++i) {
      ASSIGN_OR_RETURN(std::vector<Tensor> got, session->Run(inputs[i]));
      for (size_t j = 0; j < got.size() && j < errors.size(); ++j) {
        ASSIGN_OR_RETURN(std::vector<float> r, expected[i][j].ToFloat32());
        ASSIGN_OR_RETURN(std::vector<float> c, got[j].ToFloat32());
        if (r.size() == c.size()) errors[j].Add(r.data(), c.data(), r.size());
      }
    }
    SensitivityEntry e{target, "", errors[0].Summary()};
    for (const ErrorStats& s : errors) {
      if (s.Summary().sqnr_db < e.error.sqnr_db) e.error = s.Summary();
    }
    for (const Node& n : reference.graph.nodes) {
      if (LabelOf(n) == target) e.op_type = n.op_type;
    }
    entries.push_back(std::move(e));
    if (o.progress) o.progress(k + 1, total);
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const SensitivityEntry& a, const SensitivityEntry& b) {
                     return a.error.sqnr_db < b.error.sqnr_db;
                   });
  return entries;
}

}  // namespace pare::plan
