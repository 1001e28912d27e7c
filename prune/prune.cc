#include "prune/prune.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/graph_edit.h"
#include "core/stage.h"
#include "core/status_macros.h"
#include "core/tensor_spill.h"
#include "data/hessian.h"
#include "prune/channels.h"
#include "prune/compact_storage.h"
#include "prune/mask.h"
#include "prune/targets.h"
#include "runtime/thread_pool.h"

namespace pare::prune {

namespace {

absl::Status CheckOptions(const PruneOptions& o) {
  auto check = [](double s, const std::string& where) -> absl::Status {
    if (s >= 0 && s < 1) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(where, "sparsity ", s, " is outside [0, 1): it is the fraction removed"));
  };
  RETURN_IF_ERROR(check(o.sparsity, ""));
  for (const PruneRule& r : o.rules) {
    if (r.sparsity) RETURN_IF_ERROR(check(*r.sparsity, "rule '" + r.match + "': "));
  }
  if (o.global && o.method != PruneMethod::kMagnitude) {
    return absl::InvalidArgumentError("a global threshold is for magnitude pruning only");
  }
  if (o.global && o.pattern.structured()) {
    return absl::InvalidArgumentError("a global threshold makes unstructured sparsity, not N:M");
  }
  return absl::OkStatus();
}

// What calibration gathers for one activation: Wanda's per-input sum of
// squares, SparseGPT's Hessian.
struct InputStats {
  std::vector<double> squares;
  std::unique_ptr<data::HessianAccumulator> hessian;
};

absl::Status Calibrate(const Model& model, const data::CalibrationData& data, const PruneOptions& o,
                       absl::flat_hash_map<std::string, InputStats>& stats) {
  absl::flat_hash_set<std::string> watch;
  for (const auto& [name, s] : stats) watch.insert(name);
  auto observe = [&](const std::string& name, const float* x, int64_t rows, int64_t k) {
    InputStats& s = stats.at(name);
    if (static_cast<int64_t>(s.squares.size()) == k) {
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t i = 0; i < k; ++i) s.squares[i] += double{x[r * k + i]} * x[r * k + i];
      }
    }
    if (s.hessian && s.hessian->k() == k) s.hessian->Add(x, rows);
  };
  return data::RunSamplesAsRows(model, data, o.threads, watch, observe, o.progress);
}

// Prunes one weight (as [k, n]) by its target's method.
absl::Status PruneOne(const WeightTarget& t, std::vector<float>& w, std::optional<float> threshold,
                      const absl::flat_hash_map<std::string, InputStats>& stats,
                      const PruneOptions& o) {
  const int64_t count = t.k * t.n;
  switch (t.method) {
    case PruneMethod::kSparseGpt:
      return PruneSparseGpt(w.data(), t.k, t.n, *stats.at(t.input).hessian, t.sparsity, t.pattern,
                            o.damp, o.block_size);
    case PruneMethod::kWanda: {
      const std::vector<double>& sq = stats.at(t.input).squares;
      std::vector<float> scores(static_cast<size_t>(count));
      for (int64_t i = 0; i < t.k; ++i) {
        const double norm = std::sqrt(sq[i]);
        for (int64_t j = 0; j < t.n; ++j) {
          scores[i * t.n + j] = static_cast<float>(std::fabs(w[i * t.n + j]) * norm);
        }
      }
      PruneColumnsByScore(w.data(), scores.data(), t.k, t.n, t.sparsity, t.pattern);
      return absl::OkStatus();
    }
    default:
      if (threshold) {
        for (float& v : w) {
          if (std::fabs(v) < *threshold) v = 0;
        }
      } else if (t.pattern.structured()) {
        PruneColumnsByMagnitude(w.data(), t.k, t.n, 0, t.pattern);
      } else {
        PruneTensorByMagnitude(w.data(), count, t.sparsity);
      }
      return absl::OkStatus();
  }
}

