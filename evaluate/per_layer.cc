#include "evaluate/per_layer.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/status_macros.h"
#include "data/inputs.h"
#include "runtime/session.h"

namespace pare::evaluate {
namespace {

bool IsFloat(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16 ||
         t == DataType::kFloat64;
}

// Values computed (transitively) from the graph's fed inputs.
absl::flat_hash_set<std::string> DynamicValues(const Model& model) {
  absl::flat_hash_set<std::string> dynamic;
  for (const ValueInfo* v : data::FeedableInputs(model)) dynamic.insert(v->name);
  auto order = TopologicalOrder(model.graph);
  if (!order.ok()) return dynamic;
  for (size_t i : *order) {
    const Node& node = model.graph.nodes[i];
    bool reads_dynamic = false;
    for (const std::string& in : NodeReads(node)) reads_dynamic |= dynamic.contains(in);
    if (reads_dynamic) dynamic.insert(node.outputs.begin(), node.outputs.end());
  }
  return dynamic;
}

// The candidate's nodes that compute `value` from matched values: walking
// back from its producer until matched values (which become the segment's
// inputs), initializers or constants.
struct Segment {
  std::string value;
  const Node* producer = nullptr;
  std::vector<std::string> inputs;  // matched values it reads
  std::unique_ptr<runtime::Session> session;
  ErrorStats local, accumulated;
  int nodes = 0;
};

constexpr int kMaxSegmentNodes = 256;

absl::StatusOr<Model> SegmentModel(const Model& candidate, const GraphIndex& index,
                                   const std::string& value,
                                   const absl::flat_hash_set<std::string>& matched,
                                   std::vector<std::string>* inputs) {
  Model m;
  m.ir_version = candidate.ir_version;
  m.opset_imports = candidate.opset_imports;
  absl::flat_hash_set<const Node*> members;
  absl::flat_hash_set<std::string> seen_inputs, seen_inits;
  std::vector<const Node*> stack = {index.Producer(value)};
  members.insert(stack.back());
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    for (const std::string& in : NodeReads(*node)) {
      if (in.empty()) continue;
      if (matched.contains(in)) {
        if (seen_inputs.insert(in).second) inputs->push_back(in);
      } else if (const Tensor* init = index.Initializer(in)) {
        if (seen_inits.insert(in).second) m.graph.initializers.push_back(*init);
      } else if (const Node* p = index.Producer(in)) {
        if (members.insert(p).second) {
          if (members.size() > kMaxSegmentNodes) {
            return absl::OutOfRangeError(absl::StrCat("segment of '", value, "' is too large"));
          }
          stack.push_back(p);
        }
      } else {
        return absl::NotFoundError(absl::StrCat("'", in, "' has no source"));
      }
    }
  }
  for (const Node& node : candidate.graph.nodes) {
    if (members.contains(&node)) m.graph.nodes.push_back(node);
  }
  for (const std::string& in : *inputs) m.graph.inputs.push_back({.name = in});
  m.graph.outputs.push_back({.name = value});
  return m;
}

std::string OpLabel(const Node& node) {
  return node.domain.empty() || node.domain == "ai.onnx"
             ? node.op_type
             : absl::StrCat(node.domain, ".", node.op_type);
}

absl::Status Accumulate(ErrorStats& stats, const Tensor& reference, const Tensor& candidate) {
  ASSIGN_OR_RETURN(std::vector<float> r, reference.ToFloat32());
  ASSIGN_OR_RETURN(std::vector<float> c, candidate.ToFloat32());
  stats.Add(r.data(), c.data(), r.size());
  return absl::OkStatus();
}

}  // namespace

struct LayerAnalysis::State {
  Model reference, candidate;
  int threads = 0;
  std::unique_ptr<runtime::Session> reference_session, candidate_session;
  absl::flat_hash_set<std::string> reference_dynamic, candidate_dynamic;
  std::vector<std::unique_ptr<Segment>> segments;  // built from the first sample
  bool built = false;

