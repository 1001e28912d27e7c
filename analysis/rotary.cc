#include "analysis/rotary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/dtype.h"
#include "core/graph.h"
#include "core/status_macros.h"
#include "runtime/session.h"

namespace pare::analysis {
namespace {

absl::Status NotRope(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("rotary embedding: ", what));
}

// The mean angle pair column `column` turns by per position, unwrapped over
// every position: one position's angle carries the table's rounding, the
// mean over n positions 1/n of it (float16 tables missed base 10000 by 0.25%
// from one position).
double AnglePerPosition(absl::Span<const float> cos, absl::Span<const float> sin, int64_t width,
                        int64_t column) {
  const int64_t positions = static_cast<int64_t>(cos.size()) / width;
  double turned = 0, previous = 0;
  for (int64_t p = 1; p < positions; ++p) {
    const double a = std::atan2(sin[p * width + column], cos[p * width + column]);
    double step = a - previous;
    step -= 2 * M_PI * std::floor((step + M_PI) / (2 * M_PI));  // into [-pi, pi)
    turned += step;
    previous = a;
  }
  return turned / static_cast<double>(positions - 1);
}

// Whether columns `a` and `b` hold the same values at every position.
bool SameColumns(absl::Span<const float> t, int64_t width, int64_t a, int64_t b) {
  for (size_t r = 0; r + width <= t.size(); r += width) {
    if (std::fabs(t[r + a] - t[r + b]) > 1e-3f) return false;
  }
  return true;
}

bool PairsAre(absl::Span<const float> cos, absl::Span<const float> sin, int64_t width,
              bool rotate_half) {
  const int64_t half = width / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t a = rotate_half ? i : 2 * i, b = rotate_half ? i + half : 2 * i + 1;
    if (!SameColumns(cos, width, a, b) || !SameColumns(sin, width, a, b)) return false;
  }
  return true;
}

// Exporters use whole numbers (10000, 500000, 1000000): snap when this close.
double SnapWhole(double v) {
  return std::fabs(v - std::round(v)) < 1e-4 * std::fabs(v) ? std::round(v) : v;
}

}  // namespace

absl::StatusOr<Rotary> ReadRotaryTables(absl::Span<const float> cos, absl::Span<const float> sin,
                                        int64_t width) {
  if (width < 4 || width % 2 || cos.size() != sin.size() || cos.size() % width ||
      cos.size() < static_cast<size_t>(3 * width)) {
    return NotRope(absl::StrCat("cos/sin tables of ", cos.size(), " values are not ", width,
                                " per position over at least 3 positions"));
  }
  for (int64_t i = 0; i < width; ++i) {
    if (std::fabs(cos[i] - 1) > 1e-3f || std::fabs(sin[i]) > 1e-3f) {
      return NotRope("position 0 is not cos 1, sin 0");
    }
  }
  Rotary r{.dims = width};
  if (PairsAre(cos, sin, width, /*rotate_half=*/true)) {
    r.rotate_half = true;
  } else if (PairsAre(cos, sin, width, /*rotate_half=*/false)) {
    r.rotate_half = false;
  } else {
    return NotRope("the channels do not turn in pairs (i, i + d/2) or (2i, 2i + 1)");
  }
  auto column = [&](int64_t pair) { return r.rotate_half ? pair : 2 * pair; };
  const double first = AnglePerPosition(cos, sin, width, column(0));
  const double second = AnglePerPosition(cos, sin, width, column(1));
  if (first <= 0 || second <= 0 || second >= first) {
    return NotRope("the pairs' frequencies do not fall with the channel");
  }
  // Pair i turns by scale * base^(-2i/d): pair 1 over pair 0 gives the base.
  const double base = SnapWhole(std::pow(second / first, -static_cast<double>(width) / 2.0));
  const double scale = std::fabs(first - 1) < 1e-3 ? 1.0 : first;
  const int64_t half = width / 2;
  for (int64_t i = 2; i < half; ++i) {
    const double want = scale * std::pow(base, -2.0 * static_cast<double>(i) / width);
    const double got = AnglePerPosition(cos, sin, width, column(i));
    if (std::fabs(got - want) > 0.02 * want) {
      return NotRope(absl::StrCat("pair ", i, " turns by ", got, " per position, not ", want,
                                  " (one base ", base,
                                  "): frequency-dependent scaling (Llama 3, YaRN) is not "
                                  "supported yet"));
    }
  }
  r.base = static_cast<float>(base);
  r.freq_scale = static_cast<float>(scale);
  return r;
}

