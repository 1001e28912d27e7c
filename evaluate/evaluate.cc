#include "evaluate/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model_summary.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"
#include "data/inputs.h"
#include "data/samples.h"
#include "runtime/session.h"

namespace pare::evaluate {
namespace fs = std::filesystem;
namespace {

ModelSize SizeOf(const Model& model, const fs::path& path) {
  const ModelSummary s = Summarize(model, 0);
  ModelSize size{0, s.parameter_bytes, s.parameter_count};
  std::error_code ec;
  size.file_bytes = fs::file_size(path, ec);
  if (ec) size.file_bytes = 0;
  for (const ExternalFileTotals& f : s.external_files) size.file_bytes += f.file_bytes.value_or(0);
  return size;
}

std::string Shape(const std::vector<int64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

// The reference's outputs for each sample: from the model, or from disk.
class ReferenceOutputs {
 public:
  static absl::StatusOr<ReferenceOutputs> FromModel(const Model& model, int threads) {
    ReferenceOutputs r;
    ASSIGN_OR_RETURN(r.session_, runtime::Session::Create(model, {.threads = threads}));
    return r;
  }
  static absl::StatusOr<ReferenceOutputs> FromFolder(const fs::path& dir) {
    ReferenceOutputs r;
    if (!fs::is_directory(dir))
      return absl::NotFoundError(absl::StrCat(dir.string(), ": not a folder"));
    r.sets_ = data::DataSets(dir);
    if (r.sets_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(dir.string(), ": no stored outputs"));
    }
    return r;
  }

  absl::StatusOr<std::vector<Tensor>> Get(int64_t index, const std::vector<Tensor>& inputs) {
    if (session_) return session_->Run(inputs);
    if (index >= static_cast<int64_t>(sets_.size())) {
      return absl::InvalidArgumentError(absl::StrCat("stored reference outputs cover ",
                                                     sets_.size(), " samples, not ", index + 1));
    }
    std::vector<Tensor> outputs;
    for (int i = 0;; ++i) {
      const fs::path file = sets_[index] / absl::StrCat("output_", i, ".pb");
      if (!fs::exists(file)) break;
      ASSIGN_OR_RETURN(Tensor t, LoadTensorProto(file));
      if (t.name().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(file.string(), ": the tensor has no name"));
      }
      outputs.push_back(std::move(t));
    }
    if (outputs.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(sets_[index].string(), ": no output_0.pb"));
    }
    return outputs;
  }

 private:
  std::unique_ptr<runtime::Session> session_;
  std::vector<fs::path> sets_;
};

// Writes one sample's inputs and reference outputs in the ONNX test layout.
absl::Status SaveSample(const fs::path& dir, int64_t index, const std::vector<Tensor>& inputs,
                        const std::vector<Tensor>& outputs) {
  const fs::path set = dir / absl::StrCat("test_data_set_", index);
  std::error_code ec;
  fs::create_directories(set, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat(set.string(), ": ", ec.message()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    RETURN_IF_ERROR(SaveTensorProto(inputs[i], set / absl::StrCat("input_", i, ".pb")));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    RETURN_IF_ERROR(SaveTensorProto(outputs[i], set / absl::StrCat("output_", i, ".pb")));
  }
  return absl::OkStatus();
}

// Accumulators for one candidate.
struct CandidateState {
  fs::path path;
  Model model;
  std::unique_ptr<runtime::Session> session;
  std::vector<std::string> names;  // reference output names, in order
  std::vector<std::vector<int64_t>> shapes;
  std::vector<ErrorStats> errors;
  std::vector<TopKStats> topk;
  LmStats lm;
  bool lm_used = false;
  std::unique_ptr<LayerAnalysis> layers;
};

const Tensor* FindByName(const std::vector<Tensor>& tensors, const std::string& name) {
  for (const Tensor& t : tensors) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// The logits output of a language model: [1, positions, vocab] (or
// [positions, vocab]); "logits" by name, else the first output of rank 3.
int FindLogits(const std::vector<Tensor>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].name() == "logits") return static_cast<int>(i);
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].dims().size() == 3) return static_cast<int>(i);
  }
  return -1;
}

