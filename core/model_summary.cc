#include "core/model_summary.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/graph.h"

namespace pare {
namespace {

void AddWeight(const Tensor& t, const std::string& kind, ModelSummary& s,
               std::vector<WeightEntry>& weights) {
  WeightEntry w{t.name(), kind, t.dtype(), t.dims(), t.element_count(), t.bytes().size(), ""};
  if (t.external_source()) w.external_location = t.external_source()->location;
  s.parameter_count += w.elements;
  s.parameter_bytes += w.bytes;
  DtypeTotals& totals = s.by_dtype[std::string(DataTypeName(t.dtype()))];
  ++totals.tensors;
  totals.elements += w.elements;
  totals.bytes += w.bytes;
  weights.push_back(std::move(w));
}

void SummarizeGraph(const Graph& graph, ModelSummary& s, std::vector<WeightEntry>& weights) {
  for (const Tensor& t : graph.initializers) AddWeight(t, "initializer", s, weights);
  s.sparse_initializer_count += graph.opaque_sparse_initializers.size();
  for (const Node& node : graph.nodes) {
    ++s.node_count;
    const bool default_domain = node.domain.empty() || node.domain == "ai.onnx";
    ++s.op_histogram[default_domain ? node.op_type : node.domain + "." + node.op_type];
    if (default_domain && node.op_type == "Constant") {
      for (const Attribute& attr : node.attributes) {
        for (const Tensor& t : attr.tensors) {
          // A Constant's tensor may be unnamed; its output names the value.
          Tensor named = t;
          if (!node.outputs.empty()) named.set_name(node.outputs[0]);
          AddWeight(named, "constant", s, weights);
        }
      }
    }
  }
}

void SummarizeExternalFiles(const std::vector<WeightEntry>& weights, const Model& model,
                            ModelSummary& s) {
  std::map<std::string, ExternalFileTotals> files;
  for (const WeightEntry& w : weights) {
    if (w.external_location.empty()) continue;
    ExternalFileTotals& f = files[w.external_location];
    f.location = w.external_location;
    ++f.tensors;
    f.bytes += w.bytes;
  }
  for (auto& [location, f] : files) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(model.source_path.parent_path() / location, ec);
    if (!ec) f.file_bytes = size;
    s.external_files.push_back(f);
  }
}

}  // namespace

ModelSummary Summarize(const Model& model, size_t largest_count) {
  ModelSummary s;
  s.path = model.source_path.string();
  std::error_code ec;
  if (!model.source_path.empty()) {
    const auto size = std::filesystem::file_size(model.source_path, ec);
    if (!ec) s.file_bytes = size;
  }
  s.ir_version = model.ir_version;
  s.producer = absl::StrCat(model.producer_name, model.producer_version.empty() ? "" : " ",
                            model.producer_version);
  s.opsets = model.opset_imports;
  std::vector<WeightEntry> weights;
  ForEachGraph(model.graph, [&](const Graph& g, int depth) {
    if (depth > 0) ++s.subgraph_count;
    SummarizeGraph(g, s, weights);
  });
  absl::flat_hash_set<std::string> initializer_names;
  for (const Tensor& t : model.graph.initializers) initializer_names.insert(t.name());
  for (const ValueInfo& v : model.graph.inputs) {
    if (!initializer_names.contains(v.name)) s.inputs.push_back(v);
  }
  s.outputs = model.graph.outputs;
  SummarizeExternalFiles(weights, model, s);
  std::stable_sort(weights.begin(), weights.end(),
                   [](const WeightEntry& a, const WeightEntry& b) { return a.bytes > b.bytes; });
  if (weights.size() > largest_count) weights.resize(largest_count);
  s.largest = std::move(weights);
  return s;
}

std::string DescribeValue(const ValueInfo& value) {
  if (!value.is_tensor) return "non-tensor";
  std::string text(DataTypeName(value.elem_type));
  if (!value.shape) return text + "[?]";
  std::vector<std::string> dims;
  for (const Dim& d : *value.shape) {
    dims.push_back(d.value ? absl::StrCat(*d.value) : (d.param.empty() ? "?" : d.param));
  }
  return absl::StrCat(text, "[", absl::StrJoin(dims, ","), "]");
}

}  // namespace pare
