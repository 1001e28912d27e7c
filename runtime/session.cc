#include "runtime/session.h"

#include <chrono>
#include <exception>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/graph.h"
#include "core/status_macros.h"
#include "runtime/constant_folding.h"
#include "runtime/half_compute.h"
#include "runtime/passes.h"

namespace pare::runtime {
namespace {

std::string Label(const Node& node) {
  const std::string& name =
      node.name.empty() && !node.outputs.empty() ? node.outputs[0] : node.name;
  return absl::StrCat("node '", name, "' (", node.domain.empty() ? "" : node.domain + ".",
                      node.op_type, ")");
}

absl::StatusOr<int64_t> DomainOpset(const Model& model, const Node& node) {
  std::optional<int64_t> v = OpsetVersion(model, node.domain);
  if (v) return *v;
  if (node.domain.empty() || node.domain == "ai.onnx") return 1;  // very old models
  return absl::InvalidArgumentError(
      absl::StrCat(Label(node), ": domain '", node.domain, "' is not imported by the model"));
}

// Builds the execution plan of one graph: order, kernels, and where each
// intermediate is freed. `keep` values (graph outputs) are never freed.
absl::StatusOr<std::vector<PlannedNode>> PlanGraph(const Model& model, const Graph& graph) {
  ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(graph));
  absl::flat_hash_set<std::string> keep;
  for (const ValueInfo& v : graph.outputs) keep.insert(v.name);
  absl::flat_hash_set<std::string> produced;
  for (const Node& node : graph.nodes) produced.insert(node.outputs.begin(), node.outputs.end());
  std::vector<PlannedNode> plan;
  absl::flat_hash_map<std::string, size_t> last_reader;
  for (size_t i : order) {
    const Node& node = graph.nodes[i];
    ASSIGN_OR_RETURN(int64_t opset, DomainOpset(model, node));
    const KernelFn* kernel = KernelRegistry::Builtin().Find(node.domain, node.op_type, opset);
    if (kernel == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat(Label(node), ": operator ", node.op_type, " of domain '",
                       node.domain.empty() ? "ai.onnx" : node.domain, "' at opset ", opset,
                       " is not supported by pare's runtime"));
    }
    for (const std::string& in : NodeReads(node)) last_reader[in] = plan.size();
    plan.push_back({&node, kernel, opset, {}});
  }
  for (const auto& [value, index] : last_reader) {
    if (produced.contains(value) && !keep.contains(value)) plan[index].frees.push_back(value);
  }
  return plan;
}

// Kernels report errors as statuses; a standard container that throws
// (length_error, bad_alloc on a shape no check caught) becomes one too.
absl::Status RunKernel(const KernelFn& kernel, KernelContext& ctx) {
  try {
    return kernel(ctx);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory: its outputs do not fit in this machine's memory (smaller --dim sizes?)");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
  }
}

// Executes a planned graph over an environment of named values.
class GraphRunner {
 public:
  GraphRunner(Session& session, const RunOptions& options, RunStats& stats)
      : session_(session), options_(options), stats_(stats) {}

