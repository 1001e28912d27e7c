#include "quantize/static_int8.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/model_builder.h"
#include "core/stage.h"
#include "core/status_macros.h"
#include "quantize/bias_correction.h"
#include "quantize/integer_layout.h"
#include "quantize/passes.h"
#include "quantize/qoperator.h"
#include "quantize/range_search.h"
#include "quantize/rewrite_util.h"
#include "quantize/smoothquant.h"
#include "quantize/static_plan.h"
#include "runtime/session.h"

namespace pare::quantize {
namespace {

class Rewriter {
 public:
  Rewriter(Model& model, const StaticInt8Options& o, absl::flat_hash_set<std::string> wide)
      : model_(model), o_(o), wide_(std::move(wide)) {
    opset_ = OpsetVersion(model, "").value_or(1);
    // Per-axis DequantizeLinear is standard from opset 13; before that,
    // ONNX Runtime's com.microsoft form (which pare also runs).
    axis_domain_ = opset_ >= 13 ? "" : "com.microsoft";
  }

  // X -> QuantizeLinear -> DequantizeLinear, shared by every consumer.
  std::string Activation(const std::string& x, Range observed, Range chosen,
                         QuantizeReport& report) {
    if (auto it = dequantized_.find(x); it != dequantized_.end()) return it->second;
    return QuantizeActivation(x, observed, chosen, TypeOf(x), report);
  }

  // X -> Mul(1/s) -> QuantizeLinear -> DequantizeLinear (SmoothQuant).
  std::string SmoothedActivation(const std::string& x, const ChannelRange& channels,
                                 const std::vector<float>& s, int64_t rank, int64_t axis,
                                 QuantizeReport& report) {
    std::vector<float> inverse(s.size());
    for (size_t c = 0; c < s.size(); ++c) inverse[c] = 1.0f / s[c];
    // Shaped to broadcast along `axis` of a rank-`rank` value.
    std::vector<int64_t> dims = {static_cast<int64_t>(s.size())};
    if (axis >= 0) dims.resize(rank - axis, 1);
    const std::string smoothed = x + "_smoothed";
    Add(Tensor::FromVector<float>(smoothed + "_factor", dims, inverse));
    AddNode("Mul", "", {x, smoothed + "_factor"}, smoothed, -1);
    const Range r = SmoothedRange(channels, s);
    return QuantizeActivation(smoothed, r, r, TypeOf(x), report);
  }

  std::string QuantizeActivation(const std::string& x, Range observed, Range chosen, DataType type,
                                 QuantizeReport& report) {
    const QuantParams p = ChooseParams(chosen, type, o_.symmetric_activations);
    const std::string s = x + "_scale", z = x + "_zero_point";
    Add(Tensor::FromVector<float>(s, {}, {p.scale}));
    Add(Scalar(z, type, p.zero_point));
    const std::string q = x + "_quantized", dq = x + "_dequantized";
    // 16-bit Q/DQ is standard only from opset 21 (the model is at opset 10
    // or later by now); before, ONNX Runtime's com.microsoft form.
    const bool wide = type == DataType::kUint16 || type == DataType::kInt16;
    const std::string domain = wide && opset_ < 21 ? "com.microsoft" : "";
    AddNode("QuantizeLinear", domain, {x, s, z}, q, -1);
    AddNode("DequantizeLinear", domain, {q, s, z}, dq, -1);
    report.tensors.push_back({x,
                              "activation",
                              {p.scale},
                              {p.zero_point},
                              observed,
                              chosen,
                              0,
                              0,
                              0,
                              DataTypeName(type)});
    dequantized_[x] = dq;
    return dq;
  }

