#include "plan/planner.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/float16.h"
#include "core/graph_edit.h"
#include "core/status_macros.h"
#include "evaluate/metrics.h"
#include "quantize/float16_weights.h"
#include "runtime/session.h"

namespace pare::plan {

using quantize::StoreWeightsInHalf;

namespace {

constexpr uint64_t kSteps = uint64_t{1} << 16;  // budget resolution of the knapsack

// The model with one layer's weight at `p` (applied through the quantize
// stage, or rounded to float16 values).
absl::StatusOr<Model> WithOneLayer(const Model& model, const PlanLayer& layer, const Precision& p) {
  Model trial = model;
  if (p.integer()) {
    quantize::WeightOnlyOptions o{.bits = p.bits, .block_size = p.block, .fp16_scales = true};
    o.rules = {{.match = layer.node, .bits = p.bits, .block_size = p.block},
               {.match = "*", .bits = 0}};
    RETURN_IF_ERROR(quantize::QuantizeWeightOnly(trial, nullptr, o).status());
    return trial;
  }
  if (p.bits == 16) {
    for (Tensor& t : trial.graph.initializers) {
      if (t.name() != layer.weight) continue;
      ASSIGN_OR_RETURN(std::vector<float> v, t.ToFloat32());
      for (float& x : v) x = Float16ToFloat32(Float32ToFloat16(x));
      t = Tensor::FromVector(t.name(), t.dims(), v);
    }
  }
  return trial;
}

// Loss of `outputs` against the reference's, accumulated over samples.
class LossMeter {
 public:
  explicit LossMeter(bool lm) : lm_(lm) {}
  absl::Status Add(const std::vector<Tensor>& ref, const std::vector<Tensor>& cand,
                   const std::vector<int64_t>& next) {
    for (size_t o = 0; o < ref.size() && o < cand.size(); ++o) {
      if (ref[o].dtype() != DataType::kFloat32) continue;
      ASSIGN_OR_RETURN(const std::vector<float> r, ref[o].ToFloat32());
      ASSIGN_OR_RETURN(const std::vector<float> c, cand[o].ToFloat32());
      if (lm_) {
        const uint64_t vocab = static_cast<uint64_t>(ref[o].dims().back());
        lm_stats_.Add(r.data(), c.data(), r.size() / vocab, vocab, next);
        return absl::OkStatus();  // the logits are the first output
      }
      for (size_t i = 0; i < r.size() && i < c.size(); ++i) {
        const double d = static_cast<double>(r[i]) - c[i];
        noise_ += d * d;
        energy_ += static_cast<double>(r[i]) * r[i];
      }
    }
    return absl::OkStatus();
  }
  double Loss() const {
    if (lm_) return std::max(0.0, lm_stats_.Summary().kl_mean);
    return energy_ > 0 ? noise_ / energy_ : 0.0;
  }

