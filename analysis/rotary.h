// A decoder's rotary position embedding, read from what its graph computes
// rather than from how it is spelled. Exports either slice a constant
// cos/sin table per position (older exporters, pare's own scripts) or
// compute cos(position_ids x inv_freq) in the graph (Hugging Face
// transformers, Optimum). Both give, for positions 0..n-1, a cos and a sin
// table; the tables are checked to be RoPE and its parameters read off them.
//
//   ASSIGN_OR_RETURN(std::vector<Tensor> t,
//                    EvaluateFromInputs(model, {cos_value, sin_value}, 64));
//   ASSIGN_OR_RETURN(Rotary r, ReadRotaryTables(cos, sin, width));
#ifndef PARE_ANALYSIS_ROTARY_H_
#define PARE_ANALYSIS_ROTARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/model.h"

namespace pare::analysis {

struct Rotary {
  int64_t dims = 0;  // rotated channels per head (the tables' width)
  float base = 10000;
  // Linear position scaling: pair i turns by freq_scale * base^(-2i/dims)
  // per position (1 when unscaled).
  float freq_scale = 1;
  bool rotate_half = true;  // pairs (i, i + dims/2), as Hugging Face; else (2i, 2i + 1)
};

// The RoPE whose cos and sin tables, `width` values per position for
// positions 0, 1, 2, ... in order, these are; fails naming what is not RoPE
// (not cos 1 and sin 0 at position 0, pairs that differ, frequencies that
// follow no single base).
absl::StatusOr<Rotary> ReadRotaryTables(absl::Span<const float> cos, absl::Span<const float> sin,
                                        int64_t width);

// Runs the part of `model` that computes `values` from its graph inputs and
// constants, fed as a decoder's first call with `positions` tokens: token
// ids 0, attention mask 1, position ids 0..positions-1, empty past. Fails
// when a value depends on anything else (a projection, a subgraph) or the
// part is over a few hundred nodes: then it is not a position table.
absl::StatusOr<std::vector<Tensor>> EvaluateFromInputs(const Model& model,
                                                       const std::vector<std::string>& values,
                                                       int64_t positions);

}  // namespace pare::analysis

#endif  // PARE_ANALYSIS_ROTARY_H_
