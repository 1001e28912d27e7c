#include "cli/inspect_gguf.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "analysis/device.h"
#include "artifacts/gguf.h"
#include "cli/exit_codes.h"
#include "core/quant_format.h"
#include "nlohmann/json.hpp"

namespace pare::cli {
namespace {

struct TensorInfo {
  std::string name, type;
  std::vector<uint64_t> dims;
  uint64_t elements = 1;
  std::optional<uint64_t> bytes;  // unknown for types pare's table lacks
};

// Types pare's format table knows get their names and sizes; others (IQ
// types, Q5_0, ...) are named by their ggml id.
TensorInfo Describe(const artifacts::GgufSummary::Tensor& t) {
  TensorInfo info{t.name, "", t.dims};
  for (uint64_t d : t.dims) info.elements *= d;
  const QuantFormat* f = FindGgmlFormat(static_cast<int32_t>(t.type));
  if (f == nullptr) {
    info.type = absl::StrCat("ggml type ", static_cast<uint32_t>(t.type));
    return info;
  }
  info.type = artifacts::GgmlTypeName(t.type);
  if (info.elements % static_cast<uint64_t>(f->block) == 0)
    info.bytes = FixedFormatBytes(*f, info.elements);
  return info;
}

std::string Metadata(const artifacts::GgufSummary& g, const std::string& key) {
  for (const auto& [k, v] : g.metadata) {
    if (k == key) return v;
  }
  return "";
}

void PrintText(const std::string& path, const artifacts::GgufSummary& g,
               const std::vector<TensorInfo>& tensors, size_t top) {
  std::cout << absl::StrFormat("%s: GGUF v%d, %s, %d tensors, %d metadata keys, %s\n", path,
                               g.version, Metadata(g, "general.architecture"), tensors.size(),
                               g.metadata.size(),
                               analysis::FormatBytes(std::filesystem::file_size(path)));
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // elements, bytes
  for (const TensorInfo& t : tensors) {
    by_type[t.type].first += t.elements;
    by_type[t.type].second += t.bytes.value_or(0);
  }
  std::cout << "by type:\n";
  for (const auto& [type, totals] : by_type) {
    std::cout << absl::StrFormat("  %-14s %14d parameters  %s\n", type, totals.first,
                                 totals.second ? analysis::FormatBytes(totals.second) : "?");
  }
  for (const auto& [k, v] : g.metadata) {
    if (k.rfind("tokenizer.", 0) == 0 && v.front() == '[') continue;  // vocabularies
    std::cout << "  " << k << " = " << v << "\n";
  }
  std::vector<const TensorInfo*> largest;
  for (const TensorInfo& t : tensors) largest.push_back(&t);
  std::stable_sort(largest.begin(), largest.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->elements > b->elements;
  });
  std::cout << "largest tensors:\n";
  for (size_t i = 0; i < std::min(top, largest.size()); ++i) {
    const TensorInfo& t = *largest[i];
    std::cout << absl::StrFormat("  %-40s %-8s [%s] %s\n", t.name, t.type,
                                 absl::StrJoin(t.dims, ", "),
                                 t.bytes ? analysis::FormatBytes(*t.bytes) : "?");
  }
}

nlohmann::json ToJson(const artifacts::GgufSummary& g, const std::vector<TensorInfo>& tensors) {
  nlohmann::json j = {{"schema", "pare.inspect-gguf/1"},
                      {"version", g.version},
                      {"metadata", nlohmann::json::object()},
                      {"tensors", nlohmann::json::array()}};
  for (const auto& [k, v] : g.metadata) j["metadata"][k] = v;
  for (const TensorInfo& t : tensors) {
    nlohmann::json e = {
        {"name", t.name}, {"type", t.type}, {"dims", t.dims}, {"elements", t.elements}};
    if (t.bytes) e["bytes"] = *t.bytes;
    j["tensors"].push_back(std::move(e));
  }
  return j;
}

}  // namespace

bool IsGgufFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

int InspectGguf(const std::string& path, bool json, size_t top) {
  absl::StatusOr<artifacts::GgufSummary> g = artifacts::ReadGgufSummary(path);
  if (!g.ok()) return ReportError(g.status());
  std::vector<TensorInfo> tensors;
  for (const artifacts::GgufSummary::Tensor& t : g->tensors) tensors.push_back(Describe(t));
  if (json) {
    std::cout << ToJson(*g, tensors).dump(2) << "\n";
  } else {
    PrintText(path, *g, tensors, top);
  }
  return kExitOk;
}

}  // namespace pare::cli