absl::Status Compare(CandidateState& c, const std::vector<Tensor>& reference,
                     const std::vector<Tensor>& candidate, const data::Sample& sample, Task task,
                     const std::vector<int64_t>& labels, int64_t& label_offset) {
  if (c.names.empty()) {
    for (const Tensor& t : reference) {
      c.names.push_back(t.name());
      c.shapes.push_back(t.dims());
    }
    c.errors.resize(reference.size());
    c.topk.resize(reference.size());
  }
  for (size_t i = 0; i < reference.size(); ++i) {
    const Tensor& ref = reference[i];
    const Tensor* cand = FindByName(candidate, ref.name());
    if (cand == nullptr) {
      std::vector<std::string> have;
      for (const Tensor& t : candidate) have.push_back(t.name());
      return absl::InvalidArgumentError(absl::StrCat(c.path.string(), ": no output '", ref.name(),
                                                     "' (it has: ", absl::StrJoin(have, ", "),
                                                     ")"));
    }
    if (cand->dims() != ref.dims()) {
      return absl::InvalidArgumentError(absl::StrCat(c.path.string(), ": output '", ref.name(),
                                                     "' is ", Shape(cand->dims()),
                                                     ", the reference's is ", Shape(ref.dims())));
    }
    if (cand->dtype() != ref.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat(
          c.path.string(), ": output '", ref.name(), "' is ", DataTypeName(cand->dtype()),
          ", the reference's is ", DataTypeName(ref.dtype())));
    }
    ASSIGN_OR_RETURN(std::vector<float> r, ref.ToFloat32());
    ASSIGN_OR_RETURN(std::vector<float> v, cand->ToFloat32());
    c.errors[i].Add(r.data(), v.data(), r.size());
    if (task == Task::kClassify && !ref.dims().empty() && ref.dims().back() >= 2) {
      const uint64_t classes = ref.dims().back(), rows = r.size() / classes;
      std::vector<int64_t> row_labels;
      if (i == 0 && !labels.empty()) {  // labels belong to the first output
        for (uint64_t k = 0; k < rows && label_offset < static_cast<int64_t>(labels.size()); ++k) {
          row_labels.push_back(labels[label_offset++]);
        }
      }
      c.topk[i].Add(r.data(), v.data(), rows, classes, row_labels);
    }
  }
  if (task == Task::kLm) {
    const int li = FindLogits(reference);
    if (li < 0) return absl::InvalidArgumentError("no logits output ([1, positions, vocab])");
    const Tensor& ref = reference[li];
    ASSIGN_OR_RETURN(std::vector<float> r, ref.ToFloat32());
    ASSIGN_OR_RETURN(std::vector<float> v, FindByName(candidate, ref.name())->ToFloat32());
    const uint64_t vocab = ref.dims().back(), positions = r.size() / std::max<uint64_t>(vocab, 1);
    c.lm.Add(r.data(), v.data(), positions, vocab, sample.next_tokens);
    c.lm_used = true;
  }
  return absl::OkStatus();
}

double WorstOutput(const CandidateReport& c, double ErrorSummary::*field) {
  double worst = std::numeric_limits<double>::infinity();
  for (const OutputReport& o : c.outputs) worst = std::min(worst, o.error.*field);
  return worst;
}