  absl::Status Build(const absl::flat_hash_map<std::string, Tensor>& ref_values,
                     const absl::flat_hash_map<std::string, Tensor>& cand_values) {
    absl::flat_hash_set<std::string> matched;
    for (const auto& [name, t] : cand_values) {
      auto r = ref_values.find(name);
      if (r != ref_values.end() && r->second.dims() == t.dims() && IsFloat(t.dtype()) &&
          IsFloat(r->second.dtype())) {
        matched.insert(name);
      }
    }
    // Graph inputs are matched by definition (both models are fed the same).
    for (const ValueInfo* v : data::FeedableInputs(candidate)) matched.insert(v->name);
    const GraphIndex index(candidate.graph);
    for (const Node& node : candidate.graph.nodes) {
      for (const std::string& out : node.outputs) {
        if (out.empty() || !matched.contains(out) || !cand_values.contains(out)) continue;
        auto seg = std::make_unique<Segment>();
        seg->value = out;
        seg->producer = &node;
        auto model = SegmentModel(candidate, index, out, matched, &seg->inputs);
        if (!model.ok()) continue;  // such a layer gets no local figure
        seg->nodes = static_cast<int>(model->graph.nodes.size());
        auto session = runtime::Session::Create(*model, {.threads = threads, .fuse = false});
        if (!session.ok()) continue;
        seg->session = *std::move(session);
        segments.push_back(std::move(seg));
      }
    }
    built = true;
    return absl::OkStatus();
  }
};

LayerAnalysis::LayerAnalysis(std::unique_ptr<State> state) : state_(std::move(state)) {}
LayerAnalysis::~LayerAnalysis() = default;

absl::StatusOr<std::unique_ptr<LayerAnalysis>> LayerAnalysis::Create(const Model& reference,
                                                                     const Model& candidate,
                                                                     int threads) {
  auto state = std::make_unique<State>();
  state->reference = reference;
  state->candidate = candidate;
  state->threads = threads;
  const runtime::SessionOptions options{.threads = threads, .fuse = false};
  ASSIGN_OR_RETURN(state->reference_session, runtime::Session::Create(reference, options));
  ASSIGN_OR_RETURN(state->candidate_session, runtime::Session::Create(candidate, options));
  state->reference_dynamic = DynamicValues(reference);
  state->candidate_dynamic = DynamicValues(candidate);
  return std::unique_ptr<LayerAnalysis>(new LayerAnalysis(std::move(state)));
}

absl::Status LayerAnalysis::AddSample(const std::vector<Tensor>& inputs) {
  State& s = *state_;
  // Every dynamic float value of each model, for this sample.
  auto capture = [](const absl::flat_hash_set<std::string>& dynamic,
                    absl::flat_hash_map<std::string, Tensor>& into) {
    return runtime::RunOptions{.observer = [&dynamic, &into](const Node&, const Tensor& t) {
      if (dynamic.contains(t.name()) && IsFloat(t.dtype())) into[t.name()] = t;
    }};
  };
  absl::flat_hash_map<std::string, Tensor> ref_values, cand_values;
  for (const Tensor& t : inputs) ref_values[t.name()] = t;
  RETURN_IF_ERROR(
      s.reference_session->Run(inputs, capture(s.reference_dynamic, ref_values)).status());
  RETURN_IF_ERROR(
      s.candidate_session->Run(inputs, capture(s.candidate_dynamic, cand_values)).status());
  if (!s.built) RETURN_IF_ERROR(s.Build(ref_values, cand_values));
  for (auto& seg : s.segments) {
    const Tensor& ref = ref_values.at(seg->value);
    if (auto c = cand_values.find(seg->value); c != cand_values.end()) {
      RETURN_IF_ERROR(Accumulate(seg->accumulated, ref, c->second));
    }
    std::vector<Tensor> feed;
    bool complete = true;
    for (const std::string& in : seg->inputs) {
      auto it = ref_values.find(in);
      if (it == ref_values.end()) {
        complete = false;
        break;
      }
      feed.push_back(it->second);
    }
    if (!complete) continue;
    auto out = seg->session->Run(feed);
    if (!out.ok()) {
      return absl::Status(
          out.status().code(),
          absl::StrCat("layer '", seg->value, "' on reference inputs: ", out.status().message()));
    }
    RETURN_IF_ERROR(Accumulate(seg->local, ref, (*out)[0]));
  }
  return absl::OkStatus();
}

std::vector<LayerReport> LayerAnalysis::Layers() const {
  std::vector<LayerReport> layers;
  for (const auto& seg : state_->segments) {
    layers.push_back({seg->value, seg->producer->name, OpLabel(*seg->producer), seg->nodes,
                      seg->local.Summary(), seg->accumulated.Summary()});
  }
  std::stable_sort(layers.begin(), layers.end(), [](const LayerReport& a, const LayerReport& b) {
    if (a.local.sqnr_db != b.local.sqnr_db) return a.local.sqnr_db < b.local.sqnr_db;
    return a.accumulated.sqnr_db < b.accumulated.sqnr_db;
  });
  return layers;
}

}  // namespace pare::evaluate
