// Channel groups for structured pruning (see channels.h): every tensor that
// carries one channel dimension, found by following the channels from the
// weights that make them through the graph. Internal to prune/.
#ifndef PARE_PRUNE_CHANNEL_GROUPS_H_
#define PARE_PRUNE_CHANNEL_GROUPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/graph_edit.h"
#include "core/model.h"

namespace pare::prune {

// A slice to make: keep the group's channels along `axis` of the constant
// at node.inputs[input].
struct Edit {
  size_t node, input;
  int64_t axis;
};

// A Conv, ConvTranspose, MatMul or Gemm that reads the channels as its
// input `value` (channel axis `axis`, from the end) and loses them along
// `weight_axis` of its weight.
struct Consumer {
  size_t node;
  std::string value;
  int axis;
  int64_t weight_axis;
};

struct Group {
  std::vector<size_t> producers;  // nodes whose weights make the channels
  std::vector<Consumer> consumers;
  std::vector<Edit> edits;
  std::vector<size_t> depthwise;                 // grouped convs whose `group` follows
  absl::flat_hash_map<std::string, int> values;  // value -> channel axis, from the end
  int64_t channels = 0;
  std::string failure;  // why the group cannot be cut; empty when it can
};

// One group per Conv (group 1) or MatMul with a constant float weight that
// no earlier group took, in graph order.
std::vector<Group> FindChannelGroups(const Graph& g, const Constants& constants);

int64_t IntAttribute(const Node& n, const char* name, int64_t fallback);

}  // namespace pare::prune

#endif  // PARE_PRUNE_CHANNEL_GROUPS_H_