 private:
  bool lm_;
  evaluate::LmStats lm_stats_;
  double noise_ = 0, energy_ = 0;
};

}  // namespace

const char* LossName(LossKind kind) {
  switch (kind) {
    case LossKind::kKl:
      return "mean KL divergence of next-token distributions";
    case LossKind::kNoisePower:
      return "output noise power (10^(-SQNR/10))";
    case LossKind::kWeightError:
      return "relative weight error (no data)";
  }
  return "";
}

absl::StatusOr<std::vector<PlanLayer>> PlannableLayers(const Model& model,
                                                       const std::vector<Precision>& candidates) {
  const Constants constants(model.graph);
  std::vector<PlanLayer> layers;
  for (const Node& n : model.graph.nodes) {
    if (n.op_type != "MatMul" || !n.domain.empty() || n.inputs.size() != 2) continue;
    const Tensor* w = constants.FindFloating(n.inputs[1]);
    if (!w || w->dims().size() != 2) continue;
    PlanLayer l{.node = NodeLabel(n), .weight = n.inputs[1], .k = w->dims()[0], .n = w->dims()[1]};
    // A float16 weight means float16 activations, hence float16 scales.
    const int scale_bytes = w->dtype() == DataType::kFloat32 ? 4 : 2;
    for (const Precision& p : candidates) l.bytes.push_back(StoredBytes(p, l.k, l.n, scale_bytes));
    l.loss.assign(candidates.size(), 0.0);
    layers.push_back(std::move(l));
  }
  if (layers.empty()) {
    return absl::InvalidArgumentError(
        "nothing to plan: no MatMul with a constant 2-D float weight in the main graph");
  }
  return layers;
}

absl::Status MeasureSensitivity(const Model& model, const data::SampleSource& samples, bool lm,
                                const std::vector<Precision>& candidates,
                                std::vector<PlanLayer>& layers, const SensitivityOptions& o) {
  ASSIGN_OR_RETURN(auto reference, runtime::Session::Create(model, {.threads = o.threads}));
  std::vector<data::Sample> inputs;
  std::vector<std::vector<Tensor>> expected;
  for (int64_t s = 0; s < samples.size(); ++s) {
    ASSIGN_OR_RETURN(data::Sample sample, samples.Get(s));
    ASSIGN_OR_RETURN(std::vector<Tensor> out, reference->Run(sample.inputs));
    inputs.push_back(std::move(sample));
    expected.push_back(std::move(out));
  }
  const int64_t total = static_cast<int64_t>(layers.size() * candidates.size());
  int64_t done = 0;
  for (PlanLayer& layer : layers) {
    for (size_t c = 0; c < candidates.size(); ++c, ++done) {
      if (o.progress) o.progress(done, total);
      if (candidates[c].bits == 32) continue;  // the original
      ASSIGN_OR_RETURN(const Model trial, WithOneLayer(model, layer, candidates[c]));
      ASSIGN_OR_RETURN(auto session, runtime::Session::Create(trial, {.threads = o.threads}));
      LossMeter meter(lm);
      for (size_t s = 0; s < inputs.size(); ++s) {
        ASSIGN_OR_RETURN(const std::vector<Tensor> out, session->Run(inputs[s].inputs));
        RETURN_IF_ERROR(meter.Add(expected[s], out, inputs[s].next_tokens));
      }
      layer.loss[c] = meter.Loss();
    }
  }
  if (o.progress) o.progress(total, total);
  return absl::OkStatus();
}

absl::Status ProxySensitivity(const Model& model, const std::vector<Precision>& candidates,
                              std::vector<PlanLayer>& layers,
                              const std::function<void(int64_t, int64_t)>& progress) {
  const Constants constants(model.graph);
  for (size_t i = 0; i < layers.size(); ++i) {
    const Tensor* w = constants.FindFloating(layers[i].weight);
    if (!w) return absl::InternalError(absl::StrCat(layers[i].weight, ": weight vanished"));
    ASSIGN_OR_RETURN(const std::vector<float> values, w->ToFloat32());
    layers[i].loss = ProxyErrors(values, layers[i].k, layers[i].n, candidates);
    w->ReleasePages();
    if (progress) progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(layers.size()));
  }
  return absl::OkStatus();
}

namespace {

// The knapsack at one capacity: `cap` units of `unit` bytes, each layer's
// bytes rounded up to units.
std::optional<Plan> SolveAt(const std::vector<PlanLayer>& layers, uint64_t unit, size_t cap) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // best[c]: least loss of the layers so far within c units.
  std::vector<double> best(cap + 1, 0.0), next(cap + 1);
  std::vector<std::vector<uint8_t>> pick(layers.size(), std::vector<uint8_t>(cap + 1, 0));
  for (size_t i = 0; i < layers.size(); ++i) {
    const PlanLayer& l = layers[i];
    std::fill(next.begin(), next.end(), kInf);
    for (size_t j = 0; j < l.bytes.size(); ++j) {
      const size_t cost = static_cast<size_t>((l.bytes[j] + unit - 1) / unit);
      for (size_t c = cost; c <= cap; ++c) {
        const double v = best[c - cost] + l.loss[j];
        if (v < next[c]) {
          next[c] = v;
          pick[i][c] = static_cast<uint8_t>(j);
        }
      }
    }
    best.swap(next);
  }
  if (!std::isfinite(best[cap])) return std::nullopt;
  Plan plan{.choice = std::vector<int>(layers.size())};
  size_t c = cap;
  for (size_t i = layers.size(); i-- > 0;) {
    const int j = pick[i][c];
    plan.choice[i] = j;
    c -= static_cast<size_t>((layers[i].bytes[j] + unit - 1) / unit);
    plan.bytes += layers[i].bytes[j];
    plan.predicted_loss += layers[i].loss[j];
  }
  return plan;
}

}  // namespace

