// `pare convert MODEL --format gguf`: a Llama-family decoder as one GGUF
// file for llama.cpp, rounded to nearest or, with calibration data,
// quantized by GPTQ straight into the GGUF blocks; optionally writing the
// calibration's importance matrix for llama.cpp's own quantizer.
#ifndef PARE_CLI_CONVERT_GGUF_H_
#define PARE_CLI_CONVERT_GGUF_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/status.h"
#include "cli/calibration_flags.h"

namespace pare::cli {

struct GgufFlags {
  std::string type = "f16", tokenizer, write_imatrix, imatrix;
  bool placeholder_vocab = false;
  CalibrationFlags calibration;
  double damp = 0.01;
  int threads = 0;
};

void AddGgufFlags(CLI::App& cmd, GgufFlags& f);

absl::Status ConvertToGguf(const std::string& model, const std::string& output, bool force,
                           const GgufFlags& f);

}  // namespace pare::cli

#endif  // PARE_CLI_CONVERT_GGUF_H_
