// Who reads each value of a graph's top level, for rewrite passes that may
// only fuse a value away when nothing else needs it.
//
//   const ValueReaders readers(graph);
//   if (auto next = readers.Only(conv.outputs[0])) ...
#ifndef PARE_RUNTIME_VALUE_READERS_H_
#define PARE_RUNTIME_VALUE_READERS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/graph.h"
#include "core/model.h"

namespace pare::runtime {

// An index of the current state of the graph: rebuild it after a rewrite.
class ValueReaders {
 public:
  explicit ValueReaders(const Graph& graph) {
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      for (const std::string& v : NodeReads(graph.nodes[i])) readers_[v].push_back(i);
    }
    for (const ValueInfo& v : graph.outputs) outputs_.insert(v.name);
  }
  // The nodes reading `value` (a node reading it twice counts twice), or
  // empty when a graph output needs it too.
  std::vector<size_t> Private(const std::string& value) const {
    if (outputs_.contains(value)) return {};
    auto it = readers_.find(value);
    return it == readers_.end() ? std::vector<size_t>{} : it->second;
  }
  // The one node reading `value`, when nothing else does.
  std::optional<size_t> Only(const std::string& value) const {
    std::vector<size_t> r = Private(value);
    if (r.size() != 1) return std::nullopt;
    return r[0];
  }

 private:
  absl::flat_hash_map<std::string, std::vector<size_t>> readers_;
  absl::flat_hash_set<std::string> outputs_;
};

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_VALUE_READERS_H_
