// Read-only helpers over a Graph: execution order, who produces and who
// consumes each value, initializer and opset lookup.
//
//   ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(model.graph));
//   GraphIndex index(model.graph);
//   const Node* producer = index.Producer("conv1_out");
//
// Nodes with subgraphs (If, Loop, Scan) depend on every outer value their
// subgraphs read, so orders and consumer lists account for those reads.
#ifndef PARE_CORE_GRAPH_H_
#define PARE_CORE_GRAPH_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare {

// Values a graph reads but does not define itself (not an input, initializer
// or node output of it or of its own subgraphs): its free variables.
absl::flat_hash_set<std::string> OuterScopeReads(const Graph& graph);

// Every value `node` reads: its inputs plus its subgraphs' outer reads.
std::vector<std::string> NodeReads(const Node& node);

// Node indices in an order where each node follows its producers. Stable:
// nodes already in order keep their relative order. Fails on a cycle,
// naming a node in it.
absl::StatusOr<std::vector<size_t>> TopologicalOrder(const Graph& graph);

// Producer/consumer maps and initializer lookup for one graph (not its
// subgraphs). The graph must outlive the index and stay unmodified.
class GraphIndex {
 public:
  explicit GraphIndex(const Graph& graph);

  const Node* Producer(const std::string& value) const;
  // Nodes that read `value`, directly or from a subgraph, in graph order.
  const std::vector<const Node*>& Consumers(const std::string& value) const;
  const Tensor* Initializer(const std::string& name) const;
  bool IsGraphOutput(const std::string& value) const;

 private:
  absl::flat_hash_map<std::string, const Node*> producers_;
  absl::flat_hash_map<std::string, std::vector<const Node*>> consumers_;
  absl::flat_hash_map<std::string, const Tensor*> initializers_;
  absl::flat_hash_set<std::string> outputs_;
};

// Version of `domain` the model imports ("" and "ai.onnx" are the same).
std::optional<int64_t> OpsetVersion(const Model& model, std::string_view domain);

// Calls fn(graph, depth) for the main graph and every subgraph, depth-first.
template <typename Fn>
void ForEachGraph(const Graph& graph, Fn&& fn, int depth = 0) {
  fn(graph, depth);
  for (const Node& node : graph.nodes) {
    for (const Attribute& attr : node.attributes) {
      for (const Graph& sub : attr.graphs) ForEachGraph(sub, fn, depth + 1);
    }
  }
}

}  // namespace pare

#endif  // PARE_CORE_GRAPH_H_
