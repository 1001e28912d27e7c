// Control flow: If, Loop and Scan, running their body subgraphs through the
// session with the enclosing graph's values in scope.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "runtime/ops/op_util.h"

namespace pare::runtime {
namespace {

const Graph* GraphAttribute(const KernelContext& ctx, const std::string& name) {
  const Attribute* a = ctx.FindAttribute(name);
  return a && !a->graphs.empty() ? &a->graphs[0] : nullptr;
}

absl::Status If(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* cond, ctx.RequireInput(0));
  if (cond->element_count() != 1) return ctx.Error("cond must hold one value");
  const bool taken = cond->bytes()[0] != 0;
  const Graph* branch = GraphAttribute(ctx, taken ? "then_branch" : "else_branch");
  if (branch == nullptr) return ctx.Error("missing branch subgraph");
  ASSIGN_OR_RETURN(std::vector<Tensor> outputs, ctx.RunSubgraph(*branch, {}));
  if (outputs.size() != ctx.output_count()) return ctx.Error("branch output count differs");
  for (size_t i = 0; i < outputs.size(); ++i) ctx.SetOutput(i, std::move(outputs[i]));
  return absl::OkStatus();
}

// Stacks equally shaped tensors along a new axis at `axis` (0 for Loop).
absl::StatusOr<Tensor> Stack(const std::vector<Tensor>& parts, int64_t axis, bool reverse) {
  if (parts.empty()) return absl::InvalidArgumentError("nothing to stack");
  const Tensor& first = parts[0];
  if (!StorageBytes(first.dtype(), 0).ok()) {
    return absl::UnimplementedError("scan outputs of this type cannot be stacked");
  }
  std::vector<int64_t> shape = first.dims();
  const int64_t count = static_cast<int64_t>(parts.size());
  shape.insert(shape.begin() + axis, count);
  const int64_t outer = Product(first.dims(), 0, axis);
  const int64_t chunk = static_cast<int64_t>(first.bytes().size()) / std::max<int64_t>(outer, 1);
  uint8_t* out = nullptr;
  Tensor result = Tensor::Allocate(first.dtype(), shape, &out);
  for (int64_t i = 0; i < count; ++i) {
    const Tensor& part = parts[reverse ? count - 1 - i : i];
    if (part.dims() != first.dims() || part.dtype() != first.dtype()) {
      return absl::InvalidArgumentError("scan outputs differ in shape between iterations");
    }
    for (int64_t o = 0; o < outer; ++o) {
      CopyBytes(out + (o * count + i) * chunk, part.bytes().data() + o * chunk, chunk);
    }
  }
  return result;
}

// A Loop condition: one element, true when not zero (its dtype is bool,
// but only its first byte is read). An empty tensor is refused.
absl::StatusOr<bool> ReadCondition(KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.bytes().empty()) {
    return ctx.Error(absl::StrCat(what, " is empty; a Loop condition is one bool"));
  }
  return t.bytes()[0] != 0;
}

absl::Status Loop(KernelContext& ctx) {
  const Graph* body = GraphAttribute(ctx, "body");
  if (body == nullptr) return ctx.Error("missing body subgraph");
  int64_t max_trips = INT64_MAX;
  if (ctx.HasInput(0)) {
    ASSIGN_OR_RETURN(max_trips, ReadScalar(ctx.input(0)));
  }
  bool cond = true;
  if (ctx.HasInput(1)) {
    ASSIGN_OR_RETURN(cond, ReadCondition(ctx, ctx.input(1), "the condition input"));
  }
  const size_t carried = ctx.input_count() - 2;
  std::vector<Tensor> state;
  for (size_t i = 0; i < carried; ++i) {
    ASSIGN_OR_RETURN(const Tensor* t, ctx.RequireInput(i + 2));
    state.push_back(*t);
  }
  if (body->outputs.size() < 1 + carried || body->inputs.size() != 2 + carried) {
    return ctx.Error(
        "the body must take (iteration, condition, state...) and return "
        "(condition, state..., scan outputs...)");
  }
  const size_t scans = body->outputs.size() - 1 - carried;
  std::vector<std::vector<Tensor>> scan_parts(scans);
  for (int64_t iter = 0; iter < max_trips && cond; ++iter) {
    std::vector<Tensor> inputs = {Tensor::FromVector<int64_t>("", {}, {iter}),
                                  Tensor::FromBytes("", DataType::kBool, {}, {1})};
    inputs.insert(inputs.end(), state.begin(), state.end());
    ASSIGN_OR_RETURN(std::vector<Tensor> out, ctx.RunSubgraph(*body, inputs));
    if (out.size() != 1 + carried + scans) return ctx.Error("body output count differs");
    ASSIGN_OR_RETURN(cond, ReadCondition(ctx, out[0], "the body's condition output"));
    for (size_t i = 0; i < carried; ++i) state[i] = std::move(out[1 + i]);
    for (size_t i = 0; i < scans; ++i) scan_parts[i].push_back(std::move(out[1 + carried + i]));
  }
  for (size_t i = 0; i < carried; ++i) ctx.SetOutput(i, state[i].WithDims(state[i].dims()));
  for (size_t i = 0; i < scans; ++i) {
    if (scan_parts[i].empty()) {
      // No iteration ran: an empty scan output of the body's declared type.
      DataType type = body->outputs[1 + carried + i].elem_type;
      if (type == DataType::kUndefined) type = DataType::kFloat32;
      if (!StorageBytes(type, 0).ok()) return ctx.Unsupported("empty scan output of this type");
      uint8_t* unused = nullptr;
      ctx.SetOutput(carried + i, Tensor::Allocate(type, {0}, &unused));
      continue;
    }
    ASSIGN_OR_RETURN(Tensor stacked, Stack(scan_parts[i], 0, false));
    ctx.SetOutput(carried + i, std::move(stacked));
  }
  return absl::OkStatus();
}