  // Constant W -> int8 initializer -> DequantizeLinear (per channel).
  std::string Weight(const std::string& w, const std::vector<float>& values,
                     const std::vector<int64_t>& dims, int64_t axis, WeightQuantization* quantized,
                     QuantizeReport& report) {
    const WeightQuantization q =
        QuantizeWeights(values, dims, o_.per_channel ? axis : -1, o_.weight_mse_clip);
    *quantized = q;
    for (Tensor& t : WeightInitializers(w, dims, q)) Add(std::move(t));
    const bool per_axis = q.scales.size() > 1;
    const std::string dq = w + "_dequantized";
    AddNode("DequantizeLinear", per_axis ? axis_domain_ : "",
            {w + "_quantized", w + "_scale", w + "_zero_point"}, dq, per_axis ? axis : -1);
    report.tensors.push_back(WeightEntry(w, q, values.size(), 5));
    return dq;
  }

  // Bias -> int32 with scale input_scale * weight_scale[c].
  std::string Bias(const std::string& b, const Tensor& value, float input_scale,
                   const std::vector<float>& weight_scales, QuantizeReport& report) {
    const std::vector<float> values = value.ToFloat32().value();
    std::vector<float> scales(values.size());
    for (size_t c = 0; c < values.size(); ++c) {
      scales[c] = input_scale * weight_scales[weight_scales.size() == 1 ? 0 : c];
    }
    const std::string base = b + "_quantized";
    Add(Tensor::FromVector<int32_t>(base, value.dims(),
                                    QuantizeBias(values, input_scale, weight_scales)));
    Add(Tensor::FromVector<float>(b + "_scale", {static_cast<int64_t>(scales.size())}, scales));
    const std::string dq = b + "_dequantized";
    AddNode("DequantizeLinear", axis_domain_, {base, b + "_scale"}, dq, 0);
    report.tensors.push_back({b,
                              "bias",
                              scales,
                              std::vector<int32_t>(scales.size(), 0),
                              {},
                              {},
                              0,
                              values.size() * 4ull,
                              values.size() * 8ull});
    return dq;
  }

  void AddInitializer(Tensor t) { Add(std::move(t)); }

  // Points every top-level reader of a quantized activation at its
  // DequantizeLinear (the integer layout: nothing reads the float value).
  void RewireReaders(Graph& g) const {
    for (Node& n : g.nodes) {
      for (std::string& in : n.inputs) {
        if (auto it = dequantized_.find(in); it != dequantized_.end()) in = it->second;
      }
    }
  }

  // Appends the new nodes and initializers, drops weights nothing reads any
  // more, imports com.microsoft when used, and restores topological order.
  absl::Status Finish() {
    Graph& g = model_.graph;
    for (Node& n : nodes_) g.nodes.push_back(std::move(n));
    for (Tensor& t : initializers_) g.initializers.push_back(std::move(t));
    return FinishRewrite(model_, uses_contrib_);
  }

 private:
  void Add(Tensor t) { initializers_.push_back(std::move(t)); }
  void AddNode(const std::string& op, const std::string& domain, std::vector<std::string> inputs,
               const std::string& output, int64_t axis) {
    Node n;
    n.name = output;
    n.op_type = op;
    n.domain = domain;
    n.inputs = std::move(inputs);
    n.outputs = {output};
    if (axis >= 0) n.attributes.push_back(IntAttr("axis", axis));
    uses_contrib_ |= domain == "com.microsoft";
    nodes_.push_back(std::move(n));
  }

  // The code type of activation `x`: 16-bit when a wide node reads it.
  DataType TypeOf(const std::string& x) const {
    if (!wide_.contains(x)) return o_.activation_type;
    if (o_.activation_type == DataType::kInt8) return DataType::kInt16;
    return o_.activation_type == DataType::kUint8 ? DataType::kUint16 : o_.activation_type;
  }

