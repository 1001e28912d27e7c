#include "cli/evaluate_gguf.h"

#include <stdlib.h>

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "artifacts/gguf_decoder.h"
#include "artifacts/gguf_llama.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"

namespace pare::cli {
namespace {

namespace fs = std::filesystem;

bool IsGguf(const fs::path& p) { return absl::EndsWithIgnoreCase(p.string(), ".gguf"); }

std::map<std::string, std::vector<int64_t>> WeightShapes(const Model& m) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const Tensor& t : m.graph.initializers) shapes[t.name()] = t.dims();
  return shapes;
}

// A candidate holds the reference's weights: the same rebuilt tensors.
absl::Status CheckSameModel(const std::string& candidate, const Model& c, const Model& reference) {
  const auto mine = WeightShapes(c), theirs = WeightShapes(reference);
  for (const auto& [name, dims] : theirs) {
    auto it = mine.find(name);
    if (it == mine.end() || it->second != dims) {
      return absl::InvalidArgumentError(
          absl::StrCat(candidate, ": not the reference's model: ", name, " is [",
                       it == mine.end() ? "missing" : absl::StrJoin(it->second, ", "),
                       "], the reference's [", absl::StrJoin(dims, ", "), "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

GgufStandIns::~GgufStandIns() {
  std::error_code ignored;
  if (!dir_.empty()) fs::remove_all(dir_, ignored);
}

void GgufStandIns::RestoreNames(evaluate::EvaluateReport& report) const {
  report.reference = reference_;
  for (size_t i = 0; i < report.candidates.size() && i < candidates_.size(); ++i) {
    report.candidates[i].path = candidates_[i];
    std::error_code error;
    const uintmax_t bytes = fs::file_size(candidates_[i], error);
    if (error) continue;
    // The stand-in holds float32; the size is the file's.
    evaluate::CandidateReport& c = report.candidates[i];
    c.size.file_bytes = c.size.weight_bytes = bytes;
    if (c.size.parameters > 0) c.bits_per_weight = 8.0 * bytes / c.size.parameters;
  }
}

absl::StatusOr<std::unique_ptr<GgufStandIns>> PrepareGgufCandidates(evaluate::EvaluateOptions& o,
                                                                    bool llama_cpp_activations) {
  int gguf = 0;
  for (const fs::path& c : o.candidates) gguf += IsGguf(c);
  if (gguf == 0) return nullptr;
  if (gguf != static_cast<int>(o.candidates.size())) {
    return absl::InvalidArgumentError("evaluate GGUF candidates apart from ONNX ones");
  }
  if (o.reference.empty() || IsGguf(o.reference)) {
    return absl::InvalidArgumentError(
        "a GGUF candidate needs --reference MODEL.onnx, the float model it was made from");
  }
  auto s = std::make_unique<GgufStandIns>();
  std::string pattern = (fs::temp_directory_path() / "pare-gguf-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) return absl::InternalError("cannot make a temporary folder");
  s->dir_ = pattern;
  s->reference_ = o.reference.string();
  ASSIGN_OR_RETURN(const Model source, LoadModel(o.reference));
  // The float weights in GGUF's layout, through the same export the
  // candidates' makers used (pare's, or llama.cpp's converter's layout).
  artifacts::GgufExportOptions f32{.type = artifacts::GgmlType::kF32,
                                   .placeholder_vocabulary = true};
  const absl::StatusOr<artifacts::GgufExport> exported =
      artifacts::ExportLlamaGguf(source, s->dir_ / "reference.gguf", f32);
  if (!exported.ok()) {
    return absl::Status(exported.status().code(),
                        absl::StrCat(o.reference.string(), ": ", exported.status().message()));
  }
  ASSIGN_OR_RETURN(const Model reference, artifacts::DecoderFromGguf(s->dir_ / "reference.gguf"));
  RETURN_IF_ERROR(SaveModel(reference, s->dir_ / "reference.onnx"));
  std::vector<fs::path> stand_ins;
  for (size_t i = 0; i < o.candidates.size(); ++i) {
    s->candidates_.push_back(o.candidates[i].string());
    ASSIGN_OR_RETURN(const Model c,
                     artifacts::DecoderFromGguf(o.candidates[i],
                                                {.llama_cpp_activations = llama_cpp_activations}));
    RETURN_IF_ERROR(CheckSameModel(o.candidates[i].string(), c, reference));
    stand_ins.push_back(s->dir_ / absl::StrCat("candidate_", i, ".onnx"));
    RETURN_IF_ERROR(SaveModel(c, stand_ins.back()));
  }
  o.reference = s->dir_ / "reference.onnx";
  o.candidates = stand_ins;
  return s;
}

}  // namespace pare::cli
