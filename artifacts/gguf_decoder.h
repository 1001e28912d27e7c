// A GGUF decoder file read back as an ONNX graph pare's runtime runs: the
// architecture's computation (llama, qwen2, gemma, phi3, the ones GGUF
// export writes) rebuilt from the file's metadata, its weights dequantized
// to float32 on load. So any GGUF, llama.cpp's own quantizer's included,
// can be evaluated against the float model with pare's evaluate stage,
// layer by layer: two files rebuilt by this function share every value
// name.
//
//   ASSIGN_OR_RETURN(Model m, DecoderFromGguf("model.Q4_K_M.gguf", {.input = "input_ids"}));
//
// The graph: token ids [1, T] in, logits [1, T, vocab] out (named
// "logits"); a causal mask and the rotary tables for positions 0..T-1 are
// computed in the graph. One sequence, no KV cache. Weights are held in
// float32 at once: for models that fit in memory.
#ifndef PARE_ARTIFACTS_GGUF_DECODER_H_
#define PARE_ARTIFACTS_GGUF_DECODER_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare::artifacts {

struct GgufDecoderOptions {
  std::string input = "input_ids";  // the token ids' name (int64 [1, T])
  // Compute as llama.cpp's CPU backend does: a product with a quantized
  // weight first rounds its activations to 8 bits (Q8_0 blocks of 32 with
  // a float16 scale for the one-scale types, Q8_K blocks of 256 for
  // K-quants), one with an F16 weight to float16. Off: the weights' error
  // alone.
  bool llama_cpp_activations = false;
};

absl::StatusOr<Model> DecoderFromGguf(const std::filesystem::path& path,
                                      const GgufDecoderOptions& options = {});

}  // namespace pare::artifacts

#endif  // PARE_ARTIFACTS_GGUF_DECODER_H_
