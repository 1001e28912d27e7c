// GGUF export of a Llama-family decoder (llama_graph.h): llama.* metadata,
// tokenizer metadata (gguf_vocab.h), and tensors named as llama.cpp
// expects, in F32, F16, Q8_0, Q4_0 or Q4_1.
//
//   ASSIGN_OR_RETURN(GgufExport r, ExportLlamaGguf(model, "model.gguf", {.type =
//   GgmlType::kQ4_0}));
//
// Float weights are transposed to llama.cpp's [out, in] rows; q and k rows
// are permuted per head when the ONNX model rotates halves (llama.cpp's
// llama rotates adjacent pairs). Weights already quantized by pare as
// MatMulNBits, symmetric, block 32, with float16-exact scales (pare
// quantize --scale-type fp16) are repacked without loss: 4-bit to Q4_0,
// 8-bit to Q8_0. Other quantized weights (other block sizes, float32
// scales, zero points) are dequantized and encoded at the requested type,
// and counted in the result. Norm scales
// are always F32. One tensor is in memory at a time.
#ifndef PARE_CONVERT_GGUF_LLAMA_H_
#define PARE_CONVERT_GGUF_LLAMA_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "convert/gguf.h"
#include "core/model.h"

namespace pare::convert {

struct GgufExportOptions {
  GgmlType type = GgmlType::kF16;  // for 2-D weights
  std::string name = "pare";       // general.name
  // Tokenizer metadata: a Hugging Face tokenizer.json; without one, byte
  // models (256 tokens) get the byte vocabulary, and others need
  // placeholder_vocabulary (byte tokens plus <unused_N>, for synthetic models).
  std::filesystem::path tokenizer;
  bool placeholder_vocabulary = false;
};

struct GgufExport {
  int64_t tensors = 0, repacked = 0, requantized = 0;
  uint64_t bytes = 0;
};

absl::StatusOr<GgufExport> ExportLlamaGguf(const Model& model, const std::filesystem::path& path,
                                           const GgufExportOptions& options);

absl::StatusOr<GgmlType> ParseGgmlType(const std::string& name);  // f32, f16, q8_0, q4_0, q4_1

}  // namespace pare::convert

#endif  // PARE_CONVERT_GGUF_LLAMA_H_