  Model& model_;
  const StaticInt8Options& o_;
  absl::flat_hash_set<std::string> wide_;
  int64_t opset_ = 1;
  std::string axis_domain_;
  bool uses_contrib_ = false;
  std::vector<Node> nodes_;
  std::vector<Tensor> initializers_;
  absl::flat_hash_map<std::string, std::string> dequantized_;
};

float ScaleOf(const QuantizeReport& report, const std::string& activation) {
  for (const QuantizedTensor& q : report.tensors) {
    if (q.name == activation && q.kind == "activation") return q.scales[0];
  }
  return 1;
}

// Calibration sees float32 values only: a target whose activation (or, for
// QOperator, output) never reached it (a float16 model's, say) stays in
// float, named in the report; none left is an error.
absl::Status DropUnobservedTargets(const Graph& g,
                                   const absl::flat_hash_map<std::string, TensorCalibrator>& seen,
                                   bool outputs_too, std::vector<Target>& targets,
                                   QuantizeReport& report) {
  const size_t candidates = targets.size();
  std::erase_if(targets, [&](const Target& t) {
    const Node& n = g.nodes[t.node];
    std::vector<std::string> values;
    for (int i : t.activations) values.push_back(n.inputs[i]);
    if (outputs_too) values.push_back(n.outputs[0]);
    for (const std::string& v : values) {
      if (seen.at(v).count() > 0) continue;
      report.skipped.push_back(
          absl::StrCat(NodeLabel(n), ": '", v, "' was never observed as float32 in calibration"));
      return true;
    }
    return false;
  });
  if (!targets.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "none of the ", candidates, " nodes to quantize had float32 activations in calibration",
      " (a float16 model? quantize its float32 export)"));
}

// Plan, before anything changes: the options and the model are usable.
absl::Status CheckStaticInputs(const Model& model, const CalibrationData& data,
                               const StaticInt8Options& o) {
  if (data.count <= 0) return absl::InvalidArgumentError("the calibration set is empty");
  std::string which;
  if (IsQuantizedGraph(model.graph, &which)) {
    return absl::FailedPreconditionError(absl::StrCat("the model is already quantized (it has a ",
                                                      which, "); quantize its float original"));
  }
  if (o.format == StaticInt8Options::Format::kQOperator && (o.integer_graph || o.range_search)) {
    return absl::InvalidArgumentError(
        "--integer-graph and --method search are for the QDQ format; the qoperator format is "
        "integer already and takes one method's ranges");
  }
  if (o.format == StaticInt8Options::Format::kQOperator &&
      (o.smoothquant_alpha || !o.wide_nodes.empty() ||
       (o.activation_type != DataType::kUint8 && o.activation_type != DataType::kInt8))) {
    return absl::InvalidArgumentError(
        "the qoperator format takes 8-bit activations only and no SmoothQuant");
  }
  return absl::OkStatus();
}

// What calibration observes: each quantized activation's range, and the
// per-channel ranges SmoothQuant and bias correction need.
struct Observations {
  absl::flat_hash_map<std::string, TensorCalibrator> calibrators;
  absl::flat_hash_map<std::string, int> readers;  // quantized readers of each activation
  absl::flat_hash_map<std::string, ChannelRange> channels;
  std::optional<float> smoothquant_alpha;
  IntegerLayout layout;      // empty unless the integer layout was asked for
  RangeOverrides overrides;  // by range source: ranges a search chose

  // The calibrator whose range sets activation `x`'s parameters.
  const TensorCalibrator& RangeOf(const std::string& x) const {
    return calibrators.at(layout.RangeSource(x));
  }
  Range Observed(const std::string& x) const {
    return RangeOf(x).Compute({CalibrationMethod::kMinMax});
  }
  Range Chosen(const std::string& x, const CalibrationOptions& method) const {
    auto it = overrides.find(layout.RangeSource(x));
    return it != overrides.end() ? it->second.second : RangeOf(x).Compute(method);
  }