// Slice t[index] along `axis` (dropping that axis).
// REQUIRES: t has a fixed-size element type (checked by Scan).
Tensor SliceAxis(const Tensor& t, int64_t axis, int64_t index) {
  std::vector<int64_t> shape = t.dims();
  const int64_t dim = shape[axis];
  shape.erase(shape.begin() + axis);
  const int64_t outer = Product(t.dims(), 0, axis);
  const int64_t chunk = static_cast<int64_t>(t.bytes().size()) / std::max<int64_t>(outer * dim, 1);
  uint8_t* out = nullptr;
  Tensor result = Tensor::Allocate(t.dtype(), shape, &out);
  for (int64_t o = 0; o < outer; ++o) {
    CopyBytes(out + o * chunk, t.bytes().data() + (o * dim + index) * chunk, chunk);
  }
  return result;
}

absl::Status Scan(KernelContext& ctx) {
  const Graph* body = GraphAttribute(ctx, "body");
  if (body == nullptr) return ctx.Error("missing body subgraph");
  const int64_t num_scan = ctx.GetInt("num_scan_inputs", 0);
  const int64_t num_state = static_cast<int64_t>(ctx.input_count()) - num_scan;
  const int64_t num_scan_out = static_cast<int64_t>(body->outputs.size()) - num_state;
  if (num_scan <= 0 || num_state < 0 || num_scan_out < 0 ||
      static_cast<int64_t>(body->inputs.size()) != num_state + num_scan) {
    return ctx.Error("the body's inputs and outputs do not match the scan's states and inputs");
  }
  for (int64_t i = 0; i < static_cast<int64_t>(ctx.input_count()); ++i) {
    RETURN_IF_ERROR(ctx.RequireInput(i).status());
  }
  auto list = [&](const char* name, int64_t n) {
    std::vector<int64_t> v = ctx.GetInts(name);
    v.resize(static_cast<size_t>(n), 0);
    return v;
  };
  const auto in_axes = list("scan_input_axes", num_scan),
             in_dirs = list("scan_input_directions", num_scan);
  const auto out_axes = list("scan_output_axes", num_scan_out),
             out_dirs = list("scan_output_directions", num_scan_out);
  std::vector<Tensor> state;
  for (int64_t i = 0; i < num_state; ++i) state.push_back(ctx.input(i));
  std::vector<int64_t> axes(num_scan);
  int64_t steps = -1;
  for (int64_t i = 0; i < num_scan; ++i) {
    const Tensor& t = ctx.input(num_state + i);
    if (!StorageBytes(t.dtype(), 0).ok()) return ctx.Unsupported("scan inputs of this type");
    ASSIGN_OR_RETURN(axes[i], NormalizeAxis(in_axes[i], static_cast<int64_t>(t.dims().size())));
    const int64_t len = t.dims()[axes[i]];
    if (steps >= 0 && len != steps) return ctx.Error("scan inputs differ in length");
    steps = len;
  }
  std::vector<std::vector<Tensor>> parts(num_scan_out);
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<Tensor> inputs = state;
    for (int64_t i = 0; i < num_scan; ++i) {
      const int64_t at = in_dirs[i] ? steps - 1 - s : s;
      inputs.push_back(SliceAxis(ctx.input(num_state + i), axes[i], at));
    }
    ASSIGN_OR_RETURN(std::vector<Tensor> out, ctx.RunSubgraph(*body, inputs));
    for (int64_t i = 0; i < num_state; ++i) state[i] = std::move(out[i]);
    for (int64_t i = 0; i < num_scan_out; ++i) parts[i].push_back(std::move(out[num_state + i]));
  }
  for (int64_t i = 0; i < num_state; ++i) ctx.SetOutput(i, state[i].WithDims(state[i].dims()));
  for (int64_t i = 0; i < num_scan_out; ++i) {
    if (parts[i].empty()) return ctx.Unsupported("scan over zero steps");
    const int64_t rank = static_cast<int64_t>(parts[i][0].dims().size()) + 1;
    ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(out_axes[i], rank));
    ASSIGN_OR_RETURN(Tensor stacked, Stack(parts[i], axis, out_dirs[i] != 0));
    ctx.SetOutput(num_state + i, std::move(stacked));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterControlFlowOps(KernelRegistry& r) {
  r.Add("", "If", 1, If);
  r.Add("", "Loop", 1, Loop);
  r.Add("", "Scan", 9, Scan);
}

}  // namespace pare::runtime