absl::StatusOr<Plan> SolvePlan(const std::vector<PlanLayer>& layers, uint64_t budget) {
  uint64_t smallest = 0;
  for (const PlanLayer& l : layers) smallest += *std::min_element(l.bytes.begin(), l.bytes.end());
  if (smallest > budget) {
    return absl::ResourceExhaustedError(
        absl::StrCat("even the smallest precision of every layer needs ", smallest,
                     " bytes, over the ", budget, " left for these weights"));
  }
  const uint64_t unit = std::max<uint64_t>(1, (budget + kSteps - 1) / kSteps);
  // Rounding each layer up can make a budget that fits look full: allow up
  // to one unit per layer of slack, then take the first plan whose true
  // bytes fit, tightening the slack.
  for (size_t slack = layers.size();; slack /= 2) {
    std::optional<Plan> plan = SolveAt(layers, unit, static_cast<size_t>(budget / unit) + slack);
    if (plan && plan->bytes <= budget) return *plan;
    if (slack == 0) break;
  }
  Plan all_smallest{.choice = std::vector<int>(layers.size())};
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& b = layers[i].bytes;
    all_smallest.choice[i] = static_cast<int>(std::min_element(b.begin(), b.end()) - b.begin());
    all_smallest.bytes += b[all_smallest.choice[i]];
    all_smallest.predicted_loss += layers[i].loss[all_smallest.choice[i]];
  }
  return all_smallest;
}

Plan UniformPlan(const std::vector<PlanLayer>& layers, int index) {
  Plan plan{.choice = std::vector<int>(layers.size(), index)};
  for (const PlanLayer& l : layers) {
    plan.bytes += l.bytes[index];
    plan.predicted_loss += l.loss[index];
  }
  return plan;
}

absl::StatusOr<Plan> SmallestPlanWithin(const std::vector<PlanLayer>& layers, uint64_t budget,
                                        double max_loss) {
  // Budgets past every layer's largest option change nothing.
  uint64_t lo = 0, widest = 0;
  for (const PlanLayer& l : layers) {
    lo += *std::min_element(l.bytes.begin(), l.bytes.end());
    widest += *std::max_element(l.bytes.begin(), l.bytes.end());
  }
  uint64_t hi = std::min(budget, widest);
  ASSIGN_OR_RETURN(Plan best, SolvePlan(layers, hi));
  if (best.predicted_loss > max_loss) return best;  // the budget binds first
  const uint64_t tolerance = (hi - std::min(lo, hi)) / 1000 + 1;
  while (hi > lo + tolerance) {
    const uint64_t mid = lo + (hi - lo) / 2;
    absl::StatusOr<Plan> p = SolvePlan(layers, mid);
    if (p.ok() && p->predicted_loss <= max_loss) {
      best = *p;
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return best;
}

absl::Status ApplyPlan(Model& model, const std::vector<PlanLayer>& layers,
                       const std::vector<Precision>& candidates, const Plan& plan,
                       const ApplyOptions& a) {
  quantize::WeightOnlyOptions o{.algorithm = a.algorithm, .fp16_scales = true};
  o.spill_directory = a.spill_directory;
  o.threads = a.threads;
  o.weight_progress = a.progress;
  absl::flat_hash_set<std::string> half;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Precision& p = candidates[plan.choice[i]];
    if (p.integer()) {
      o.rules.push_back({.match = layers[i].node, .bits = p.bits, .block_size = p.block});
    } else if (p.bits == 16) {
      half.insert(layers[i].weight);
    }
  }
  if (!o.rules.empty()) {
    o.rules.push_back({.match = "*", .bits = 0});
    RETURN_IF_ERROR(quantize::QuantizeWeightOnly(model, a.calibration, o).status());
  }
  if (!half.empty()) {
    RETURN_IF_ERROR(
        StoreWeightsInHalf(model, DataType::kFloat16, &half, a.spill_directory).status());
  }
  return absl::OkStatus();
}

nlohmann::json PlanToJson(const std::vector<PlanLayer>& layers,
                          const std::vector<Precision>& candidates, const Plan& plan) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    const PlanLayer& l = layers[i];
    nlohmann::json options = nlohmann::json::object();
    for (size_t c = 0; c < candidates.size(); ++c) {
      options[candidates[c].name] = {{"bytes", l.bytes[c]}, {"loss", l.loss[c]}};
    }
    out.push_back({{"node", l.node},
                   {"shape", {l.k, l.n}},
                   {"precision", candidates[plan.choice[i]].name},
                   {"bytes", l.bytes[plan.choice[i]]},
                   {"predicted_loss", l.loss[plan.choice[i]]},
                   {"options", options}});
  }
  return {{"layers", out}, {"bytes", plan.bytes}, {"predicted_loss", plan.predicted_loss}};
}

}  // namespace pare::plan
