// GGUF export of a Llama-family decoder (llama_graph.h): llama.* metadata,
// tokenizer metadata (gguf_vocab.h), and tensors named as llama.cpp
// expects, in F32, F16, Q8_0, Q4_0 or Q4_1.
//
//   ASSIGN_OR_RETURN(GgufExport r,
//                    ExportLlamaGguf(model, "model.gguf", {.type = GgmlType::kQ4_0}));
//
// Float weights are transposed to llama.cpp's [out, in] rows; q and k rows
// are permuted per head when the ONNX model rotates halves (llama.cpp's
// llama rotates adjacent pairs). Weights already quantized by pare as
// MatMulNBits, block 32, with float16-exact scales (pare quantize
// --scale-type fp16) keep their codes: 4-bit symmetric to Q4_0 and 8-bit
// to Q8_0 without loss, 4-bit with zero points to Q4_1 with the block
// minimum (-zero * scale) rounded to float16. Other quantized weights
// (other block sizes, float32 scales, a different target type) are
// dequantized and encoded at the requested type, and counted in the
// result. Norm scales
// are always F32. One tensor is in memory at a time.
#ifndef PARE_ARTIFACTS_GGUF_LLAMA_H_
#define PARE_ARTIFACTS_GGUF_LLAMA_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "artifacts/gguf.h"
#include "core/model.h"

namespace pare::artifacts {

struct GgufExportOptions {
  GgmlType type = GgmlType::kF16;  // for 2-D weights
  // llama.cpp's "_M" mix on top of a K-quant `type`. Q4_K_M, Q5_K_M: the
  // output head (or a tied embedding), and attn_v and ffn_down in the first
  // and last eighth of the layers and every third between, are Q6_K.
  // Q3_K_M: the head Q6_K; attn_v Q5_K in layers 0-1, else Q4_K; ffn_down
  // Q5_K in the first sixteenth, else Q4_K; attn_output Q4_K.
  bool medium_mix = false;
  std::string name = "pare";  // general.name
  // Tokenizer metadata: a Hugging Face tokenizer.json; without one, byte
  // models (256 tokens) get the byte vocabulary, and others need
  // placeholder_vocabulary (byte tokens plus <unused_N>, for synthetic models).
  std::filesystem::path tokenizer;
  bool placeholder_vocabulary = false;
  int threads = 0;  // encoding blocks; 0: one per core
  // Calibrated encoding of the 2-D weights in block types (GPTQ into the
  // blocks, grid_gptq.h): handed the tensor's GGUF name, the value a
  // projection multiplies (empty for the token embedding), the weight's
  // rows [out, in] in file order and the type, returns the tensor's bytes,
  // or nothing to round to nearest. Unset: every weight rounds to nearest,
  // as llama.cpp does.
  std::function<absl::StatusOr<std::vector<uint8_t>>(
      const std::string& name, const std::string& input, const std::vector<float>& rows,
      int64_t out, int64_t in, GgmlType type)>
      encoder;
};

struct GgufExport {
  int64_t tensors = 0;
  int64_t repacked = 0;                  // codes and scales kept, exactly
  int64_t repacked_minimum_rounded = 0;  // Q4_1: codes kept, a minimum rounded
  int64_t requantized = 0;               // dequantized and encoded again
  int64_t calibrated = 0;                // encoded by the options' encoder
  // Each 2-D weight written, with the value its projection multiplies (for
  // an importance matrix keyed by GGUF names).
  std::vector<std::pair<std::string, std::string>> weight_inputs;
  uint64_t bytes = 0;
};

// A --type name: a GGUF tensor type ("q4_0", "q6_k"), or a llama.cpp file
// type with a mix ("q3_k_m", "q4_k_m", "q5_k_m"). Fills type and medium_mix.
absl::Status ParseGgufFileType(const std::string& name, GgufExportOptions& options);

// Rows of a tensor whose width does not split into `type`'s blocks get
// the type llama.cpp (3.22) falls back to: Q2_K, Q3_K -> Q4_0; Q4_K ->
// Q5_0; Q5_K -> Q5_1; Q6_K -> Q8_0; F16 when even that does not fit.
GgmlType TypeForWidth(GgmlType type, int64_t width);

// Row order for llama.cpp's adjacent-pair rotary when the source rotates
// halves: within each head, row 2i takes i and row 2i + 1 takes i + d/2
// (row r of the file is source row order[r]).
std::vector<int64_t> RotaryRowOrder(int64_t rows, int64_t head_dim);

absl::StatusOr<GgufExport> ExportLlamaGguf(const Model& model, const std::filesystem::path& path,
                                           const GgufExportOptions& options);

}  // namespace pare::artifacts

#endif  // PARE_ARTIFACTS_GGUF_LLAMA_H_
