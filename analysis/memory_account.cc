#include "analysis/memory_account.h"

#include <cmath>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/graph.h"
#include "core/graph_edit.h"
#include "core/status_macros.h"

namespace pare::analysis {
namespace {

// Tensors only ever gathered from (embedding tables): a generated token
// reads one row of each, not the table.
absl::flat_hash_set<std::string> GatherOnlyTables(const Graph& g) {
  absl::flat_hash_map<std::string, bool> only_gathered;
  for (const Node& n : g.nodes) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const bool table = i == 0 && (n.op_type == "Gather" || n.op_type == "GatherBlockQuantized");
      auto [it, inserted] = only_gathered.try_emplace(n.inputs[i], table);
      if (!inserted) it->second = it->second && table;
    }
  }
  // A block-quantized table feeds its Gather through DequantizeLinear.
  for (const Node& n : g.nodes) {
    if (n.op_type != "DequantizeLinear" || n.outputs.empty()) continue;
    auto out = only_gathered.find(n.outputs[0]);
    if (out == only_gathered.end() || !out->second) continue;
    for (const std::string& in : n.inputs) only_gathered[in] = true;
  }
  absl::flat_hash_set<std::string> tables;
  for (const auto& [name, only] : only_gathered) {
    if (only) tables.insert(name);
  }
  return tables;
}

void CountWeights(const Model& model, MemoryAccount& a) {
  const absl::flat_hash_set<std::string> tables = GatherOnlyTables(model.graph);
  auto count = [&](const Tensor& t, bool main_graph) {
    const uint64_t bytes = t.bytes().size();
    a.weights_by_dtype[DataTypeName(t.dtype())] += bytes;
    a.weight_bytes += bytes;
    if (!(main_graph && tables.contains(t.name()))) a.weight_bytes_per_token += bytes;
  };
  ForEachGraph(model.graph, [&](const Graph& g, int depth) {
    for (const Tensor& t : g.initializers) count(t, depth == 0);
    for (const Node& n : g.nodes) {
      if (n.op_type != "Constant") continue;
      for (const Attribute& attr : n.attributes) {
        if (attr.name == "value" && attr.type == AttributeType::kTensor && !attr.tensors.empty()) {
          Tensor t = attr.tensors[0];
          if (!n.outputs.empty()) t.set_name(n.outputs[0]);
          count(t, depth == 0);
        }
      }
    }
  });
}

}  // namespace

absl::StatusOr<double> KvElementBytes(const std::string& kv_type) {
  if (kv_type == "f32") return 4.0;
  if (kv_type == "f16" || kv_type == "bf16") return 2.0;
  if (kv_type == "q8_0") return 34.0 / 32.0;  // llama.cpp: 32 int8 codes and an fp16 scale
  return absl::InvalidArgumentError(
      absl::StrCat("unknown KV cache type '", kv_type, "' (f32, f16, bf16, q8_0)"));
}

absl::StatusOr<MemoryAccount> AccountMemory(const Model& model, const DeviceProfile& device,
                                            const AccountOptions& o) {
  if (o.context < 1 || o.batch < 1 || o.prefill < 1) {
    return absl::InvalidArgumentError("--context, --batch and --prefill must be at least 1");
  }
  MemoryAccount a{.device = device, .options = o};
  CountWeights(model, a);
  ASSIGN_OR_RETURN(const double element_bytes, KvElementBytes(o.kv_type));
  a.kv = DetectKvCache(model);
  if (o.layers > 0 || o.kv_heads > 0 || o.head_dim > 0) {
    if (o.layers <= 0 || o.kv_heads <= 0 || o.head_dim <= 0) {
      return absl::InvalidArgumentError("--layers, --kv-heads and --head-dim go together");
    }
    std::vector<std::string> scores = a.kv ? a.kv->score_values : std::vector<std::string>{};
    a.kv = KvCacheFromDimensions(o.layers, o.kv_heads, o.head_dim);
    a.kv->score_values = std::move(scores);
  }
  const uint64_t cached_tokens = static_cast<uint64_t>(o.context) * o.batch;
  if (a.kv) a.kv_bytes = a.kv->bytes_per_token(element_bytes) * cached_tokens;
  const ActivationShape shape{
      .batch = o.batch, .tokens = std::min(o.prefill, o.context), .context = o.context};
  ASSIGN_OR_RETURN(a.activations,
                   EstimatePeakActivations(model, shape,
                                           a.kv ? a.kv->score_values : std::vector<std::string>{}));
  a.overhead_bytes = device.overhead_bytes;
  a.total_bytes = a.weight_bytes + a.kv_bytes + a.activations.peak_bytes + a.overhead_bytes;
  a.budget_bytes = device.usable_bytes();
  a.fits = a.total_bytes <= a.budget_bytes;
  a.headroom_bytes = static_cast<int64_t>(a.budget_bytes) - static_cast<int64_t>(a.total_bytes);
  // Each generated token reads every weight once (but one row of each
  // embedding table) and the whole cache, for every sequence's cache.
  const double per_token = static_cast<double>(a.weight_bytes_per_token + a.kv_bytes);
  if (device.bandwidth_gbps > 0 && per_token > 0) {
    a.decode_tokens_per_s = device.bandwidth_gbps * 1e9 / per_token * o.batch;
  }
  return a;
}