PrunedLayer LayerEntry(const Graph& g, const WeightTarget& t, const std::vector<float>& w) {
  PrunedLayer l;
  const Node& node = g.nodes[t.node];
  l.node = NodeLabel(node);
  l.weight = t.weight;
  l.op_type = node.op_type;
  l.method = PruneMethodName(t.method);
  l.pattern = NmPatternName(t.pattern);
  l.target =
      t.pattern.structured() ? 1.0 - static_cast<double>(t.pattern.n) / t.pattern.m : t.sparsity;
  l.elements = static_cast<uint64_t>(t.k * t.n);
  l.zeros = static_cast<uint64_t>(std::llround(ZeroFraction(w.data(), t.k * t.n) * l.elements));
  l.achieved = l.elements == 0 ? 0 : static_cast<double>(l.zeros) / l.elements;
  l.bytes_dense = l.bytes_before = l.bytes_after = t.tensor->bytes().size();
  const uint64_t element_bytes = l.bytes_dense / std::max<uint64_t>(l.elements, 1);
  const uint64_t nonzeros = l.elements - l.zeros;
  l.bytes_sparse_initializer = nonzeros * (element_bytes + 8);
  // Compact: the kept values plus where they are, as a bitmask or, for N:M,
  // each kept value's position within its group.
  uint64_t position_bits = l.elements;
  if (t.pattern.structured()) {
    position_bits = nonzeros * static_cast<uint64_t>(std::ceil(std::log2(t.pattern.m)));
  }
  l.bytes_compact = nonzeros * element_bytes + (position_bits + 7) / 8;
  return l;
}

// Puts each pruned weight in place of the original under the same name,
// as an initializer or a compact decoder, instead of the old initializer or
// Constant node.
void ReplaceWeights(Graph& g, const std::vector<WeightTarget>& targets,
                    std::vector<Tensor>& tensors, std::vector<std::vector<Node>>& decoders) {
  absl::flat_hash_set<std::string> names;
  for (const WeightTarget& t : targets) names.insert(t.weight);
  std::erase_if(g.initializers, [&](const Tensor& t) { return names.contains(t.name()); });
  std::erase_if(g.nodes, [&](const Node& n) {
    return n.op_type == "Constant" && n.outputs.size() == 1 && names.contains(n.outputs[0]);
  });
  for (Tensor& t : tensors) g.initializers.push_back(std::move(t));
  for (std::vector<Node>& nodes : decoders) {
    for (Node& n : nodes) g.nodes.push_back(std::move(n));
  }
}

// The pruned weight as stored: dense, or compact when asked and smaller.
std::vector<Tensor> Stored(Tensor dense, bool compact, std::vector<Node>& decoder) {
  if (compact) {
    if (std::optional<CompactWeight> c = PackCompact(dense)) {
      decoder = std::move(c->nodes);
      return std::move(c->tensors);
    }
  }
  std::vector<Tensor> one;
  one.push_back(std::move(dense));
  return one;
}

// A calibration pass: the targets it prunes (indices), whose inputs'
// statistics fit the memory budget together.
struct Pass {
  std::vector<size_t> targets;
};

uint64_t StatisticsBytes(const WeightTarget& t) {
  const uint64_t k = static_cast<uint64_t>(t.k);
  if (t.depth > 0) return 0;
  if (t.method == PruneMethod::kSparseGpt) return k * k * sizeof(double);
  if (t.method == PruneMethod::kWanda) return k * sizeof(double);
  return 0;
}

// Targets sharing an input share its statistics, so they go in one pass;
// inputs are packed into passes in graph order until the budget is full
// (an input larger than the budget gets a pass of its own). Weights that
// need no data ride in the first pass.
std::vector<Pass> PlanPasses(const std::vector<WeightTarget>& targets, uint64_t budget) {
  std::vector<Pass> passes(1);
  absl::flat_hash_map<std::string, size_t> pass_of;  // input -> pass
  uint64_t used = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const WeightTarget& t = targets[i];
    const uint64_t bytes = StatisticsBytes(t);
    if (bytes == 0) {
      passes.front().targets.push_back(i);
      continue;
    }
    if (auto it = pass_of.find(t.input); it != pass_of.end()) {
      passes[it->second].targets.push_back(i);
      continue;
    }
    if (used > 0 && used + bytes > budget) {
      passes.emplace_back();
      used = 0;
    }
    used += bytes;
    pass_of[t.input] = passes.size() - 1;
    passes.back().targets.push_back(i);
  }
  return passes;
}

