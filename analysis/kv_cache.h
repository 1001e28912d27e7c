// The key/value cache a transformer decoder keeps per token, read from the
// graph's structure (not from tensor names alone).
//
//   if (std::optional<KvCacheShape> kv = DetectKvCache(model)) {
//     uint64_t per_token = kv->bytes_per_token(/*element_bytes=*/2);
//   }
//
// Two ways to find it, in this order:
//   - cache inputs: graph inputs shaped [batch, kv_heads, past, head_dim]
//     in pairs named like past_key_values.N.key / .value (Optimum,
//     torch exports with use_cache);
//   - attention: a MatMul of two computed values whose result reaches a
//     Softmax through element-wise ops (scaling, masks) is an attention score
//     of one layer; its key operand, traced back through reshapes,
//     transposes and rotary embedding, comes from a projection (MatMul,
//     Gemm or MatMulNBits with a constant weight) whose output width is
//     kv_heads x head_dim. The value operand (the MatMul reading the
//     softmax) is traced the same way.
#ifndef PARE_ANALYSIS_KV_CACHE_H_
#define PARE_ANALYSIS_KV_CACHE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"

namespace pare::analysis {

struct KvCacheShape {
  int64_t layers = 0;
  // Summed over layers: elements of keys and of values cached per token.
  int64_t key_elements = 0, value_elements = 0;
  std::string source;  // in words: how it was found
  // The attention chains (score MatMul output through softmax): with a
  // cache, their last axis spans the whole context, not the new tokens.
  std::vector<std::string> score_values;

  uint64_t bytes_per_token(double element_bytes) const;
};

std::optional<KvCacheShape> DetectKvCache(const Model& model);

// For a decoder whose graph shows no attention: from flags.
KvCacheShape KvCacheFromDimensions(int64_t layers, int64_t kv_heads, int64_t head_dim);

}  // namespace pare::analysis

#endif  // PARE_ANALYSIS_KV_CACHE_H_
