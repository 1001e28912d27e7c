// The usage examples at the top of pare's public headers, verbatim, so the
// build fails when one stops compiling. Each function is one header's
// example (the `// example:` line names it); its parameters are what the
// example takes from its surroundings. Nothing here runs:
// tests/doc/check_header_examples.py checks that every example line of
// those headers appears here, and the build compiles this file.
#include <cstdint>
#include <iostream>
#include <memory>
#include <vector>

#include "analysis/device.h"
#include "analysis/memory_account.h"
#include "artifacts/artifact.h"
#include "artifacts/gguf_llama.h"
#include "core/onnx_io.h"
#include "core/quant_format.h"
#include "core/rewrite.h"
#include "core/stage.h"
#include "core/status_macros.h"
#include "evaluate/evaluate.h"
#include "plan/fit.h"
#include "plan/mixed_precision.h"
#include "plan/sweep.h"
#include "prune/prune.h"
#include "quantize/opset_upgrade.h"
#include "quantize/static_int8.h"
#include "quantize/weight_only.h"
#include "runtime/session.h"

namespace pare::doc {

// example: core/onnx_io.h
absl::Status LoadAndSave() {
  ASSIGN_OR_RETURN(Model model, LoadModel("in/model.onnx"));
  RETURN_IF_ERROR(SaveModel(model, "out/model.onnx"));
  return absl::OkStatus();
}

// example: core/quant_format.h
uint64_t PackOneBlock(const float* values, float* restored) {
  const QuantFormat* q = FindQuantFormat("q4_0");
  std::vector<uint8_t> block(q->bytes_per_block);
  q->pack(values, block.data());      // 32 floats -> 18 bytes
  q->unpack(block.data(), restored);  // and back
  uint64_t bytes = FixedFormatBytes(*q, /*elements=*/4096 * 4096);
  return bytes;
}

// example: core/rewrite.h
absl::Status RaiseForQdq(Model& model) {
  RewritePasses passes;
  passes.push_back(StatusRewrite("opset-10", quantize::UpgradeToOpset10));
  ASSIGN_OR_RETURN(std::vector<RewriteOutcome> done, ApplyRewrites(model, passes));
  return absl::OkStatus();
}

// example: core/stage.h
struct Report {};
struct Options {};
absl::StatusOr<Report> MyStageOn(Model&, const Options&) { return Report{}; }
absl::StatusOr<Report> MyStage(Model& model, const Options& o) {
  return CommitOnSuccess(model, [&](Model& work) { return MyStageOn(work, o); });
}

// example: runtime/session.h
absl::Status RunSession(const Model& model, const Tensor& input) {
  using runtime::Session;
  ASSIGN_OR_RETURN(auto session, Session::Create(model, {.threads = 2}));
  ASSIGN_OR_RETURN(std::vector<Tensor> outputs, session->Run({input}));
  return absl::OkStatus();
}

// example: quantize/static_int8.h
absl::Status StaticInt8(Model& model, const quantize::CalibrationData& calibration) {
  using namespace quantize;
  ASSIGN_OR_RETURN(QuantizeReport report,
                   QuantizeStaticInt8(model, calibration, {.per_channel = true}));
  return absl::OkStatus();
}

// example: quantize/weight_only.h
absl::Status WeightOnly(Model& model, const quantize::CalibrationData& calibration) {
  using namespace quantize;
  WeightOnlyOptions o{.algorithm = WeightAlgorithm::kGptq, .bits = 4};
  ASSIGN_OR_RETURN(QuantizeReport r, QuantizeWeightOnly(model, &calibration, o));
  return absl::OkStatus();
}

// example: prune/prune.h
absl::Status PruneWanda(Model& model, const data::CalibrationData& calibration) {
  using namespace prune;
  PruneOptions o{.method = PruneMethod::kWanda, .sparsity = 0.5};
  ASSIGN_OR_RETURN(PruneReport r, Prune(model, &calibration, o));
  return absl::OkStatus();
}

// example: evaluate/evaluate.h
absl::Status EvaluateInt8() {
  using namespace evaluate;
  EvaluateOptions options{
      .reference = "model.onnx", .candidates = {"model.int8.onnx"}, .random_samples = 16};
  ASSIGN_OR_RETURN(EvaluateReport report, Evaluate(options));
  bool ok = report.passed();  // every gate held
  return ok ? absl::OkStatus() : absl::InternalError("a gate failed");
}

// example: analysis/device.h
absl::Status Device() {
  using namespace analysis;
  ASSIGN_OR_RETURN(DeviceProfile d, FindDeviceProfile("m4-24gb"));
  uint64_t budget = d.usable_bytes();  // 16 GiB of the 24
  return budget > 0 ? absl::OkStatus() : absl::InternalError("no budget");
}

// example: analysis/memory_account.h
absl::Status Account(const Model& model, const analysis::DeviceProfile& device) {
  using namespace analysis;
  AccountOptions o{.context = 8192};
  ASSIGN_OR_RETURN(MemoryAccount a, AccountMemory(model, device, o));
  std::cout << AccountToText(a);  // the table and "fits" / "does not fit"
  return absl::OkStatus();
}

// example: artifacts/artifact.h
absl::Status Artifact(const Model& model, const nlohmann::json& manifest) {
  using namespace artifacts;
  ASSIGN_OR_RETURN(std::vector<ArtifactFile> files,
                   WriteArtifact(model, "out/llm-m4", manifest, /*replace=*/false));
  RETURN_IF_ERROR(VerifyArtifact("out/llm-m4").status());  // hashes, then a load
  return absl::OkStatus();
}

// example: artifacts/gguf_llama.h
absl::Status Gguf(const Model& model) {
  using namespace artifacts;
  ASSIGN_OR_RETURN(GgufExport r, ExportLlamaGguf(model, "model.gguf", {.type = GgmlType::kQ4_0}));
  return absl::OkStatus();
}

// example: plan/fit.h
absl::Status FitToDevice(const analysis::DeviceProfile& device, const plan::Precision& int8,
                         const plan::Precision& int4_g32) {
  using namespace plan;
  FitOptions o{.device = device, .candidates = {int8, int4_g32}, .calib_tokens = "calib.txt"};
  ASSIGN_OR_RETURN(FitResult r, Fit("model.onnx", "out/model-m4", o));
  return absl::OkStatus();
}

// example: plan/sweep.h
absl::Status Sweep(const plan::FitOptions& fit_options) {
  using namespace plan;
  SweepOptions o{.base = fit_options, .recipes = {"int8", "int4-g32", "fit@2.5MB"}};
  ASSIGN_OR_RETURN(std::vector<nlohmann::json> results, RunSweep("model.onnx", "report/", o));
  return absl::OkStatus();
}

// example: plan/mixed_precision.h
absl::Status MixedPrecision(const Model& float_model, const quantize::CalibrationData& calibration,
                            const data::SampleSource& validation) {
  using namespace plan;
  ASSIGN_OR_RETURN(MixedPrecisionResult r,
                   QuantizeToTarget(float_model, calibration, validation, {.min_sqnr_db = 25}));
  // r.model is the quantized model, r.promoted the layers kept wider.
  return absl::OkStatus();
}

}  // namespace pare::doc