// The targets of `g` and of every subgraph below it (If/Loop/Scan bodies),
// each planned against its own graph's constants. Calibration sees the main
// graph only, so wanda and sparsegpt leave bodies to magnitude pruning.
absl::StatusOr<std::vector<WeightTarget>> PlanAllGraphs(
    Graph& g, int depth, const PruneOptions& o, std::vector<std::unique_ptr<Constants>>& constants,
    std::vector<std::string>& skipped) {
  constants.push_back(std::make_unique<Constants>(g));
  std::vector<std::string> reasons;
  ASSIGN_OR_RETURN(std::vector<WeightTarget> targets,
                   PlanTargets(g, *constants.back(), o, reasons, depth == 0));
  const std::string where = depth == 0 ? "" : " (in subgraph " + g.name + ")";
  for (const std::string& r : reasons) skipped.push_back(r + where);
  std::vector<WeightTarget> kept;
  for (WeightTarget& t : targets) {
    t.graph = &g;
    t.depth = depth;
    if (depth > 0 && NeedsData(t.method)) {
      skipped.push_back(absl::StrCat(NodeLabel(g.nodes[t.node]), where, ": ",
                                     PruneMethodName(t.method),
                                     " needs activations, which calibration observes in the "
                                     "main graph only; magnitude prunes subgraph weights"));
      continue;
    }
    kept.push_back(std::move(t));
  }
  for (Node& n : g.nodes) {
    for (Attribute& a : n.attributes) {
      for (Graph& sub : a.graphs) {
        ASSIGN_OR_RETURN(std::vector<WeightTarget> more,
                         PlanAllGraphs(sub, depth + 1, o, constants, skipped));
        for (WeightTarget& t : more) kept.push_back(std::move(t));
      }
    }
  }
  return kept;
}

// A global magnitude threshold: one streaming pass over every weight.
absl::StatusOr<std::optional<float>> GlobalThreshold(const std::vector<WeightTarget>& targets,
                                                     const PruneOptions& o) {
  if (!o.global) return std::nullopt;
  MagnitudeHistogram histogram;
  for (const WeightTarget& t : targets) {
    ASSIGN_OR_RETURN(std::vector<float> w, t.tensor->ToFloat32());
    RETURN_IF_ERROR(CheckFiniteWeight(t.tensor->name(), w, kNonFiniteWeightAdvice));
    histogram.Add(w.data(), static_cast<int64_t>(w.size()));
    t.tensor->ReleasePages();
  }
  return histogram.Threshold(o.sparsity);
}

// The statistics one pass calibrates, keyed by the value a MatMul reads.
absl::flat_hash_map<std::string, InputStats> StatsForPass(
    const Pass& pass, const std::vector<WeightTarget>& targets) {
  absl::flat_hash_map<std::string, InputStats> stats;
  for (size_t i : pass.targets) {
    const WeightTarget& t = targets[i];
    if (t.depth > 0) continue;
    if (t.method == PruneMethod::kWanda) stats[t.input].squares.assign(t.k, 0.0);
    if (t.method == PruneMethod::kSparseGpt && !stats[t.input].hessian) {
      stats[t.input].hessian = std::make_unique<data::HessianAccumulator>(t.k);
    }
  }
  return stats;
}

// The computed weights, per target: the tensors that store it (in memory,
// or in the spill), any compact decoder nodes, and its report entry.
struct PrunedWeights {
  std::vector<std::vector<Tensor>> stored;
  std::vector<std::vector<Node>> decoders;
  std::vector<std::vector<std::string>> stored_names;
  std::vector<PrunedLayer> layers;
  std::unique_ptr<TensorSpill> spill;
};

