#include "quantize/weight_only.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/graph.h"
#include "core/quant_format.h"
#include "core/stage.h"
#include "core/status_macros.h"
#include "core/tensor_spill.h"
#include "data/hessian.h"
#include "quantize/awq.h"
#include "quantize/blockwise.h"
#include "quantize/passes.h"
#include "quantize/rewrite_util.h"
#include "quantize/static_plan.h"
#include "quantize/weight_packing.h"
#include "runtime/session.h"
#include "runtime/thread_pool.h"

namespace pare::quantize {

const char* WeightAlgorithmName(WeightAlgorithm a) {
  switch (a) {
    case WeightAlgorithm::kRtn:
      return "rtn";
    case WeightAlgorithm::kHqq:
      return "hqq";
    case WeightAlgorithm::kGptq:
      return "gptq";
    case WeightAlgorithm::kAwq:
      return "awq";
  }
  return "?";
}

absl::StatusOr<WeightAlgorithm> ParseWeightAlgorithm(const std::string& name) {
  for (WeightAlgorithm a : {WeightAlgorithm::kRtn, WeightAlgorithm::kHqq, WeightAlgorithm::kGptq,
                            WeightAlgorithm::kAwq}) {
    if (name == WeightAlgorithmName(a)) return a;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown weight algorithm '", name, "' (rtn, hqq, gptq or awq)"));
}

namespace {

struct WeightTarget {
  size_t node;
  std::string input, weight;
  const Tensor* tensor;
  int64_t k, n;
  BlockSpec spec;
  WeightAlgorithm algorithm;
  // A Gather's table [V, D], quantized as its transpose (k = D, n = V) into
  // the DequantizeLinear form with blocks along D.
  bool embedding = false;
};

bool NeedsData(WeightAlgorithm a) {
  return a == WeightAlgorithm::kGptq || a == WeightAlgorithm::kAwq;
}

absl::Status CheckBits(int bits, WeightOnlyOptions::Format format, const std::string& where) {
  const QuantFormat* f = FindQuantFormat(
      format == WeightOnlyOptions::Format::kMatMulNBits ? "matmulnbits" : "dequantizelinear");
  if (f->Takes(bits)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      where, ": ", bits, " bits is not available in this format (MatMulNBits: 2, 4, 8; ",
      "DequantizeLinear: 4, 8)"));
}

// A Gather of a constant 2-D float table along axis 0, for --embed-bits.
absl::StatusOr<std::optional<WeightTarget>> EmbeddingTarget(const Graph& g, size_t i,
                                                            const Constants& constants,
                                                            const WeightOnlyOptions& o,
                                                            std::vector<std::string>& skipped) {
  const Node& n = g.nodes[i];
  const Tensor* table = n.inputs.empty() ? nullptr : constants.FindFloating(n.inputs[0]);
  const Attribute* axis = n.FindAttribute("axis");
  if (table == nullptr || table->dims().size() != 2 || (axis != nullptr && axis->i != 0)) {
    return std::nullopt;
  }
  const std::string label = NodeLabel(n);
  if (Excluded(n, o.exclude) || *o.embed_bits == 0) {
    skipped.push_back(label + ": embedding kept in float");
    return std::nullopt;
  }
  RETURN_IF_ERROR(CheckBits(*o.embed_bits, WeightOnlyOptions::Format::kDequantizeLinear, label));
  WeightTarget t{i,
                 n.inputs[1],
                 n.inputs[0],
                 table,
                 table->dims()[1],
                 table->dims()[0],
                 {*o.embed_bits, o.block_size, o.symmetric, o.fp16_scales},
                 WeightAlgorithm::kRtn,
                 /*embedding=*/true};
  return t;
}

// Which MatMuls to quantize, with the bits, block and algorithm of each.
absl::StatusOr<std::vector<WeightTarget>> Plan(const Graph& g, const Constants& constants,
                                               const WeightOnlyOptions& o,
                                               std::vector<std::string>& skipped) {
  absl::flat_hash_set<std::string> outputs;
  for (const ValueInfo& v : g.outputs) outputs.insert(v.name);
  std::vector<WeightTarget> targets;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (o.embed_bits && n.op_type == "Gather" && n.domain.empty()) {
      ASSIGN_OR_RETURN(std::optional<WeightTarget> t, EmbeddingTarget(g, i, constants, o, skipped));
      if (t) targets.push_back(std::move(*t));
      continue;
    }
    if (n.op_type != "MatMul" || !n.domain.empty() || n.inputs.size() != 2) continue;
    const std::string label = NodeLabel(n);
    const Tensor* w = constants.FindFloating(n.inputs[1]);
    if (w == nullptr || w->dims().size() != 2) {
      if (constants.Contains(n.inputs[1])) {
        skipped.push_back(label + ": weight is not a 2-D float tensor");
      }
      continue;
    }
    if (Excluded(n, o.exclude)) {
      skipped.push_back(label + ": excluded");
      continue;
    }
    WeightTarget t{i, n.inputs[0], n.inputs[1], w, w->dims()[0], w->dims()[1], {}, o.algorithm};
    t.spec = {o.bits, o.block_size, o.symmetric && o.algorithm != WeightAlgorithm::kHqq,
              o.fp16_scales};
    if (o.head_bits && outputs.contains(n.outputs[0])) t.spec.bits = *o.head_bits;
    for (const LayerRule& r : o.rules) {
      if (!Excluded(n, {r.match})) continue;
      if (r.bits) t.spec.bits = *r.bits;
      if (r.block_size) t.spec.block = *r.block_size;
      if (r.algorithm) t.algorithm = *r.algorithm;
      break;
    }
    if (t.algorithm == WeightAlgorithm::kHqq) t.spec.symmetric = false;
    if (t.spec.bits == 0) {
      skipped.push_back(label + ": kept in float by the recipe");
      continue;
    }
    RETURN_IF_ERROR(CheckBits(t.spec.bits, o.format, label));
    if (t.spec.block < 16 || t.spec.block > 256 || (t.spec.block & (t.spec.block - 1)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": block size ", t.spec.block, " (a power of 2 in 16..256)"));
    }
    targets.push_back(std::move(t));
  }
  return targets;
}