int64_t WeightBudget(const MemoryAccount& a) {
  return static_cast<int64_t>(a.budget_bytes) - static_cast<int64_t>(a.kv_bytes) -
         static_cast<int64_t>(a.activations.peak_bytes) - static_cast<int64_t>(a.overhead_bytes);
}

nlohmann::json AccountToJson(const MemoryAccount& a) {
  nlohmann::json weights = nlohmann::json::object();
  for (const auto& [dtype, bytes] : a.weights_by_dtype) weights[dtype] = bytes;
  nlohmann::json kv = nullptr;
  if (a.kv) {
    kv = {{"layers", a.kv->layers},
          {"key_elements_per_token", a.kv->key_elements},
          {"value_elements_per_token", a.kv->value_elements},
          {"source", a.kv->source}};
  }
  return {{"device", DeviceToJson(a.device)},
          {"context", a.options.context},
          {"batch", a.options.batch},
          {"prefill", a.options.prefill},
          {"kv_type", a.options.kv_type},
          {"weights_by_dtype", weights},
          {"weight_bytes", a.weight_bytes},
          {"weight_bytes_per_token", a.weight_bytes_per_token},
          {"kv_cache", kv},
          {"kv_cache_bytes", a.kv_bytes},
          {"activation_bytes", a.activations.peak_bytes},
          {"activation_peak_node", a.activations.peak_node},
          {"activation_unknown_values", a.activations.unknown_values},
          {"overhead_bytes", a.overhead_bytes},
          {"total_bytes", a.total_bytes},
          {"budget_bytes", a.budget_bytes},
          {"fits", a.fits},
          {"headroom_bytes", a.headroom_bytes},
          {"weight_budget_bytes", WeightBudget(a)},
          {"decode_tokens_per_s", a.decode_tokens_per_s}};
}

std::string AccountToText(const MemoryAccount& a) {
  std::ostringstream out;
  const AccountOptions& o = a.options;
  out << absl::StrFormat("device: %s (%s)\n", a.device.name, a.device.description);
  out << absl::StrFormat("context %d tokens, batch %d, prefill %d tokens per step, KV cache %s\n\n",
                         o.context, o.batch, o.prefill, o.kv_type);
  auto line = [&](const std::string& what, uint64_t bytes, const std::string& note) {
    out << absl::StrFormat("  %-22s %12s  %s\n", what, FormatBytes(bytes), note);
  };
  for (const auto& [dtype, bytes] : a.weights_by_dtype) line("weights " + dtype, bytes, "");
  line("weights, total", a.weight_bytes, "");
  if (a.kv) {
    line("KV cache", a.kv_bytes,
         absl::StrFormat("%d layers x %d key + %d value elements per token; %s", a.kv->layers,
                         a.kv->key_elements / std::max<int64_t>(a.kv->layers, 1),
                         a.kv->value_elements / std::max<int64_t>(a.kv->layers, 1), a.kv->source));
  } else {
    line("KV cache", 0, "no attention found (not a decoder? give --layers/--kv-heads/--head-dim)");
  }
  std::string act = absl::StrCat("peak of a ", std::min(o.prefill, o.context), "-token step");
  if (!a.activations.peak_node.empty()) absl::StrAppend(&act, ", at ", a.activations.peak_node);
  if (a.activations.unknown_values > 0) {
    absl::StrAppend(&act, "; ", a.activations.unknown_values, " of ", a.activations.values,
                    " values of unknown size not counted");
  }
  line("activations", a.activations.peak_bytes, act);
  line("runtime overhead", a.overhead_bytes, "runtime, compute buffers, process");
  out << "  " << std::string(36, '-') << "\n";
  line("total", a.total_bytes, "");
  line("device grants", a.budget_bytes,
       absl::StrFormat("%.0f%% of %s", 100 * a.device.usable_fraction,
                       FormatBytes(a.device.ram_bytes)));
  out << "\n";
  if (a.fits) {
    out << absl::StrFormat("verdict: fits, with %s headroom\n", FormatBytes(a.headroom_bytes));
  } else {
    out << absl::StrFormat("verdict: does NOT fit, %s over; weights may take at most %s\n",
                           FormatBytes(-a.headroom_bytes),
                           FormatBytes(std::max<int64_t>(WeightBudget(a), 0)));
  }
  if (a.decode_tokens_per_s > 0) {
    out << absl::StrFormat(
        "decode ceiling: %.1f tokens/s (%.0f GB/s over %s read per token at full context)\n",
        a.decode_tokens_per_s, a.device.bandwidth_gbps,
        FormatBytes(a.weight_bytes_per_token + a.kv_bytes));
  }
  return out.str();
}

}  // namespace pare::analysis
