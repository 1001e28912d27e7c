// Runs a model on the CPU: plans once, then executes node by node, freeing
// each intermediate after its last reader.
//
//   ASSIGN_OR_RETURN(auto session, Session::Create(model, {.threads = 2}));
//   ASSIGN_OR_RETURN(std::vector<Tensor> outputs, session->Run({input}));
//
// Every operator is checked when the session is created: an unsupported op
// or opset fails there, naming the node. A Session is not thread-safe; run
// one Run at a time (each Run itself uses the thread pool).
#ifndef PARE_RUNTIME_SESSION_H_
#define PARE_RUNTIME_SESSION_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/model.h"
#include "runtime/kernel.h"
#include "runtime/thread_pool.h"

namespace pare::runtime {

struct SessionOptions {
  int threads = 0;  // 0: one per core
  // Cap on any tensor an operator sizes from run-time data (ConstantOfShape,
  // Expand, Tile, Range, Resize, ...): a malformed model fails with an error
  // instead of exhausting memory.
  uint64_t max_tensor_bytes = uint64_t{1} << 36;  // 64 GiB
  // Optimize the graph before planning: compute nodes of constants once
  // (constant_folding.h) and fuse operator chains (fusion.h). The values
  // folded or fused away can no longer be watched; sessions that must
  // observe every intermediate (calibration, per-layer analysis) turn this
  // off.
  bool fuse = true;
};

// Called with each watched value right after the node producing it ran.
// The tensor may be freed after the call returns; copy what you keep.
using ValueObserver = std::function<void(const Node& node, const Tensor& value)>;

struct RunOptions {
  ValueObserver observer;
  // Values passed to the observer; empty means every node output.
  absl::flat_hash_set<std::string> watch;
  // Time each node and total it per operator type in RunStats.
  bool profile = false;
};

struct RunStats {
  uint64_t peak_activation_bytes = 0;  // largest sum of live intermediates
  uint64_t nodes_run = 0;
  // With RunOptions::profile: totals per operator type, and each node's time
  // (labelled "name (OpType)") in execution order.
  std::map<std::string, double> op_milliseconds;
  std::vector<std::pair<std::string, double>> node_milliseconds;
};

struct PlannedNode {
  const Node* node;
  const KernelFn* kernel;
  int64_t opset;
  std::vector<std::string> frees;  // values whose last reader is this node
};

class Session {
 public:
  static absl::StatusOr<std::unique_ptr<Session>> Create(const Model& model,
                                                         const SessionOptions& options = {});

  // Inputs are matched to graph inputs by tensor name. Returns the graph
  // outputs in declaration order, named.
  absl::StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs,
                                          const RunOptions& options = {});

  const Model& model() const { return model_; }
  const RunStats& last_run_stats() const { return stats_; }
  const SessionOptions& options() const { return options_; }
  ThreadPool& pool() { return *pool_; }

  // Runs a subgraph with outer-scope values visible (If, Loop bodies).
  absl::StatusOr<std::vector<Tensor>> RunSubgraph(
      const Graph& graph, const std::vector<Tensor>& inputs,
      const absl::flat_hash_map<std::string, const Tensor*>& outer);

 private:
  Session(Model model, const SessionOptions& options);
  absl::Status Plan();
  absl::Status CheckInputs(const std::vector<Tensor>& inputs) const;

  Model model_;
  SessionOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<PlannedNode> plan_;
  absl::flat_hash_map<std::string, Tensor> constants_;  // initializers
  absl::flat_hash_map<const Graph*, std::vector<PlannedNode>> subgraph_plans_;
  absl::flat_hash_set<std::string> fused_away_;  // values removed by fusion
  RunStats stats_;
};

// Runs a model that reads only its initializers, on one thread, without
// graph rewrites: constant folding's evaluator (constant_folding.h).
absl::StatusOr<std::vector<Tensor>> RunAlone(const Model& model, uint64_t max_tensor_bytes);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_SESSION_H_
