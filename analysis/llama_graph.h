// Recognises a Llama-family decoder in an ONNX graph by what it computes,
// not by tensor names: token embedding (Gather of a constant table), per
// block an RMSNorm, q/k/v projections (with biases, or one fused
// projection) into attention with rotary embedding (read off the cos/sin
// values the graph computes, rotary.h) and grouped-query heads, an output
// projection and residual, an RMSNorm and a gated MLP (down(act(gate(x)) *
// up(x)), SwiGLU or GeGLU, gate and up fused or not), then a final RMSNorm
// and the output head (its own weight, or tied to the embedding table).
// The variant decides the llama.cpp architecture: llama, qwen2, gemma, phi3.
// What GGUF export (gguf_llama.h) needs to write llama.*.
//
//   ASSIGN_OR_RETURN(LlamaGraph g, MatchLlama(model));
//
// A graph that does not match fails with the part that did not.
#ifndef PARE_ANALYSIS_LLAMA_GRAPH_H_
#define PARE_ANALYSIS_LLAMA_GRAPH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare::analysis {

struct LlamaBlock {
  std::string attn_norm, ffn_norm;  // RMSNorm scale tensors
  const Node *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
  const Node *gate = nullptr, *up = nullptr, *down = nullptr;
  std::string q_bias, k_bias, v_bias;  // 1-D constants added to q, k, v (Qwen2), or empty
  std::string q_norm, k_norm;          // per-head RMSNorm scales before RoPE (Qwen3), or empty
  bool fused_qkv = false;              // q == k == v: one projection sliced [q | k | v] (Phi-3)
  bool fused_gate_up = false;          // gate == up: one projection sliced [gate | up] (Phi-3)
};

enum class Activation { kSilu, kGeluTanh };

struct LlamaGraph {
  int64_t vocab = 0, dim = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0;
  int64_t context = 0;      // rows of a constant rotary table, else llama.cpp's default
  int64_t rotary_dims = 0;  // rotated channels per head
  float rope_base = 10000, rms_eps = 1e-5f;
  bool rotate_half = true;  // rotary pairs (i, i + d/2), as Hugging Face; else adjacent pairs
  std::string token_embd, output_norm;
  const Node* output = nullptr;  // the head projection
  bool tied_head = false;        // the head multiplies by the embedding table
  std::vector<LlamaBlock> blocks;
  // The llama.cpp architecture computing the same: "llama" (and Mistral),
  // "qwen2" (q/k/v biases), "qwen3" (per-head q/k norms), "gemma" (GeGLU, embedding times
  // sqrt(dim), (1 + w) norms, tied head), "phi3" (fused qkv and gate_up).
  std::string arch = "llama";
  Activation activation = Activation::kSilu;
  float embedding_scale = 1;  // the token embedding is multiplied by this before block 0
};

absl::StatusOr<LlamaGraph> MatchLlama(const Model& model);

}  // namespace pare::analysis

#endif  // PARE_ANALYSIS_LLAMA_GRAPH_H_