absl::Status PruneTarget(size_t i, const WeightTarget& t, std::optional<float> threshold,
                         const absl::flat_hash_map<std::string, InputStats>& stats,
                         const PruneOptions& o, PrunedWeights& out) {
  ASSIGN_OR_RETURN(std::vector<float> w, LoadKn(t));
  RETURN_IF_ERROR(PruneOne(t, w, threshold, stats, o));
  out.layers[i] = LayerEntry(*t.graph, t, w);
  // Compact decoders go in the main graph only: a body keeps plain weights.
  out.stored[i] = Stored(StoreKn(t, w), o.compact_storage && t.depth == 0, out.decoders[i]);
  for (const Tensor& p : out.stored[i]) out.stored_names[i].push_back(p.name());
  t.tensor->ReleasePages();
  out.layers[i].bytes_after = 0;
  for (const Tensor& p : out.stored[i]) out.layers[i].bytes_after += p.bytes().size();
  if (out.spill) {
    for (const Tensor& p : out.stored[i]) RETURN_IF_ERROR(out.spill->Add(p));
    out.stored[i].clear();
  }
  return absl::OkStatus();
}

// Compute: calibration statistics per MatMul input, in passes that each fit
// the memory budget (SparseGPT's Hessians are K x K doubles): each pass runs
// the samples once and prunes its weights before the next allocates.
absl::StatusOr<PrunedWeights> PruneInPasses(const Model& model, const data::CalibrationData* data,
                                            const std::vector<WeightTarget>& targets,
                                            const std::vector<Pass>& passes,
                                            std::optional<float> threshold, const PruneOptions& o,
                                            PruneReport& report) {
  PrunedWeights out;
  if (!o.spill_directory.empty()) {
    ASSIGN_OR_RETURN(out.spill, TensorSpill::Create(o.spill_directory));
  }
  out.stored.resize(targets.size());
  out.decoders.resize(targets.size());
  out.stored_names.resize(targets.size());
  out.layers.resize(targets.size());
  std::vector<absl::Status> errors(targets.size());
  std::atomic<int64_t> done{0};
  runtime::ThreadPool pool(o.threads);
  for (const Pass& pass : passes) {
    absl::flat_hash_map<std::string, InputStats> stats = StatsForPass(pass, targets);
    if (!stats.empty()) {
      const auto start = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(Calibrate(model, *data, o, stats));
      report.calibration_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    pool.ParallelFor(static_cast<int64_t>(pass.targets.size()), 1, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) {
        const size_t i = pass.targets[j];
        const WeightTarget& t = targets[i];
        absl::Status s = PruneTarget(i, t, threshold, stats, o, out);
        if (!s.ok()) {
          errors[i] = absl::Status(
              s.code(), absl::StrCat(NodeLabel(t.graph->nodes[t.node]), ": ", s.message()));
          continue;
        }
        if (o.weight_progress) o.weight_progress(++done, static_cast<int64_t>(targets.size()));
      }
    });
    for (const absl::Status& e : errors) RETURN_IF_ERROR(e);
  }
  return out;
}

// Commit: each graph (the main one or a subgraph) gets back its own weights.
absl::Status CommitPruned(Model& model, const std::vector<WeightTarget>& targets, PrunedWeights& w,
                          PruneReport& report) {
  std::vector<Tensor> tensors;
  if (w.spill) {
    ASSIGN_OR_RETURN(tensors, w.spill->Finish());
  }
  for (std::vector<Tensor>& ts : w.stored) {
    for (Tensor& t : ts) tensors.push_back(std::move(t));
  }
  report.layers = std::move(w.layers);
  for (const PrunedLayer& l : report.layers) {
    report.bytes_before += l.bytes_before;
    report.bytes_after += l.bytes_after;
  }
  absl::flat_hash_map<std::string, Graph*> home;
  for (size_t i = 0; i < targets.size(); ++i) {
    for (const std::string& name : w.stored_names[i]) home[name] = targets[i].graph;
  }
  absl::flat_hash_map<Graph*, std::vector<Tensor>> by_graph;
  for (Tensor& t : tensors) by_graph[home.at(t.name())].push_back(std::move(t));
  for (auto& [graph, graph_tensors] : by_graph) {
    std::vector<WeightTarget> own;
    std::vector<std::vector<Node>> own_decoders;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (targets[i].graph != graph) continue;
      own.push_back(targets[i]);
      own_decoders.push_back(std::move(w.decoders[i]));
    }
    ReplaceWeights(*graph, own, graph_tensors, own_decoders);
  }
  return FinishGraphRewrite(model);
}