// What calibration gathers for one MatMul input.
struct InputStats {
  std::unique_ptr<data::HessianAccumulator> hessian;  // GPTQ
  std::unique_ptr<ActivationSample> sample;           // AWQ
};

absl::Status Calibrate(const Model& model, const CalibrationData& data, const WeightOnlyOptions& o,
                       absl::flat_hash_map<std::string, InputStats>& stats) {
  absl::flat_hash_set<std::string> watch;
  for (const auto& [name, s] : stats) watch.insert(name);
  auto observe = [&](const std::string& name, const float* x, int64_t rows, int64_t k) {
    InputStats& s = stats.at(name);
    if (s.hessian && s.hessian->k() == k) s.hessian->Add(x, rows);
    if (s.sample && s.sample->k() == k) s.sample->Add(x, rows);
  };
  return data::RunSamplesAsRows(model, data, o.threads, watch, observe, o.progress);
}

// AWQ's input scaling for the MatMuls that read `input`: folded into a
// constant Mul that produces it (an RMSNorm or LayerNorm weight) when only
// they read it, else applied by a new Mul node. Returns the value the
// MatMuls should read.
std::string ApplyInputScaling(Model& model, const Constants& constants, const std::string& input,
                              const std::vector<float>& s, std::vector<Node>& new_nodes,
                              std::vector<Tensor>& new_tensors) {
  Graph& g = model.graph;
  const int64_t k = static_cast<int64_t>(s.size());
  int readers = 0, producer = -1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const std::string& in : g.nodes[i].inputs) readers += in == input;
    for (const std::string& out : g.nodes[i].outputs) {
      if (out == input) producer = static_cast<int>(i);
    }
  }
  bool graph_output = false;
  for (const ValueInfo& v : g.outputs) graph_output |= v.name == input;
  int awq_readers = 0;
  for (const Node& n : g.nodes) {
    awq_readers += n.op_type == "MatMul" && !n.inputs.empty() && n.inputs[0] == input;
  }
  if (producer >= 0 && !graph_output && readers == awq_readers) {
    Node& p = g.nodes[producer];
    for (std::string& in : p.inputs) {
      const Tensor* gamma = p.op_type == "Mul" ? constants.FindFloat(in) : nullptr;
      if (gamma == nullptr || static_cast<int64_t>(gamma->element_count()) != k ||
          gamma->dims().empty() || gamma->dims().back() != k) {
        continue;
      }
      std::vector<float> v = gamma->ToFloat32().value();
      for (int64_t c = 0; c < k; ++c) v[c] /= s[c];
      const std::string name = input + "_awq_folded_scale";
      new_tensors.push_back(Tensor::FromVector<float>(name, gamma->dims(), v));
      in = name;
      return input;
    }
  }
  std::vector<float> inverse(s.size());
  for (int64_t c = 0; c < k; ++c) inverse[c] = 1.0f / s[c];
  const std::string scaled = input + "_awq_scaled";
  new_tensors.push_back(Tensor::FromVector<float>(scaled + "_factor", {k}, inverse));
  Node mul;
  mul.name = scaled;
  mul.op_type = "Mul";
  mul.inputs = {input, scaled + "_factor"};
  mul.outputs = {scaled};
  new_nodes.push_back(std::move(mul));
  return scaled;
}