  absl::Status Execute(const std::vector<PlannedNode>& plan,
                       absl::flat_hash_map<std::string, Tensor>& values,
                       const absl::flat_hash_map<std::string, const Tensor*>& outer) {
    for (const PlannedNode& step : plan) {
      RETURN_IF_ERROR(RunNode(step, values, outer));
      for (const std::string& dead : step.frees) {
        auto it = values.find(dead);
        if (it == values.end()) continue;
        live_bytes_ -= it->second.bytes().size();
        values.erase(it);
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status RunNode(const PlannedNode& step, absl::flat_hash_map<std::string, Tensor>& values,
                       const absl::flat_hash_map<std::string, const Tensor*>& outer) {
    const Node& node = *step.node;
    std::vector<const Tensor*> inputs;
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      auto it = values.find(name);
      if (it != values.end()) {
        inputs.push_back(&it->second);
        continue;
      }
      auto ot = outer.find(name);
      if (ot == outer.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Label(node), ": input '", name, "' is not produced by any node"));
      }
      inputs.push_back(ot->second);
    }
    const auto start = options_.profile ? std::chrono::steady_clock::now()
                                        : std::chrono::steady_clock::time_point();
    std::vector<Tensor> outputs;
    absl::Status status = Invoke(step, inputs, values, outer, outputs);
    std::optional<DataType> half = HalfInputType(inputs);
    if (absl::IsUnimplemented(status) && half) {
      std::vector<Tensor> storage;
      std::vector<const Tensor*> widened;
      WidenHalfInputs(inputs, storage, widened);
      status = Invoke(step, widened, values, outer, outputs);
      if (status.ok()) NarrowFloatOutputs(outputs, *half);
    }
    if (options_.profile) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      stats_.op_milliseconds[node.op_type] += ms;
      stats_.node_milliseconds.emplace_back(
          absl::StrCat(node.name.empty() && !node.outputs.empty() ? node.outputs[0] : node.name,
                       " (", node.op_type, ")"),
          ms);
    }
    if (!status.ok()) {
      const std::string message(status.message());
      if (message.rfind("node '", 0) == 0) return status;
      return absl::Status(status.code(), absl::StrCat(Label(node), ": ", message));
    }
    ++stats_.nodes_run;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      Tensor& out = outputs[i];
      if (out.dtype() == DataType::kUndefined) {
        return absl::InternalError(absl::StrCat(Label(node), ": output ", i, " was not set"));
      }
      out.set_name(node.outputs[i]);
      live_bytes_ += out.bytes().size();
      if (options_.observer && (options_.watch.empty() || options_.watch.contains(out.name()))) {
        options_.observer(node, out);
      }
      values[node.outputs[i]] = std::move(out);
    }
    stats_.peak_activation_bytes = std::max(stats_.peak_activation_bytes, live_bytes_);
    return absl::OkStatus();
  }

  // Runs the step's kernel on `inputs`; its outputs land in `outputs`.
  absl::Status Invoke(const PlannedNode& step, std::vector<const Tensor*> inputs,
                      const absl::flat_hash_map<std::string, Tensor>& values,
                      const absl::flat_hash_map<std::string, const Tensor*>& outer,
                      std::vector<Tensor>& outputs) {
    KernelContext ctx(*step.node, step.opset, std::move(inputs), session_.pool());
    ctx.set_max_tensor_bytes(session_.options().max_tensor_bytes);
    ctx.set_subgraph_runner([this, &values, &outer](const Graph& g, const std::vector<Tensor>& in) {
      return RunNested(g, in, values, outer);
    });
    absl::Status status = RunKernel(*step.kernel, ctx);
    outputs = std::move(ctx.outputs());
    return status;
  }

  absl::StatusOr<std::vector<Tensor>> RunNested(
      const Graph& graph, const std::vector<Tensor>& inputs,
      const absl::flat_hash_map<std::string, Tensor>& values,
      const absl::flat_hash_map<std::string, const Tensor*>& outer) {
    absl::flat_hash_map<std::string, const Tensor*> scope = outer;
    for (const auto& [name, tensor] : values) scope[name] = &tensor;
    return session_.RunSubgraph(graph, inputs, scope);
  }

  Session& session_;
  const RunOptions& options_;
  RunStats& stats_;
  uint64_t live_bytes_ = 0;
};

}  // namespace

Session::Session(Model model, const SessionOptions& options)
    : model_(std::move(model)),
      options_(options),
      pool_(std::make_unique<ThreadPool>(options.threads)) {}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const Model& model,
                                                         const SessionOptions& options) {
  std::unique_ptr<Session> session(new Session(model, options));
  RETURN_IF_ERROR(session->Plan());
  return session;
}

absl::StatusOr<std::vector<Tensor>> RunAlone(const Model& model, uint64_t max_tensor_bytes) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<Session> session,
      Session::Create(model, {.threads = 1, .max_tensor_bytes = max_tensor_bytes, .fuse = false}));
  return session->Run({});
}

absl::Status Session::Plan() {
  if (options_.fuse) {
    ASSIGN_OR_RETURN(const std::vector<RewriteOutcome> done,
                     ApplyRewrites(model_, SessionPasses(options_.max_tensor_bytes, RunAlone)));
    for (const RewriteOutcome& pass : done) {
      for (const std::string& v : pass.removed) fused_away_.insert(v);
    }
  }
  for (const Tensor& t : model_.graph.initializers) constants_[t.name()] = t;
  ASSIGN_OR_RETURN(plan_, PlanGraph(model_, model_.graph));
  // Subgraphs are planned now too, so unsupported ops inside them fail early.
  absl::Status status = absl::OkStatus();
  ForEachGraph(model_.graph, [&](const Graph& g, int depth) {
    if (depth == 0 || !status.ok()) return;
    auto plan = PlanGraph(model_, g);
    if (!plan.ok()) {
      status = plan.status();
      return;
    }
    subgraph_plans_[&g] = *std::move(plan);
  });
  return status;
}