// Plan (targets in every graph, calibration passes, a global threshold),
// compute (prune each weight), then commit.
absl::StatusOr<PruneReport> PruneWeights(Model& model, const data::CalibrationData* data,
                                         const PruneOptions& o) {
  PruneReport report;
  report.method = PruneMethodName(o.method);
  report.pattern = NmPatternName(o.pattern);
  report.target =
      o.pattern.structured() ? 1.0 - static_cast<double>(o.pattern.n) / o.pattern.m : o.sparsity;
  if (o.compact_storage && OpsetVersion(model, "").value_or(0) < 11) {
    return absl::InvalidArgumentError(
        "compact storage decodes with BitShift and CumSum, which need opset 11 or later");
  }
  std::vector<std::unique_ptr<Constants>> constants;
  ASSIGN_OR_RETURN(std::vector<WeightTarget> targets,
                   PlanAllGraphs(model.graph, 0, o, constants, report.skipped));
  if (targets.empty()) {
    return absl::InvalidArgumentError(
        "nothing to prune: no MatMul, Gemm or Conv with a constant float weight is left after "
        "--exclude and the recipe");
  }
  std::vector<Pass> passes = PlanPasses(targets, o.calibration_memory_bytes);
  const bool needs_data = std::any_of(targets.begin(), targets.end(), [](const WeightTarget& t) {
    return t.depth == 0 && NeedsData(t.method);
  });
  if (needs_data) {
    if (data == nullptr || data->count <= 0) {
      return absl::InvalidArgumentError(
          "wanda and sparsegpt need calibration data (--calib or --calib-tokens)");
    }
    report.calibration = data->description;
    report.samples = data->count;
    report.calibration_passes = static_cast<int64_t>(passes.size());
  }
  ASSIGN_OR_RETURN(const std::optional<float> threshold, GlobalThreshold(targets, o));
  ASSIGN_OR_RETURN(PrunedWeights pruned,
                   PruneInPasses(model, data, targets, passes, threshold, o, report));
  RETURN_IF_ERROR(CommitPruned(model, targets, pruned, report));
  return report;
}

}  // namespace

static absl::StatusOr<PruneReport> PruneOn(Model& model, const data::CalibrationData* data,
                                           const PruneOptions& o) {
  RETURN_IF_ERROR(CheckOptions(o));
  if (o.method == PruneMethod::kChannels) return PruneChannels(model, data, o);
  return PruneWeights(model, data, o);
}

absl::StatusOr<PruneReport> Prune(Model& model, const data::CalibrationData* data,
                                  const PruneOptions& o) {
  return CommitOnSuccess(model, [&](Model& work) { return PruneOn(work, data, o); });
}

absl::StatusOr<double> WeightSparsity(const Model& model) {
  const Constants constants(model.graph);
  PruneOptions all;
  all.include_head = true;
  std::vector<std::string> skipped;
  ASSIGN_OR_RETURN(std::vector<WeightTarget> targets,
                   PlanTargets(model.graph, constants, all, skipped));
  uint64_t elements = 0, zeros = 0;
  for (const WeightTarget& t : targets) {
    ASSIGN_OR_RETURN(std::vector<float> w, t.tensor->ToFloat32());
    elements += w.size();
    for (float v : w) zeros += v == 0;
  }
  return elements == 0 ? 0.0 : static_cast<double>(zeros) / elements;
}

}  // namespace pare::prune