// One weight quantized by its target's algorithm, with the SQNR of the
// result against what was quantized.
absl::StatusOr<std::pair<BlockQuantized, double>> QuantizeOne(
    const WeightTarget& t, const std::vector<float>& awq_scaled,
    const absl::flat_hash_map<std::string, InputStats>& stats, const WeightOnlyOptions& o) {
  std::vector<float> original;
  if (awq_scaled.empty()) {
    ASSIGN_OR_RETURN(original, t.tensor->ToFloat32());
  }
  if (t.embedding) {  // [V, D] -> [D, V]: blocks run along D
    std::vector<float> transposed(original.size());
    for (int64_t v = 0; v < t.n; ++v) {
      for (int64_t d = 0; d < t.k; ++d) transposed[d * t.n + v] = original[v * t.k + d];
    }
    original = std::move(transposed);
  }
  const std::vector<float>& w = awq_scaled.empty() ? original : awq_scaled;
  RETURN_IF_ERROR(CheckFiniteWeight(
      t.weight, w,
      "a 4-bit code cannot represent it; fix the weight or leave its node out with --exclude"));
  switch (t.algorithm) {
    case WeightAlgorithm::kHqq: {
      BlockQuantized q = QuantizeHqq(w.data(), t.k, t.n, t.spec, o.hqq);
      const double sqnr = ReconstructionSqnrDb(w.data(), q);
      return std::make_pair(std::move(q), sqnr);
    }
    case WeightAlgorithm::kGptq: {
      ASSIGN_OR_RETURN(BlockQuantized q, QuantizeGptq(w.data(), t.k, t.n, t.spec,
                                                      *stats.at(t.input).hessian, o.gptq));
      const double sqnr = ReconstructionSqnrDb(w.data(), q);
      return std::make_pair(std::move(q), sqnr);
    }
    default: {
      BlockQuantized q = QuantizeRtn(w.data(), t.k, t.n, t.spec);
      const double sqnr = ReconstructionSqnrDb(w.data(), q);
      return std::make_pair(std::move(q), sqnr);
    }
  }
}

