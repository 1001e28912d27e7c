// `pare evaluate X.gguf --reference model.onnx`: GGUF candidates, any
// quantizer's, evaluated by pare's evaluate stage. The reference ONNX
// model is exported to an F32 GGUF, and it and every candidate are rebuilt
// as the same decoder graph (artifacts/gguf_decoder.h, weights dequantized
// on load), so KL, perplexity and the per-layer ranking compare the GGUF's
// weights with the float ones and nothing else.
#ifndef PARE_CLI_EVALUATE_GGUF_H_
#define PARE_CLI_EVALUATE_GGUF_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evaluate/evaluate.h"

namespace pare::cli {

// The stand-in ONNX models, in a temporary folder removed with this.
class GgufStandIns {
 public:
  ~GgufStandIns();
  // The paths the report should show instead of the stand-ins'.
  void RestoreNames(evaluate::EvaluateReport& report) const;

 private:
  friend absl::StatusOr<std::unique_ptr<GgufStandIns>> PrepareGgufCandidates(
      evaluate::EvaluateOptions& o, bool llama_cpp_activations);
  std::filesystem::path dir_;
  std::string reference_;
  std::vector<std::string> candidates_;
};

// When the candidates are .gguf files: replaces the reference and the
// candidates in `o` with their rebuilt stand-ins; null when none is GGUF.
// `llama_cpp_activations`: the candidates compute as llama.cpp's CPU
// backend does (gguf_decoder.h), so the KL is the one llama.cpp measures;
// else the weights' error alone.
absl::StatusOr<std::unique_ptr<GgufStandIns>> PrepareGgufCandidates(evaluate::EvaluateOptions& o,
                                                                    bool llama_cpp_activations);

}  // namespace pare::cli

#endif  // PARE_CLI_EVALUATE_GGUF_H_
