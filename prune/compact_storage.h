// Compact storage of a sparse weight inside a standard ONNX graph: its
// non-zero values plus a bitmask, and a few standard operators that rebuild
// the dense tensor under the weight's own name:
//
//   mask (uint8 [ceil(n/8)]) -> bits via BitShift left then right (opset 11)
//   -> positions = CumSum(bits) - 1 -> Gather(values, positions)
//   -> Where(bits, gathered, 0) -> Reshape to the weight's shape.
//
// Every operator is a pure function of constants, so ONNX Runtime and pare
// fold the decoding at load: the file shrinks (50% sparse float32 to 53%),
// memory at run time does not. Internal to prune/.
#ifndef PARE_PRUNE_COMPACT_STORAGE_H_
#define PARE_PRUNE_COMPACT_STORAGE_H_

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"

namespace pare::prune {

struct CompactWeight {
  std::vector<Tensor> tensors;  // values, mask, and the decoder's small constants
  std::vector<Node> nodes;      // the decoder; the last one outputs the weight's name
};

// The compact form of `weight`, or nullopt when it would not be smaller
// (fewer than a quarter zeros, or all zeros).
std::optional<CompactWeight> PackCompact(const Tensor& weight);

}  // namespace pare::prune

#endif  // PARE_PRUNE_COMPACT_STORAGE_H_