QuantizedTensor Entry(const WeightTarget& t, double sqnr, const PackedWeight& packed) {
  QuantizedTensor entry;
  entry.name = t.weight;
  entry.kind = "weight";
  entry.algorithm = WeightAlgorithmName(t.algorithm);
  entry.bits = t.spec.bits;
  entry.block_size = t.spec.block;
  entry.sqnr_db = sqnr;
  entry.bytes_before = t.tensor->bytes().size();
  entry.elements = static_cast<uint64_t>(t.k * t.n);
  for (const Tensor& p : packed.tensors) entry.bytes_after += p.bytes().size();
  return entry;
}

// Plan: the stats each calibrated target needs, keyed by the value its
// MatMul reads (targets that share an input share one accumulator).
absl::flat_hash_map<std::string, InputStats> StatsToGather(const std::vector<WeightTarget>& targets,
                                                           const WeightOnlyOptions& o) {
  absl::flat_hash_map<std::string, InputStats> stats;
  for (const WeightTarget& t : targets) {
    if (!NeedsData(t.algorithm)) continue;
    InputStats& s = stats[t.input];
    if (t.algorithm == WeightAlgorithm::kGptq && !s.hessian) {
      s.hessian = std::make_unique<data::HessianAccumulator>(t.k);
    }
    if (t.algorithm == WeightAlgorithm::kAwq && !s.sample) {
      s.sample = std::make_unique<ActivationSample>(t.k, o.awq_sample_rows);
    }
  }
  return stats;
}

absl::Status GatherStats(const Model& model, const CalibrationData* data,
                         const WeightOnlyOptions& o,
                         absl::flat_hash_map<std::string, InputStats>& stats,
                         QuantizeReport& report) {
  if (stats.empty()) return absl::OkStatus();
  if (data == nullptr || data->count <= 0) {
    return absl::InvalidArgumentError(
        "gptq and awq need calibration data (--calib or --calib-tokens)");
  }
  report.calibration = data->description;
  report.samples = data->count;
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(Calibrate(model, *data, o, stats));
  report.calibration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return absl::OkStatus();
}

// What the commit adds to the graph besides the packed weights.
struct GraphAdditions {
  std::vector<Node> nodes;
  std::vector<Tensor> tensors;
  std::map<std::string, std::string> awq_input;  // original input -> scaled input
};

// AWQ: one scale search per input, shared by every MatMul reading it.
// Returns each target's scaled weight (empty where AWQ did not scale it).
absl::StatusOr<std::vector<std::vector<float>>> SearchAwq(
    Model& model, const Constants& constants, const std::vector<WeightTarget>& targets,
    const absl::flat_hash_map<std::string, InputStats>& stats, const WeightOnlyOptions& o,
    GraphAdditions& add) {
  std::vector<std::vector<float>> scaled_weights(targets.size());
  for (auto& [input, s] : stats) {
    if (!s.sample) continue;
    std::vector<size_t> group;
    std::vector<AwqWeight> weights;
    std::vector<std::vector<float>> values;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (targets[i].input != input || targets[i].algorithm != WeightAlgorithm::kAwq) continue;
      group.push_back(i);
      ASSIGN_OR_RETURN(std::vector<float> v, targets[i].tensor->ToFloat32());
      values.push_back(std::move(v));
    }
    for (size_t j = 0; j < group.size(); ++j) {
      weights.push_back({values[j].data(), targets[group[j]].n});
    }
    const AwqResult r = SearchAwqScales(*s.sample, weights, targets[group[0]].spec, o.awq_grid);
    if (r.alpha == 0) continue;  // plain RTN was best
    for (size_t j = 0; j < group.size(); ++j) {
      const int64_t k = targets[group[j]].k, n = targets[group[j]].n;
      for (int64_t c = 0; c < k; ++c) {
        for (int64_t col = 0; col < n; ++col) values[j][c * n + col] *= r.scales[c];
      }
      scaled_weights[group[j]] = std::move(values[j]);
    }
    add.awq_input[input] =
        ApplyInputScaling(model, constants, input, r.scales, add.nodes, add.tensors);
  }
  return scaled_weights;
}