// NaN never passes a gate.
void CheckGates(const Thresholds& t, CandidateReport& c) {
  auto gate = [&](const char* name, double threshold, double value, bool at_most) {
    const bool ok = !std::isnan(value) && (at_most ? value <= threshold : value >= threshold);
    c.gates.push_back({name, threshold, value, ok});
  };
  if (t.min_sqnr) gate("min-sqnr", *t.min_sqnr, WorstOutput(c, &ErrorSummary::sqnr_db), false);
  if (t.min_cosine) {
    gate("min-cosine", *t.min_cosine, WorstOutput(c, &ErrorSummary::cosine), false);
  }
  if (t.min_top1) {
    double top1 = std::numeric_limits<double>::quiet_NaN();
    if (c.lm) {
      top1 = c.lm->top1_agreement;
    } else {
      for (const OutputReport& o : c.outputs) {
        if (o.topk)
          top1 = std::isnan(top1) ? o.topk->top1_agreement : std::min(top1, o.topk->top1_agreement);
      }
    }
    gate("min-top1", *t.min_top1, top1, false);
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (t.max_kl) gate("max-kl", *t.max_kl, c.lm ? c.lm->kl_mean : nan, true);
  if (t.max_ppl_increase) {
    gate("max-ppl-increase", *t.max_ppl_increase, c.lm ? c.lm->ppl_ratio - 1 : nan, true);
  }
}

absl::Status CheckOptions(const EvaluateOptions& o) {
  if (o.candidates.empty() && !o.sensitivity) {
    return absl::InvalidArgumentError("no candidate model given");
  }
  if (o.sensitivity && o.reference.empty()) {
    return absl::InvalidArgumentError("--sensitivity needs the --reference model");
  }
  if (o.reference.empty() == o.reference_outputs.empty()) {
    return absl::InvalidArgumentError("give either --reference or --reference-outputs");
  }
  const int sources = !o.data.empty() + (o.random_samples > 0) + !o.tokens.empty();
  if (sources != 1) {
    return absl::InvalidArgumentError(
        "give exactly one input source: --data, --random or --tokens");
  }
  if (!o.tokens.empty() && o.task != Task::kLm) {
    return absl::InvalidArgumentError("--tokens needs --task lm");
  }
  if (o.task == Task::kLm && o.tokens.empty()) {
    return absl::InvalidArgumentError("--task lm needs --tokens and --seq-len");
  }
  if (o.per_layer && o.reference.empty()) {
    return absl::InvalidArgumentError("--per-layer needs the --reference model");
  }
  if ((o.gates.max_kl || o.gates.max_ppl_increase) && o.task != Task::kLm) {
    return absl::InvalidArgumentError("--max-kl and --max-ppl-increase need --task lm");
  }
  if (!o.save_reference_outputs.empty() && fs::exists(o.save_reference_outputs) &&
      !fs::is_empty(o.save_reference_outputs)) {
    return absl::AlreadyExistsError(absl::StrCat(
        o.save_reference_outputs.string(), ": already exists and is not empty; give a new folder"));
  }
  if (o.gates.min_top1 && o.task == Task::kTensor) {
    return absl::InvalidArgumentError("--min-top1 needs --task classify or --task lm");
  }
  return absl::OkStatus();
}

}  // namespace

const char* TaskName(Task task) {
  switch (task) {
    case Task::kTensor:
      return "tensor";
    case Task::kClassify:
      return "classify";
    case Task::kLm:
      return "lm";
  }
  return "?";
}

bool CandidateReport::passed() const {
  return std::all_of(gates.begin(), gates.end(), [](const GateResult& g) { return g.passed; });
}

bool EvaluateReport::passed() const {
  return std::all_of(candidates.begin(), candidates.end(),
                     [](const CandidateReport& c) { return c.passed(); });
}

namespace {

// Each candidate loaded with its session (and, with --per-layer, its
// layer-by-layer comparison with the reference).
absl::StatusOr<std::vector<CandidateState>> LoadCandidates(const EvaluateOptions& o,
                                                           const std::optional<Model>& reference) {
  std::vector<CandidateState> candidates(o.candidates.size());
  for (size_t i = 0; i < o.candidates.size(); ++i) {
    CandidateState& c = candidates[i];
    c.path = o.candidates[i];
    ASSIGN_OR_RETURN(c.model, LoadModel(c.path));
    ASSIGN_OR_RETURN(c.session, runtime::Session::Create(c.model, {.threads = o.threads}));
    if (o.per_layer) {
      ASSIGN_OR_RETURN(c.layers, LayerAnalysis::Create(*reference, c.model, o.threads));
    }
  }
  return candidates;
}

// Where the samples come from: a data folder, seeded random inputs or tokens.
absl::StatusOr<std::unique_ptr<data::SampleSource>> OpenSamples(const EvaluateOptions& o,
                                                                const Model& input_model) {
  std::unique_ptr<data::SampleSource> samples;
  if (!o.data.empty()) {
    ASSIGN_OR_RETURN(samples, data::DataSamples(input_model, o.data));
  } else if (o.random_samples > 0) {
    samples = data::RandomSamples(input_model, o.random_samples, o.seed, o.dims);
  } else {
    ASSIGN_OR_RETURN(samples, data::TokenSamples(input_model, o.tokens, o.seq_len));
  }
  return samples;
}

// A candidate's report once every sample ran: sizes, per-output errors,
// language-model metrics, layers, and the gates checked.
CandidateReport Summarize(CandidateState& c, const EvaluateOptions& o,
                          const std::optional<ModelSize>& reference_size) {
  CandidateReport r;
  r.path = c.path.string();
  r.size = SizeOf(c.model, c.path);
  if (reference_size && reference_size->parameters > 0) {
    r.bits_per_weight = 8.0 * static_cast<double>(r.size.weight_bytes) /
                        static_cast<double>(reference_size->parameters);
  }
  for (size_t i = 0; i < c.names.size(); ++i) {
    OutputReport out{c.names[i], c.shapes[i], c.errors[i].Summary(), std::nullopt};
    if (c.topk[i].Summary().rows > 0) out.topk = c.topk[i].Summary();
    r.outputs.push_back(std::move(out));
  }
  if (c.lm_used) r.lm = c.lm.Summary();
  if (c.layers) r.layers = c.layers->Layers();
  CheckGates(o.gates, r);
  return r;
}

}  // namespace