namespace {

constexpr int kMaxConeNodes = 400;

// What of the graph computes `values`: nodes (in graph order), the
// initializers and graph inputs they read.
struct Cone {
  std::vector<const Node*> nodes;
  absl::flat_hash_set<std::string> initializers, inputs;
};

absl::StatusOr<Cone> ConeOf(const Model& model, const std::vector<std::string>& values) {
  const Graph& graph = model.graph;
  const GraphIndex index(graph);
  absl::flat_hash_set<std::string> graph_inputs;
  for (const ValueInfo& in : graph.inputs) graph_inputs.insert(in.name);
  Cone cone;
  absl::flat_hash_set<const Node*> nodes;
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> stack = values;
  while (!stack.empty()) {
    const std::string v = stack.back();
    stack.pop_back();
    if (v.empty() || !seen.insert(v).second) continue;
    if (index.Initializer(v)) {
      cone.initializers.insert(v);
      continue;
    }
    if (graph_inputs.contains(v)) {
      cone.inputs.insert(v);
      continue;
    }
    const Node* p = index.Producer(v);
    if (!p) return NotRope(absl::StrCat("value ", v, " has no producer"));
    static const absl::flat_hash_set<std::string> weighted = {"MatMul", "Gemm", "Conv",       "If",
                                                              "Loop",   "Scan", "MatMulNBits"};
    if (weighted.contains(p->op_type)) {
      return NotRope(absl::StrCat(v, " is computed by a ", p->op_type, ", not from positions"));
    }
    if (!nodes.insert(p).second) continue;
    if (nodes.size() > kMaxConeNodes) return NotRope(absl::StrCat(v, " needs too much graph"));
    for (const std::string& in : p->inputs) stack.push_back(in);
  }
  for (const Node& n : graph.nodes) {
    if (nodes.contains(&n)) cone.nodes.push_back(&n);
  }
  return cone;
}

// The size a decoder's first call gives a declared dimension.
int64_t DimFor(const Dim& d, size_t axis, int64_t positions) {
  if (d.value) return *d.value;
  if (absl::StrContains(d.param, "past")) return 0;
  if (absl::StrContains(d.param, "batch") || axis == 0) return 1;
  return positions;
}

absl::StatusOr<Tensor> DecoderInput(const ValueInfo& in, int64_t positions) {
  std::vector<int64_t> dims;
  if (in.shape) {
    for (size_t a = 0; a < in.shape->size(); ++a) {
      dims.push_back(DimFor((*in.shape)[a], a, positions));
    }
  }
  ASSIGN_OR_RETURN(const uint64_t count, ElementCount(dims));
  const int64_t last = dims.empty() ? 1 : std::max<int64_t>(dims.back(), 1);
  auto fill = [&](int64_t i) -> int64_t {
    if (absl::StrContains(in.name, "position")) return i % last;
    return absl::StrContains(in.name, "mask") ? 1 : 0;
  };
  if (in.elem_type == DataType::kInt64 || in.elem_type == DataType::kInt32) {
    std::vector<int64_t> v(count);
    for (uint64_t i = 0; i < count; ++i) v[i] = fill(static_cast<int64_t>(i));
    if (in.elem_type == DataType::kInt64) return Tensor::FromVector(in.name, dims, v);
    return Tensor::FromVector(in.name, dims, std::vector<int32_t>(v.begin(), v.end()));
  }
  if (in.elem_type == DataType::kBool) {
    return Tensor::FromBytes(in.name, in.elem_type, dims,
                             std::vector<uint8_t>(count, absl::StrContains(in.name, "mask")));
  }
  ASSIGN_OR_RETURN(const uint64_t bytes, StorageBytes(in.elem_type, count));
  return Tensor::FromBytes(in.name, in.elem_type, dims, std::vector<uint8_t>(bytes, 0));
}

}  // namespace

absl::StatusOr<std::vector<Tensor>> EvaluateFromInputs(const Model& model,
                                                       const std::vector<std::string>& values,
                                                       int64_t positions) {
  ASSIGN_OR_RETURN(const Cone cone, ConeOf(model, values));
  Model part;
  part.ir_version = model.ir_version;
  part.opset_imports = model.opset_imports;
  for (const Node* n : cone.nodes) part.graph.nodes.push_back(*n);
  for (const Tensor& t : model.graph.initializers) {
    if (cone.initializers.contains(t.name())) part.graph.initializers.push_back(t);
  }
  std::vector<Tensor> feeds;
  for (const ValueInfo& in : model.graph.inputs) {
    if (!cone.inputs.contains(in.name)) continue;
    part.graph.inputs.push_back(in);
    ASSIGN_OR_RETURN(Tensor feed, DecoderInput(in, positions));
    feeds.push_back(std::move(feed));
  }
  for (const std::string& v : values) part.graph.outputs.push_back(ValueInfo{.name = v});
  // Position tables are small: a part that sizes anything larger from its
  // inputs is not one, and fails fast.
  ASSIGN_OR_RETURN(auto session, runtime::Session::Create(
                                     part, {.threads = 1, .max_tensor_bytes = uint64_t{1} << 28}));
  return session->Run(feeds);
}

}  // namespace pare::analysis