  bool Smoothable(const Graph& g, const Target& t) const {
    if (!smoothquant_alpha || t.x_channel_axis == -100) return false;
    auto it = readers.find(g.nodes[t.node].inputs[0]);
    return it != readers.end() && it->second == 1;
  }
};

// Bias correction applies to Conv (ungrouped or depthwise), MatMul, and Gemm
// whose C is a plain bias or absent, with a constant weight.
bool Correctable(const Node& n, const Target& t) {
  if (t.weight < 0) return false;
  if (n.op_type == "Gemm") return t.bias >= 0 || n.inputs.size() < 3;  // a C it can replace
  return n.op_type == "Conv" ? t.x_channel_axis == 1 : n.op_type == "MatMul";
}

Observations PlanObservations(const Graph& g, const Constants& constants,
                              const std::vector<Target>& targets, const StaticInt8Options& o,
                              bool qoperator) {
  Observations obs;
  obs.smoothquant_alpha = o.smoothquant_alpha;
  if (o.integer_graph) {
    obs.layout = PlanIntegerLayout(g, constants, targets);
    for (const std::string& v : obs.layout.values) {
      obs.calibrators.try_emplace(v);
      obs.calibrators.try_emplace(obs.layout.RangeSource(v));
    }
  }
  for (const Target& t : targets) {
    for (int i : t.activations) {
      obs.calibrators.try_emplace(g.nodes[t.node].inputs[i]);
      obs.calibrators.try_emplace(obs.layout.RangeSource(g.nodes[t.node].inputs[i]));
      ++obs.readers[g.nodes[t.node].inputs[i]];
    }
  }
  for (const Target& t : targets) {
    const Node& n = g.nodes[t.node];
    const bool correct = o.bias_correction && Correctable(n, t);
    if (obs.Smoothable(g, t) || correct) obs.channels.emplace(n.inputs[0], t.x_channel_axis);
  }
  if (qoperator) {  // outputs are quantized too
    for (const Target& t : targets) obs.calibrators.try_emplace(g.nodes[t.node].outputs[0]);
  }
  return obs;
}

void SumWeightBytes(QuantizeReport& report) {
  for (const QuantizedTensor& q : report.tensors) {
    report.weight_bytes_before += q.bytes_before;
    report.weight_bytes_after += q.bytes_after;
  }
}

// Bias correction: the weights' rounding shifts each output's mean by the
// quantization error times the input's mean; the bias takes it back.
// `old` is the bias before (null: none); returns old - shift.
std::optional<Tensor> CorrectedBias(const Node& n, const Target& t, const Tensor* old,
                                    const Observations& obs, const std::string& input,
                                    const std::vector<float>& weight_values,
                                    const std::vector<int64_t>& weight_dims,
                                    const WeightQuantization& wq,
                                    const std::optional<std::vector<float>>& smoothing) {
  auto ch = obs.channels.find(input);
  if (ch == obs.channels.end()) return std::nullopt;
  std::vector<double> mean = ch->second.mean();
  if (smoothing) {
    for (size_t c = 0; c < mean.size(); ++c) mean[c] /= (*smoothing)[c];
  }
  const std::vector<float> shift =
      n.op_type == "Conv" ? ConvOutputShift(weight_values, weight_dims, wq, mean,
                                            /*depthwise=*/t.w_input_axis == 0)
                          : MatMulOutputShift(weight_values, weight_dims, t.weight_axis, wq, mean);
  std::vector<float> bias(shift.size(), 0.0f);
  if (old != nullptr && old->element_count() == bias.size()) bias = old->ToFloat32().value();
  for (size_t m = 0; m < bias.size(); ++m) bias[m] -= shift[m];
  return Tensor::FromVector<float>(NodeLabel(n) + "_bias_corrected",
                                   {static_cast<int64_t>(bias.size())}, bias);
}

// A MatMul's bias is the Add that is its only reader, with a constant
// operand of one value per output: that operand's index in the Add.
std::optional<std::pair<Node*, int>> MatMulBiasAdd(Graph& g, const Node& matmul,
                                                   const Constants& constants, size_t outputs) {
  Node* reader = nullptr;
  for (Node& other : g.nodes) {
    if (std::find(other.inputs.begin(), other.inputs.end(), matmul.outputs[0]) ==
        other.inputs.end()) {
      continue;
    }
    if (reader != nullptr) return std::nullopt;
    reader = &other;
  }
  if (reader == nullptr || reader->op_type != "Add" || !reader->domain.empty() ||
      reader->inputs.size() != 2) {
    return std::nullopt;
  }
  const int operand = reader->inputs[0] == matmul.outputs[0] ? 1 : 0;
  const Tensor* b = constants.FindFloat(reader->inputs[operand]);
  if (b == nullptr || b->dims().size() != 1 || b->element_count() != outputs) return std::nullopt;
  return std::make_pair(reader, operand);
}

// One target's activations, through Q/DQ (or SmoothQuant's Mul then Q/DQ).
// Returns the first input's scale, which the bias's scale follows.
absl::StatusOr<float> QuantizeInputs(Node& n, const Target& t, const Tensor* weight,
                                     const std::vector<float>& weight_values,
                                     const Observations& obs, const Graph& g,
                                     const StaticInt8Options& o, Rewriter& rewriter,
                                     std::optional<std::vector<float>>& smoothing,
                                     QuantizeReport& report) {
  float input_scale = 1;
  for (int i : t.activations) {
    const std::string x = n.inputs[i];
    const TensorCalibrator& c = obs.RangeOf(x);
    if (c.count() == 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", x, "' was never observed"));
    }
    auto ch = obs.channels.find(x);
    if (i == 0 && obs.Smoothable(g, t) && weight != nullptr && ch != obs.channels.end() &&
        ch->second.channels() == weight->dims()[t.w_input_axis < 0 ? 0 : t.w_input_axis]) {
      smoothing =
          SmoothingScales(ch->second, AbsMaxAlong(weight_values, weight->dims(), t.w_input_axis),
                          *o.smoothquant_alpha);
      n.inputs[i] = rewriter.SmoothedActivation(x, ch->second, *smoothing, ch->second.rank(),
                                                t.x_channel_axis, report);
      input_scale = ScaleOf(report, x + "_smoothed");
      continue;
    }
    n.inputs[i] = rewriter.Activation(x, obs.Observed(x), obs.Chosen(x, o.calibration), report);
    if (i == 0) input_scale = ScaleOf(report, x);
  }
  return input_scale;
}

// One Conv/MatMul/Gemm in QDQ form: activations, weight, then bias (int32
// at input scale times weight scale, after any bias correction).
absl::Status QuantizeTargetQdq(Model& model, const Target& t, const Constants& constants,
                               const Observations& obs, const StaticInt8Options& o,
                               Rewriter& rewriter, QuantizeReport& report) {
  Node& n = model.graph.nodes[t.node];
  const std::string original_input = n.inputs[0];  // before it is replaced
  std::vector<float> weight_values;
  const Tensor* weight = t.weight >= 0 ? constants.FindFloat(n.inputs[t.weight]) : nullptr;
  if (weight != nullptr) {
    weight_values = weight->ToFloat32().value();
    RETURN_IF_ERROR(CheckFiniteWeight(n.inputs[t.weight], weight_values, kNonFiniteWeightAdvice));
  }
  std::optional<std::vector<float>> smoothing;
  ASSIGN_OR_RETURN(const float input_scale,
                   QuantizeInputs(n, t, weight, weight_values, obs, model.graph, o, rewriter,
                                  smoothing, report));
  std::vector<float> weight_scales;
  WeightQuantization wq;
  if (weight != nullptr) {
    if (smoothing) ScaleAlong(weight_values, weight->dims(), t.w_input_axis, *smoothing);
    const std::string w = n.inputs[t.weight];
    n.inputs[t.weight] =
        rewriter.Weight(w, weight_values, weight->dims(), t.weight_axis, &wq, report);
    weight_scales = wq.scales;
  }
  std::optional<Tensor> corrected;
  const bool correct = o.bias_correction && weight != nullptr && Correctable(n, t);
  if (correct && n.op_type == "MatMul") {
    // No bias input: correct the bias Add that follows, if there is one.
    const size_t outputs = static_cast<size_t>(weight->dims()[1]);
    if (auto add = MatMulBiasAdd(model.graph, n, constants, outputs)) {
      auto [reader, operand] = *add;
      auto fixed = CorrectedBias(n, t, constants.FindFloat(reader->inputs[operand]), obs,
                                 original_input, weight_values, weight->dims(), wq, smoothing);
      if (fixed) {
        reader->inputs[operand] = fixed->name();
        rewriter.AddInitializer(*std::move(fixed));
      }
    }
  } else if (correct) {
    corrected = CorrectedBias(n, t, t.bias >= 0 ? constants.FindFloat(n.inputs[t.bias]) : nullptr,
                              obs, original_input, weight_values, weight->dims(), wq, smoothing);
    if (corrected) {
      n.inputs.resize(3);
      n.inputs[2] = corrected->name();
    }
  }
  const int bias_index = corrected ? 2 : t.bias;
  if (bias_index >= 0 && !weight_scales.empty()) {
    const std::string b = n.inputs[bias_index];
    const Tensor* value = corrected ? &*corrected : constants.FindFloat(b);
    if (value->element_count() ==
        (weight_scales.size() == 1 ? value->element_count() : weight_scales.size())) {
      n.inputs[bias_index] = rewriter.Bias(b, *value, input_scale, weight_scales, report);
    }
  }
  report.quantized_nodes.push_back(n.name.empty() ? n.outputs[0] : n.name);
  return absl::OkStatus();
}

absl::flat_hash_set<std::string> WideActivations(const Graph& g, const std::vector<Target>& targets,
                                                 const StaticInt8Options& o) {
  absl::flat_hash_set<std::string> wide;  // activations read by a wide node
  for (const Target& t : targets) {
    const Node& n = g.nodes[t.node];
    if (!Excluded(n, o.wide_nodes)) continue;
    for (int i : t.activations) wide.insert(n.inputs[i]);
  }
  return wide;
}

// The integer layout's other activations (outputs, and the ops between
// targets); then every reader takes the dequantized values. Values never
// seen as float32 in calibration stay float.
void QuantizeBetweenTargets(Graph& g, const Observations& obs, const StaticInt8Options& o,
                            Rewriter& rewriter, QuantizeReport& report) {
  for (const std::string& v : obs.layout.values) {
    if (obs.RangeOf(v).count() == 0 || obs.calibrators.at(v).count() == 0) continue;
    rewriter.Activation(v, obs.Observed(v), obs.Chosen(v, o.calibration), report);
  }
  rewriter.RewireReaders(g);
}

// The QDQ model: every target, then (integer layout) the values between.
absl::Status WriteQdq(Model& model, const std::vector<Target>& targets, const Observations& obs,
                      const StaticInt8Options& o, QuantizeReport& report) {
  const Constants constants(model.graph);
  Rewriter rewriter(model, o, WideActivations(model.graph, targets, o));
  for (const Target& t : targets) {
    RETURN_IF_ERROR(QuantizeTargetQdq(model, t, constants, obs, o, rewriter, report));
  }
  if (o.integer_graph) QuantizeBetweenTargets(model.graph, obs, o, rewriter, report);
  return rewriter.Finish();
}

// What the range search tries: each range source once, in graph order
// (targets' inputs, then the integer layout's values); SmoothQuant's
// smoothed inputs keep their own range.
std::vector<RangeChoice> RangeChoices(const Graph& g, const std::vector<Target>& targets,
                                      const Observations& obs, const StaticInt8Options& o) {
  std::vector<std::string> values;
  for (const Target& t : targets) {
    if (obs.Smoothable(g, t)) continue;
    for (int i : t.activations) values.push_back(g.nodes[t.node].inputs[i]);
  }
  values.insert(values.end(), obs.layout.values.begin(), obs.layout.values.end());
  std::vector<RangeChoice> choices;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& v : values) {
    const std::string& source = obs.layout.RangeSource(v);
    auto it = obs.calibrators.find(source);
    if (it == obs.calibrators.end() || it->second.count() == 0 || !seen.insert(source).second) {
      continue;
    }
    choices.push_back({source, CandidateRanges(it->second, o.calibration.entropy_levels)});
  }
  return choices;
}