// The computed weights: packed tensors in memory, or in a spill whose
// files hold them until the commit.
struct PackedWeights {
  std::vector<PackedWeight> packed;
  std::vector<QuantizedTensor> entries;
  std::unique_ptr<TensorSpill> spill;
  std::vector<std::vector<std::string>> spilled_names;
};

absl::StatusOr<PackedWeight> PackOne(const WeightTarget& t, const BlockQuantized& q, bool nbits) {
  const DataType float_type = t.tensor->dtype();
  if (nbits && !t.embedding) return PackMatMulNBits(t.weight, q, float_type);
  return PackBlockedDequantize(t.weight, q, float_type, t.embedding);
}

// Compute: quantize and pack every weight, in parallel; with a spill, each
// packed tensor goes to disk at once and each source weight's pages are
// released, so memory holds about one weight per thread.
absl::StatusOr<PackedWeights> QuantizeAndPack(
    const Graph& g, const std::vector<WeightTarget>& targets,
    const std::vector<std::vector<float>>& scaled_weights,
    const absl::flat_hash_map<std::string, InputStats>& stats, const WeightOnlyOptions& o) {
  const bool nbits = o.format == WeightOnlyOptions::Format::kMatMulNBits;
  PackedWeights out;
  if (!o.spill_directory.empty()) {
    ASSIGN_OR_RETURN(out.spill, TensorSpill::Create(o.spill_directory));
  }
  out.packed.resize(targets.size());
  out.entries.resize(targets.size());
  out.spilled_names.resize(targets.size());
  std::vector<absl::Status> errors(targets.size());
  std::atomic<int64_t> done{0};
  auto one = [&](size_t i) -> absl::Status {
    const WeightTarget& t = targets[i];
    auto result = QuantizeOne(t, scaled_weights[i], stats, o);
    t.tensor->ReleasePages();
    if (!result.ok()) {
      return absl::Status(result.status().code(), absl::StrCat(NodeLabel(g.nodes[t.node]), ": ",
                                                               result.status().message()));
    }
    ASSIGN_OR_RETURN(out.packed[i], PackOne(t, result->first, nbits));
    out.entries[i] = Entry(t, result->second, out.packed[i]);
    if (out.spill) {
      for (const Tensor& p : out.packed[i].tensors) {
        RETURN_IF_ERROR(out.spill->Add(p));
        out.spilled_names[i].push_back(p.name());
      }
      out.packed[i].tensors.clear();
    }
    if (o.weight_progress) o.weight_progress(++done, static_cast<int64_t>(targets.size()));
    return absl::OkStatus();
  };
  runtime::ThreadPool pool(o.threads);
  pool.ParallelFor(static_cast<int64_t>(targets.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) errors[i] = one(static_cast<size_t>(i));
  });
  for (const absl::Status& e : errors) RETURN_IF_ERROR(e);
  return out;
}

// The spill holds tensors in the order the threads finished; the model
// lists them in target order, so the artifact's layout (and its alignment
// padding) is the same on every run.
absl::Status TakeSpilled(PackedWeights& w, std::vector<Tensor>& into) {
  if (!w.spill) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<Tensor> spilled, w.spill->Finish());
  absl::flat_hash_map<std::string, size_t> rank;
  for (const auto& names : w.spilled_names) {
    for (const std::string& n : names) rank.emplace(n, rank.size());
  }
  std::stable_sort(spilled.begin(), spilled.end(), [&](const Tensor& a, const Tensor& b) {
    return rank[a.name()] < rank[b.name()];
  });
  for (Tensor& t : spilled) into.push_back(std::move(t));
  return absl::OkStatus();
}

