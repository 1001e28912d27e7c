// What an operator implementation sees and how it is registered.
//
//   absl::Status Relu(KernelContext& ctx) {
//     ASSIGN_OR_RETURN(const Tensor& x, ctx.Input(0));
//     ...
//     ctx.SetOutput(0, std::move(y));
//     return absl::OkStatus();
//   }
//   registry.Add("", "Relu", 6, Relu);
//
// Kernels validate their inputs (types, shapes, attributes) and return
// InvalidArgument naming the node; the session adds node context to every
// error. Inputs are views the kernel must not keep past the call.
#ifndef PARE_RUNTIME_KERNEL_H_
#define PARE_RUNTIME_KERNEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "runtime/thread_pool.h"

namespace pare::runtime {

// A float tensor of shape [0] over zeroed storage.
const Tensor& EmptyTensor();

class KernelContext {
 public:
  KernelContext(const Node& node, int64_t opset, std::vector<const Tensor*> inputs,
                ThreadPool& pool)
      : node_(node),
        opset_(opset),
        inputs_(std::move(inputs)),
        outputs_(node.outputs.size()),
        pool_(pool) {}

  const Node& node() const { return node_; }
  // Largest output a kernel may allocate from shapes computed at run time.
  uint64_t max_tensor_bytes() const { return max_tensor_bytes_; }
  void set_max_tensor_bytes(uint64_t bytes) { max_tensor_bytes_ = bytes; }
  // InvalidArgument when an output of `dims` elements of `type` would exceed
  // max_tensor_bytes (or overflow): call before allocating data-driven shapes.
  absl::Status CheckOutputSize(DataType type, const std::vector<int64_t>& dims) const;
  int64_t opset() const { return opset_; }
  ThreadPool& pool() { return pool_; }

  size_t input_count() const { return inputs_.size(); }
  // True when input i exists and is not an omitted optional ("").
  bool HasInput(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  // Input i; an omitted or absent input reads as an empty tensor (no
  // elements) so that a malformed node cannot make a kernel dereference
  // null. Use HasInput or RequireInput to tell the cases apart.
  const Tensor& input(size_t i) const { return HasInput(i) ? *inputs_[i] : EmptyTensor(); }
  absl::StatusOr<const Tensor*> RequireInput(size_t i) const;

  size_t output_count() const { return outputs_.size(); }
  // Outputs past those the node declares are dropped (optional outputs).
  void SetOutput(size_t i, Tensor t) {
    if (i < outputs_.size()) outputs_[i] = std::move(t);
  }
  std::vector<Tensor>& outputs() { return outputs_; }

  // Attribute accessors: the default when absent; an error when present with
  // the wrong type.
  int64_t GetInt(const std::string& name, int64_t fallback) const;
  float GetFloat(const std::string& name, float fallback) const;
  std::string GetString(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> GetInts(const std::string& name) const;
  std::vector<float> GetFloats(const std::string& name) const;
  const Attribute* FindAttribute(const std::string& name) const {
    return node_.FindAttribute(name);
  }

  // Runs a subgraph held in one of this node's attributes (If, Loop), with
  // this graph's values in scope. Inputs bind to the subgraph's inputs.
  using SubgraphRunner =
      std::function<absl::StatusOr<std::vector<Tensor>>(const Graph&, const std::vector<Tensor>&)>;
  void set_subgraph_runner(SubgraphRunner runner) { run_subgraph_ = std::move(runner); }
  absl::StatusOr<std::vector<Tensor>> RunSubgraph(const Graph& g,
                                                  const std::vector<Tensor>& inputs) const {
    return run_subgraph_(g, inputs);
  }

  // "InvalidArgument: node 'name' (Op): message".
  absl::Status Error(const std::string& message) const;
  absl::Status Unsupported(const std::string& message) const;

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor> outputs_;
  ThreadPool& pool_;
  SubgraphRunner run_subgraph_;
  uint64_t max_tensor_bytes_ = uint64_t{1} << 36;
};

using KernelFn = std::function<absl::Status(KernelContext&)>;

// Kernels by (domain, op type), each valid from an opset version on.
class KernelRegistry {
 public:
  // The built-in operator set.
  static const KernelRegistry& Builtin();

  void Add(const std::string& domain, const std::string& op_type, int64_t since_version,
           KernelFn fn);
  // The kernel for the highest since_version <= opset, or nullptr.
  const KernelFn* Find(const std::string& domain, const std::string& op_type, int64_t opset) const;
  std::vector<std::string> OpTypes() const;

 private:
  std::map<std::pair<std::string, std::string>, std::map<int64_t, KernelFn>> kernels_;
};

// Each operator family registers itself through one of these (ops/*.cc).
void RegisterElementwiseOps(KernelRegistry& r);
void RegisterActivationOps(KernelRegistry& r);
void RegisterShapeOps(KernelRegistry& r);
void RegisterIndexingOps(KernelRegistry& r);
void RegisterTypeOps(KernelRegistry& r);
void RegisterMatMulOps(KernelRegistry& r);
void RegisterConvOps(KernelRegistry& r);
void RegisterPoolOps(KernelRegistry& r);
void RegisterNormalizationOps(KernelRegistry& r);
void RegisterReduceOps(KernelRegistry& r);
void RegisterQuantizeOps(KernelRegistry& r);
void RegisterControlFlowOps(KernelRegistry& r);
void RegisterLossOps(KernelRegistry& r);
void RegisterResizeOps(KernelRegistry& r);
void RegisterRecurrentOps(KernelRegistry& r);
void RegisterMiscOps(KernelRegistry& r);
void RegisterCol2ImOps(KernelRegistry& r);
void RegisterSelectionOps(KernelRegistry& r);
void RegisterMatMulNBitsOps(KernelRegistry& r);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_KERNEL_H_
