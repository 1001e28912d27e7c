// libFuzzer target for the compression stages: a model that loads is
// quantized (dynamic int8, static int8 QDQ and QOperator, int4 RTN and HQQ)
// and pruned (magnitude, 2:4, channels, Wanda), each on its own copy, and
// every result is planned by the runtime and saved. Seeded with zoo models
// and mutated at the protobuf level (proto_mutator.h) as well as bytewise.
// Any outcome but a crash, sanitizer report, hang or unbounded allocation is
// fine: errors must come back as statuses.
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/onnx_io.h"
#include "data/inputs.h"
#include "prune/prune.h"
#include "quantize/dynamic_int8.h"
#include "quantize/static_int8.h"
#include "quantize/weight_only.h"
#include "runtime/session.h"
#include "tests/fuzz/proto_mutator.h"

namespace {

constexpr int64_t kMaxInputElements = 1 << 14;

std::filesystem::path ScratchDir() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "pare-fuzz-XXXXXX").string();
    return std::filesystem::path(::mkdtemp(pattern.data()));
  }();
  return dir;
}

// Calibration runs the model, so it is only offered when every input has a
// small, fully known shape (as the run fuzzer requires).
bool SmallStaticInputs(const pare::Model& model) {
  for (const pare::ValueInfo* v : pare::data::FeedableInputs(model)) {
    if (!v->shape) return false;
    int64_t count = 1;
    for (const pare::Dim& d : *v->shape) {
      if (!d.value || *d.value < 0 || *d.value > kMaxInputElements) return false;
      count *= *d.value;
      if (count > kMaxInputElements) return false;
    }
  }
  return true;
}

// What a later stage or the user does with a result: plan it and write it.
void UseResult(const pare::Model& model) {
  (void)pare::runtime::Session::Create(model, {.threads = 1, .max_tensor_bytes = 1 << 26});
  (void)pare::SaveModel(model, ScratchDir() / "out.onnx");
}

using Stage = std::function<absl::Status(pare::Model&, const pare::data::CalibrationData*)>;

template <typename Report>
absl::Status Ok(const absl::StatusOr<Report>& r) {
  return r.status();
}

std::vector<Stage> Stages() {
  using pare::Model;
  using pare::data::CalibrationData;
  namespace q = pare::quantize;
  namespace p = pare::prune;
  std::vector<Stage> stages;
  stages.push_back(
      [](Model& m, const CalibrationData*) { return Ok(q::QuantizeDynamicInt8(m, {})); });
  for (q::WeightAlgorithm a : {q::WeightAlgorithm::kRtn, q::WeightAlgorithm::kHqq}) {
    stages.push_back([a](Model& m, const CalibrationData*) {
      q::WeightOnlyOptions o;
      o.algorithm = a;
      o.threads = 1;
      return Ok(q::QuantizeWeightOnly(m, nullptr, o));
    });
  }
  for (auto format :
       {q::StaticInt8Options::Format::kQdq, q::StaticInt8Options::Format::kQOperator}) {
    stages.push_back([format](Model& m, const CalibrationData* data) {
      if (!data) return absl::OkStatus();
      q::StaticInt8Options o;
      o.format = format;
      o.threads = 1;
      return Ok(q::QuantizeStaticInt8(m, *data, o));
    });
  }
  struct Pruning {
    p::PruneMethod method;
    p::NmPattern pattern;
  };
  for (Pruning pruning :
       {Pruning{p::PruneMethod::kMagnitude, {}}, Pruning{p::PruneMethod::kMagnitude, {2, 4}},
        Pruning{p::PruneMethod::kChannels, {}}, Pruning{p::PruneMethod::kWanda, {}}}) {
    stages.push_back([pruning](Model& m, const CalibrationData* data) {
      if (pruning.method == p::PruneMethod::kWanda && !data) return absl::OkStatus();
      p::PruneOptions o;
      o.method = pruning.method;
      o.pattern = pruning.pattern;
      o.sparsity = 0.5;
      o.threads = 1;
      return Ok(p::Prune(m, data, o));
    });
  }
  return stages;
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  // Mostly structured edits; some byte flips so the parser's edges are kept.
  if (seed % 4 != 0) {
    if (size_t n = pare::fuzz::MutateModelProto(data, size, max_size, seed)) return n;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pare::LoadOptions options;
  options.max_tensor_bytes = 1 << 24;
  auto model = pare::ParseModel({data, size}, ScratchDir(), options);
  if (!model.ok()) return 0;
  std::vector<std::vector<pare::Tensor>> samples;
  if (SmallStaticInputs(*model)) {
    auto inputs = pare::data::RandomInputs(*model, 1, {});
    if (inputs.ok()) samples.push_back(std::move(*inputs));
  }
  const pare::data::CalibrationData calibration{
      static_cast<int64_t>(samples.size()),
      [&](int64_t i) -> absl::StatusOr<std::vector<pare::Tensor>> { return samples[i]; },
      "one random sample", 1 << 26};
  static const std::vector<Stage> stages = Stages();
  for (const Stage& stage : stages) {
    pare::Model copy = *model;
    if (stage(copy, samples.empty() ? nullptr : &calibration).ok()) UseResult(copy);
  }
  return 0;
}