absl::Status Session::CheckInputs(const std::vector<Tensor>& inputs) const {
  for (const Tensor& t : inputs) {
    const ValueInfo* declared = nullptr;
    for (const ValueInfo& v : model_.graph.inputs) {
      if (v.name == t.name()) declared = &v;
    }
    if (declared == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", t.name(), "' is not an input of the model"));
    }
    if (declared->elem_type != DataType::kUndefined && declared->elem_type != t.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat("input '", t.name(), "' must be ",
                                                     DataTypeName(declared->elem_type), ", not ",
                                                     DataTypeName(t.dtype())));
    }
    if (!declared->shape) continue;
    const auto& shape = *declared->shape;
    bool ok = shape.size() == t.dims().size();
    for (size_t i = 0; ok && i < shape.size(); ++i) {
      ok = !shape[i].value || *shape[i].value == t.dims()[i];
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("input '", t.name(), "' has shape [",
                                                     absl::StrJoin(t.dims(), ","),
                                                     "], which does not match its declaration"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> Session::Run(const std::vector<Tensor>& inputs,
                                                 const RunOptions& options) {
  RETURN_IF_ERROR(CheckInputs(inputs));
  for (const std::string& name : options.watch) {
    if (fused_away_.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "value '", name, "' was fused away; create the session with fusion off to watch it"));
    }
  }
  absl::flat_hash_map<std::string, Tensor> values;
  for (const Tensor& t : inputs) values[t.name()] = t;
  absl::flat_hash_map<std::string, const Tensor*> outer;
  for (const auto& [name, t] : constants_) {
    if (!values.contains(name)) outer[name] = &t;
  }
  for (const ValueInfo& v : model_.graph.inputs) {
    if (!values.contains(v.name) && !outer.contains(v.name)) {
      return absl::InvalidArgumentError(absl::StrCat("input '", v.name, "' was not given"));
    }
  }
  stats_ = {};
  GraphRunner runner(*this, options, stats_);
  RETURN_IF_ERROR(runner.Execute(plan_, values, outer));
  std::vector<Tensor> outputs;
  for (const ValueInfo& v : model_.graph.outputs) {
    auto it = values.find(v.name);
    if (it != values.end()) {
      outputs.push_back(it->second);
    } else if (auto ct = outer.find(v.name); ct != outer.end()) {
      outputs.push_back(*ct->second);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("output '", v.name, "' was never produced"));
    }
  }
  return outputs;
}

absl::StatusOr<std::vector<Tensor>> Session::RunSubgraph(
    const Graph& graph, const std::vector<Tensor>& inputs,
    const absl::flat_hash_map<std::string, const Tensor*>& outer) {
  auto plan = subgraph_plans_.find(&graph);
  if (plan == subgraph_plans_.end()) {
    return absl::InternalError(absl::StrCat("subgraph '", graph.name, "' was not planned"));
  }
  if (inputs.size() != graph.inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "subgraph '", graph.name, "' takes ", graph.inputs.size(), " inputs, got ", inputs.size()));
  }
  absl::flat_hash_map<std::string, Tensor> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    values[graph.inputs[i].name] = inputs[i].WithDims(inputs[i].dims());
    values[graph.inputs[i].name].set_name(graph.inputs[i].name);
  }
  for (const Tensor& t : graph.initializers) values[t.name()] = t;
  RunStats nested;
  const RunOptions no_observer;  // outlives the runner, which keeps a reference
  GraphRunner runner(*this, no_observer, nested);
  RETURN_IF_ERROR(runner.Execute(plan->second, values, outer));
  std::vector<Tensor> outputs;
  for (const ValueInfo& v : graph.outputs) {
    auto it = values.find(v.name);
    if (it != values.end()) {
      outputs.push_back(it->second);
    } else if (auto ot = outer.find(v.name); ot != outer.end()) {
      outputs.push_back(*ot->second);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("subgraph '", graph.name, "' output '", v.name, "' was never produced"));
    }
  }
  return outputs;
}

}  // namespace pare::runtime
