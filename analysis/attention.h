// Attention as it appears in exported decoder graphs, found by structure:
// a MatMul of two computed values (queries x keys) whose result reaches a
// Softmax through element-wise steps (scaling, masks, soft-capping), and
// the MatMul of the probabilities with the values. Used by the KV-cache
// account and the Llama matcher (GGUF export). Internal to convert/.
#ifndef PARE_ANALYSIS_ATTENTION_H_
#define PARE_ANALYSIS_ATTENTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/graph_edit.h"

namespace pare::analysis {

struct Attention {
  const Node* scores = nullptr;   // queries x keys
  const Node* context = nullptr;  // probabilities x values
  std::string queries, keys, values;
  std::vector<std::string> chain;  // the score value through the softmax output
};

// When `n` computes attention scores: the attention it belongs to.
std::optional<Attention> MatchAttention(const Node& n, const GraphIndex& index,
                                        const Constants& constants);

// The output width of a projection (MatMul, Gemm or MatMulNBits reading a
// constant 2-D weight), or 0 when `n` is not one.
int64_t ProjectionWidth(const Node& n, const Constants& constants);

// The nearest projection `value` is computed from, breadth first through
// data inputs only (not a Reshape's shape or a Slice's bounds), so a
// layer's own projection wins over earlier layers'; null when none.
// `visited`, when given, receives the nodes passed on the way (rotary
// embedding, head reshapes).
const Node* TraceProjection(const std::string& value, const GraphIndex& index,
                            const Constants& constants,
                            std::vector<const Node*>* visited = nullptr);

}  // namespace pare::analysis

#endif  // PARE_ANALYSIS_ATTENTION_H_