// Ranges chosen by output error (range_search.h), on copies of the prepared
// model; `model` is unchanged.
absl::Status SearchActivationRanges(const Model& model, const CalibrationData& data,
                                    const std::vector<Target>& targets, Observations& obs,
                                    const StaticInt8Options& o) {
  const std::vector<RangeChoice> choices = RangeChoices(model.graph, targets, obs, o);
  // Each try swaps in its ranges (copying the calibrators' histograms per
  // try would cost more than the rewrite).
  auto build = [&](const RangeOverrides& overrides) -> absl::StatusOr<Model> {
    Model candidate = model;
    obs.overrides = overrides;
    QuantizeReport scratch;
    RETURN_IF_ERROR(WriteQdq(candidate, targets, obs, o, scratch));
    return candidate;
  };
  RangeSearchOptions search;
  search.samples = o.range_search_samples;
  search.threads = o.threads;
  search.progress = o.search_progress;
  ASSIGN_OR_RETURN(obs.overrides, SearchRanges(model, data, choices, build, search));
  return absl::OkStatus();
}

}  // namespace

// Plan (check, choose targets and what to observe), compute (calibrate),
// then commit (QOperator nodes, or Q/DQ around each target). The caller's
// model is untouched on error: CommitOnSuccess hands this a copy.
static absl::StatusOr<QuantizeReport> QuantizeStaticInt8On(Model& model,
                                                           const CalibrationData& data,
                                                           const StaticInt8Options& options) {
  RETURN_IF_ERROR(CheckStaticInputs(model, data, options));
  StaticInt8Options o = options;
  // Entropy's levels: one sign of a symmetric code range, else all of it.
  o.calibration.entropy_levels = o.symmetric_activations ? 128 : 255;
  // QDQ needs opset 10 (and ONNX Runtime fuses it into integer kernels
  // only when the model's opset has them); per-channel weights need
  // per-axis DequantizeLinear (opset 13).
  RETURN_IF_ERROR(ApplyRewrites(model, QdqPreparation(o.per_channel)).status());
  const bool qoperator = o.format == StaticInt8Options::Format::kQOperator;
  QuantizeReport report;
  report.method = CalibrationMethodName(o.calibration.method);
  report.format = qoperator ? "qoperator" : "qdq";
  report.calibration = data.description;
  report.samples = data.count;
  const Constants constants(model.graph);
  std::vector<Target> targets = PlanTargets(model.graph, constants, o, report.skipped);
  if (qoperator) targets = QOperatorTargets(model.graph, std::move(targets), report.skipped);
  if (targets.empty()) {
    return absl::InvalidArgumentError("no Conv, MatMul or Gemm node to quantize");
  }
  Observations obs = PlanObservations(model.graph, constants, targets, o, qoperator);
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(Calibrate(model, data, o, obs.calibrators, obs.channels));
  report.calibration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RETURN_IF_ERROR(DropUnobservedTargets(model.graph, obs.calibrators, qoperator, targets, report));
  if (qoperator) {
    RETURN_IF_ERROR(WriteQOperator(model, targets, constants, obs.calibrators, o, report));
  } else {
    if (o.range_search) {
      RETURN_IF_ERROR(SearchActivationRanges(model, data, targets, obs, o));
      report.method = "search";
    }
    RETURN_IF_ERROR(WriteQdq(model, targets, obs, o, report));
    for (QuantizedTensor& t : report.tensors) {
      auto it = obs.overrides.find(obs.layout.RangeSource(t.name));
      if (t.kind == "activation" && it != obs.overrides.end()) t.range_method = it->second.first;
    }
  }
  SumWeightBytes(report);
  return report;
}

absl::StatusOr<QuantizeReport> QuantizeStaticInt8(Model& model, const CalibrationData& data,
                                                  const StaticInt8Options& options) {
  return CommitOnSuccess(model,
                         [&](Model& work) { return QuantizeStaticInt8On(work, data, options); });
}

}  // namespace pare::quantize