absl::StatusOr<EvaluateReport> Evaluate(const EvaluateOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(CheckOptions(o));
  EvaluateReport report;
  report.task = o.task;
  std::optional<Model> reference;
  if (!o.reference.empty()) {
    ASSIGN_OR_RETURN(reference, LoadModel(o.reference));
    report.reference = o.reference.string();
    report.reference_size = SizeOf(*reference, o.reference);
  } else {
    report.reference = o.reference_outputs.string();
  }
  ASSIGN_OR_RETURN(std::vector<CandidateState> candidates, LoadCandidates(o, reference));
  const Model& input_model = reference ? *reference : candidates.at(0).model;
  ASSIGN_OR_RETURN(std::unique_ptr<data::SampleSource> samples, OpenSamples(o, input_model));
  report.inputs = samples->Describe();
  std::vector<int64_t> labels;
  if (!o.labels.empty()) {
    ASSIGN_OR_RETURN(labels, data::ReadIntegers(o.labels));
  }
  ASSIGN_OR_RETURN(ReferenceOutputs ref_source,
                   reference ? ReferenceOutputs::FromModel(*reference, o.threads)
                             : ReferenceOutputs::FromFolder(o.reference_outputs));
  const int64_t total =
      o.max_samples > 0 ? std::min(o.max_samples, samples->size()) : samples->size();
  std::vector<int64_t> label_offsets(candidates.size(), 0);
  for (int64_t s = 0; s < total; ++s) {
    ASSIGN_OR_RETURN(data::Sample sample, samples->Get(s));
    auto ref_outputs = ref_source.Get(s, sample.inputs);
    if (!ref_outputs.ok()) {
      return absl::Status(
          ref_outputs.status().code(),
          absl::StrCat("reference, sample ", s, ": ", ref_outputs.status().message()));
    }
    if (!o.save_reference_outputs.empty()) {
      RETURN_IF_ERROR(SaveSample(o.save_reference_outputs, s, sample.inputs, *ref_outputs));
    }
    for (size_t i = 0; i < candidates.size(); ++i) {
      CandidateState& c = candidates[i];
      auto outputs = c.session->Run(sample.inputs);
      if (!outputs.ok()) {
        return absl::Status(
            outputs.status().code(),
            absl::StrCat(c.path.string(), ", sample ", s, ": ", outputs.status().message()));
      }
      RETURN_IF_ERROR(Compare(c, *ref_outputs, *outputs, sample, o.task, labels, label_offsets[i]));
      if (c.layers && s < o.per_layer_samples) RETURN_IF_ERROR(c.layers->AddSample(sample.inputs));
    }
    if (o.progress) o.progress(s + 1, total);
  }
  report.samples = total;
  if (o.sensitivity) {
    ASSIGN_OR_RETURN(report.sensitivity, o.sensitivity(*reference, *samples));
  }
  for (CandidateState& c : candidates) {
    CandidateReport r = Summarize(c, o, report.reference_size);
    report.candidates.push_back(std::move(r));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace pare::evaluate