// Commit: each target node reads its packed weight (MatMulNBits) or a
// DequantizeLinear of it; the new nodes and tensors join the graph.
absl::Status Commit(Model& model, const std::vector<WeightTarget>& targets, PackedWeights& w,
                    GraphAdditions& add, bool nbits, QuantizeReport& report) {
  for (size_t i = 0; i < targets.size(); ++i) {
    const WeightTarget& t = targets[i];
    Node& node = model.graph.nodes[t.node];
    if (auto it = add.awq_input.find(t.input); it != add.awq_input.end()) {
      node.inputs[0] = it->second;
    }
    report.tensors.push_back(std::move(w.entries[i]));
    report.quantized_nodes.push_back(NodeLabel(node));
    for (Tensor& p : w.packed[i].tensors) add.tensors.push_back(std::move(p));
    if (nbits && !t.embedding) {
      node.op_type = "MatMulNBits";
      node.domain = "com.microsoft";
      node.inputs = {node.inputs[0]};
      node.inputs.insert(node.inputs.end(), w.packed[i].inputs.begin(), w.packed[i].inputs.end());
      node.attributes = w.packed[i].attributes;
    } else {
      add.nodes.push_back(std::move(w.packed[i].dequantize));
      node.inputs[t.embedding ? 0 : 1] = add.nodes.back().outputs[0];
    }
  }
  RETURN_IF_ERROR(TakeSpilled(w, add.tensors));
  for (Node& n : add.nodes) model.graph.nodes.push_back(std::move(n));
  for (Tensor& t : add.tensors) model.graph.initializers.push_back(std::move(t));
  const bool any_embedding = std::any_of(targets.begin(), targets.end(),
                                         [](const WeightTarget& t) { return t.embedding; });
  if (!nbits || any_embedding) {
    RETURN_IF_ERROR(ApplyRewrites(model, BlockedDequantizePreparation()).status());
  }
  RETURN_IF_ERROR(FinishRewrite(model, nbits));
  for (const QuantizedTensor& q : report.tensors) {
    report.weight_bytes_before += q.bytes_before;
    report.weight_bytes_after += q.bytes_after;
  }
  return absl::OkStatus();
}

}  // namespace

// Plan (targets, stats), compute (calibrate, AWQ, quantize and pack), then
// commit; CommitOnSuccess gives this a copy, so an error leaves the
// caller's model as it was.
static absl::StatusOr<QuantizeReport> QuantizeWeightOnlyOn(Model& model,
                                                           const CalibrationData* data,
                                                           const WeightOnlyOptions& o) {
  std::string which;
  if (IsQuantizedGraph(model.graph, &which)) {
    return absl::FailedPreconditionError(absl::StrCat("the model is already quantized (it has a ",
                                                      which, "); quantize its float original"));
  }
  QuantizeReport report;
  const bool nbits = o.format == WeightOnlyOptions::Format::kMatMulNBits;
  report.format = nbits ? "matmulnbits" : "dequantizelinear";
  report.method = WeightAlgorithmName(o.algorithm);
  const Constants constants(model.graph);
  ASSIGN_OR_RETURN(std::vector<WeightTarget> targets,
                   Plan(model.graph, constants, o, report.skipped));
  if (targets.empty()) return absl::InvalidArgumentError("no MatMul with a constant 2-D weight");
  absl::flat_hash_map<std::string, InputStats> stats = StatsToGather(targets, o);
  RETURN_IF_ERROR(GatherStats(model, data, o, stats, report));

  GraphAdditions add;
  ASSIGN_OR_RETURN(std::vector<std::vector<float>> scaled,
                   SearchAwq(model, constants, targets, stats, o, add));
  ASSIGN_OR_RETURN(PackedWeights packed, QuantizeAndPack(model.graph, targets, scaled, stats, o));
  RETURN_IF_ERROR(Commit(model, targets, packed, add, nbits, report));
  return report;
}

absl::StatusOr<QuantizeReport> QuantizeWeightOnly(Model& model, const CalibrationData* data,
                                                  const WeightOnlyOptions& o) {
  return CommitOnSuccess(model, [&](Model& work) { return QuantizeWeightOnlyOn(work, data, o); });
}

}  // namespace pare::quantize
