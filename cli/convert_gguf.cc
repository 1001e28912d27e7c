#include "cli/convert_gguf.h"

#include <cctype>
#include <filesystem>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "analysis/memory_account.h"
#include "artifacts/gguf_llama.h"
#include "artifacts/imatrix.h"
#include "cli/flags.h"
#include "cli/gguf_calibration.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"

namespace pare::cli {
namespace {

namespace fs = std::filesystem;

std::string UpperCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void PrintResult(const std::string& output, const std::string& type,
                 const artifacts::GgufExportOptions& options, const artifacts::GgufExport& r) {
  std::cout << absl::StrFormat(
      "wrote %s: %d tensors, %s, %s; %d quantized weight(s) repacked without loss", output,
      r.tensors, options.medium_mix ? UpperCase(type) : artifacts::GgmlTypeName(options.type),
      analysis::FormatBytes(r.bytes), r.repacked);
  if (r.repacked_minimum_rounded > 0) {
    std::cout << absl::StrFormat(", %d repacked with the Q4_1 minimum rounded to float16",
                                 r.repacked_minimum_rounded);
  }
  std::cout << absl::StrFormat(", %d dequantized and re-encoded", r.requantized);
  if (r.calibrated > 0) std::cout << absl::StrFormat(", %d calibrated", r.calibrated);
  std::cout << "\n";
}

}  // namespace

void AddGgufFlags(CLI::App& cmd, GgufFlags& f) {
  cmd.add_option(
         "--type", f.type,
         "gguf: type of 2-D weights: f16 (default), f32, q8_0, q5_0, q5_1, q4_0, q4_1 (pare's int4 "
         "block-32 weights repack to q4_0 without loss), the K-quants q2_k ... q6_k "
         "(every weight; narrower rows fall back as in llama.cpp), or llama.cpp's mixes "
         "q3_k_m, q4_k_m, q5_k_m (more bits for the head and some attn_v/ffn_down)")
      ->check(CLI::IsMember({"f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k",
                             "q4_k", "q5_k", "q6_k", "q3_k_m", "q4_k_m", "q5_k_m"}));
  cmd.add_option("--tokenizer", f.tokenizer,
                 "gguf: a Hugging Face tokenizer.json for the vocabulary (byte-level models "
                 "need none)");
  cmd.add_flag("--placeholder-vocab", f.placeholder_vocab,
               "gguf: a model with no tokenizer (synthetic): byte tokens plus <unused_N>");
  AddCalibrationFlags(cmd, f.calibration,
                      "gguf: GPTQ straight into the block types (every projection; the token "
                      "embedding by a least-squares scale search)");
  cmd.add_option("--damp", f.damp, "gguf GPTQ: Hessian dampening, a fraction of its mean diagonal")
      ->default_val(0.01)
      ->check(FiniteRange(0, 1));
  cmd.add_option("--imatrix", f.imatrix,
                 "gguf without calibration data: an importance matrix (llama.cpp's llama-imatrix "
                 "output, GGUF or legacy .dat form) weighing the fit of the q4_0/q4_1/q5_0/q5_1/"
                 "q8_0 and q4_k/q5_k blocks, as llama-quantize --imatrix does")
      ->check(CLI::ExistingFile);
  cmd.add_option("--write-imatrix", f.write_imatrix,
                 "gguf: also write the calibration's importance matrix (llama.cpp's GGUF imatrix "
                 "form, keyed by the file's tensor names) for llama.cpp's own quantizer");
  cmd.add_option("--threads", f.threads, "gguf: worker threads (0: one per core)")
      ->check(ThreadCount())
      ->default_val(0);
}

absl::Status ConvertToGguf(const std::string& model_path, const std::string& output, bool force,
                           const GgufFlags& f) {
  if (output.empty()) return absl::InvalidArgumentError("--format gguf needs -o FILE.gguf");
  RETURN_IF_ERROR(CheckOutputPath(output, force, {model_path, f.tokenizer}));
  if (!f.imatrix.empty() && f.calibration.any()) {
    return absl::InvalidArgumentError(
        "give --imatrix or calibration data (--calib*), not both: with data, GPTQ uses the "
        "full Hessians");
  }
  if (!f.write_imatrix.empty()) {
    if (!f.calibration.any()) return absl::InvalidArgumentError("--write-imatrix needs --calib*");
    RETURN_IF_ERROR(CheckOutputPath(f.write_imatrix, force, {model_path, output}));
  }
  artifacts::GgufExportOptions options{.name = fs::path(model_path).stem().string(),
                                       .tokenizer = f.tokenizer,
                                       .placeholder_vocabulary = f.placeholder_vocab,
                                       .threads = f.threads};
  RETURN_IF_ERROR(artifacts::ParseGgufFileType(f.type, options));
  ASSIGN_OR_RETURN(const Model model, LoadModel(model_path));
  std::optional<ProjectionStats> stats;
  artifacts::ImportanceMatrix importance;
  runtime::ThreadPool pool(f.threads);
  if (!f.imatrix.empty()) {
    ASSIGN_OR_RETURN(importance, artifacts::ReadImatrix(f.imatrix));
    options.encoder = ImatrixEncoder(importance, &pool);
  }
  if (f.calibration.any()) {
    ASSIGN_OR_RETURN(const data::CalibrationData data, LoadCalibration(f.calibration, model));
    std::cerr << "calibrating on " << data.description << "\n";
    ASSIGN_OR_RETURN(stats, ProjectionStats::Collect(model, data, f.threads));
    options.encoder = GptqEncoder(*stats, f.damp, &pool);
  }
  absl::StatusOr<artifacts::GgufExport> r = artifacts::ExportLlamaGguf(model, output, options);
  if (!r.ok()) {
    return absl::Status(r.status().code(), absl::StrCat(model_path, ": ", r.status().message()));
  }
  PrintResult(output, f.type, options, *r);
  if (!f.write_imatrix.empty()) {
    const std::string dataset =
        f.calibration.calib_tokens.empty() ? f.calibration.calib : f.calibration.calib_tokens;
    const artifacts::ImportanceMatrix m = stats->Importance(*r, dataset);
    RETURN_IF_ERROR(artifacts::WriteImatrix(m, f.write_imatrix));
    std::cout << absl::StrFormat("wrote %s: importance of %d weights\n", f.write_imatrix,
                                 m.entries.size());
  }
  return absl::OkStatus();
}

}  // namespace pare::cli
