// Text and JSON renderings of a ModelSummary (schema: docs/inspect-json.md).
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/model_summary.h"

namespace pare {
namespace {

using nlohmann::json;

json ValueToJson(const ValueInfo& v) {
  json j = {
      {"name", v.name},
      {"type", v.is_tensor ? std::string(DataTypeName(v.elem_type)) : std::string("non-tensor")}};
  if (!v.is_tensor || !v.shape) {
    j["shape"] = nullptr;
    return j;
  }
  json shape = json::array();
  for (const Dim& d : *v.shape) {
    if (d.value) {
      shape.push_back(*d.value);
    } else {
      shape.push_back(d.param.empty() ? json(nullptr) : json(d.param));
    }
  }
  j["shape"] = shape;
  return j;
}

json WeightToJson(const WeightEntry& w) {
  json j = {{"name", w.name},     {"kind", w.kind},         {"dtype", DataTypeName(w.dtype)},
            {"shape", w.dims},    {"elements", w.elements}, {"bytes", w.bytes},
            {"external", nullptr}};
  if (!w.external_location.empty()) j["external"] = w.external_location;
  return j;
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrFormat("%d B", bytes)
                   : absl::StrFormat("%.2f %s", value, units[unit]);
}

}  // namespace

json SummaryToJson(const ModelSummary& s) {
  json j;
  j["schema"] = "pare.inspect/1";
  j["path"] = s.path;
  j["file_bytes"] = s.file_bytes ? json(*s.file_bytes) : json(nullptr);
  j["ir_version"] = s.ir_version;
  j["producer"] = s.producer;
  j["opsets"] = json::object();
  for (const OpsetImport& op : s.opsets) {
    j["opsets"][op.domain.empty() ? "ai.onnx" : op.domain] = op.version;
  }
  j["nodes"] = s.node_count;
  j["subgraphs"] = s.subgraph_count;
  j["op_histogram"] = s.op_histogram;
  j["parameters"] = {{"count", s.parameter_count},
                     {"bytes", s.parameter_bytes},
                     {"sparse_initializers", s.sparse_initializer_count}};
  j["parameters"]["by_dtype"] = json::object();
  for (const auto& [dtype, t] : s.by_dtype) {
    j["parameters"]["by_dtype"][dtype] = {
        {"tensors", t.tensors}, {"elements", t.elements}, {"bytes", t.bytes}};
  }
  j["inputs"] = json::array();
  for (const ValueInfo& v : s.inputs) j["inputs"].push_back(ValueToJson(v));
  j["outputs"] = json::array();
  for (const ValueInfo& v : s.outputs) j["outputs"].push_back(ValueToJson(v));
  j["external_data"] = json::array();
  for (const ExternalFileTotals& f : s.external_files) {
    j["external_data"].push_back({{"location", f.location},
                                  {"tensors", f.tensors},
                                  {"bytes", f.bytes},
                                  {"file_bytes", f.file_bytes ? json(*f.file_bytes) : json()}});
  }
  j["largest"] = json::array();
  for (const WeightEntry& w : s.largest) j["largest"].push_back(WeightToJson(w));
  return j;
}

std::string SummaryToText(const ModelSummary& s) {
  std::ostringstream out;
  out << "model:      " << s.path;
  if (s.file_bytes) out << " (" << HumanBytes(*s.file_bytes) << ")";
  out << "\nir_version: " << s.ir_version << "\nproducer:   " << s.producer << "\nopsets:     ";
  std::vector<std::string> opsets;
  for (const OpsetImport& op : s.opsets) {
    opsets.push_back(absl::StrCat(op.domain.empty() ? "ai.onnx" : op.domain, " ", op.version));
  }
  out << absl::StrJoin(opsets, ", ") << "\n";
  out << absl::StrFormat("parameters: %d (%s) in %d dtype(s)\n", s.parameter_count,
                         HumanBytes(s.parameter_bytes), s.by_dtype.size());
  for (const auto& [dtype, t] : s.by_dtype) {
    out << absl::StrFormat("  %-10s %6d tensors %14d elements %12s\n", dtype, t.tensors, t.elements,
                           HumanBytes(t.bytes));
  }
  if (s.sparse_initializer_count) {
    out << "  (+" << s.sparse_initializer_count << " sparse initializers, not counted)\n";
  }
  out << "inputs:\n";
  for (const ValueInfo& v : s.inputs) out << "  " << v.name << ": " << DescribeValue(v) << "\n";
  out << "outputs:\n";
  for (const ValueInfo& v : s.outputs) out << "  " << v.name << ": " << DescribeValue(v) << "\n";
  out << absl::StrFormat("nodes: %d (%d subgraph(s))\n", s.node_count, s.subgraph_count);
  for (const auto& [op, count] : s.op_histogram) {
    out << absl::StrFormat("  %-28s %d\n", op, count);
  }
  if (!s.external_files.empty()) out << "external data:\n";
  for (const ExternalFileTotals& f : s.external_files) {
    out << absl::StrFormat("  %s: %d tensors, %s", f.location, f.tensors, HumanBytes(f.bytes));
    if (f.file_bytes) out << " (file " << HumanBytes(*f.file_bytes) << ")";
    out << "\n";
  }
  out << "largest tensors:\n";
  for (const WeightEntry& w : s.largest) {
    out << absl::StrFormat("  %-40s %-11s %-8s [%s] %s%s\n", w.name, w.kind, DataTypeName(w.dtype),
                           absl::StrJoin(w.dims, ","), HumanBytes(w.bytes),
                           w.external_location.empty() ? "" : " (external)");
  }
  return out.str();
}

}  // namespace pare
