#include "quantize/float16_weights.h"

#include <cmath>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/float16.h"
#include "core/graph_edit.h"
#include "core/stage.h"
#include "core/status_macros.h"
#include "core/tensor_spill.h"

namespace pare::quantize {
namespace {

constexpr uint64_t kMinElements = 1024;
constexpr float kFloat16Max = 65504.0f;

// Whether reading `input` at position `i` of `n` uses it as a bulk weight.
bool BulkWeightUse(const Node& n, size_t i) {
  if (!n.domain.empty()) return false;
  if (n.op_type == "MatMul" || n.op_type == "Gemm") return i < 2;
  if (n.op_type == "Conv" || n.op_type == "ConvTranspose") return i == 1;
  if (n.op_type == "Gather") return i == 0;
  return false;
}

// Initializers of the main graph whose every reader uses them as weights.
absl::flat_hash_map<std::string, bool> BulkWeights(const Graph& g) {
  absl::flat_hash_map<std::string, bool> bulk;
  for (const Node& n : g.nodes) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      auto [it, inserted] = bulk.try_emplace(n.inputs[i], BulkWeightUse(n, i));
      if (!inserted) it->second = it->second && BulkWeightUse(n, i);
    }
  }
  for (const ValueInfo& o : g.outputs) bulk[o.name] = false;
  return bulk;
}

}  // namespace

static absl::StatusOr<HalfWeights> StoreWeightsInHalfOn(
    Model& model, DataType half, const absl::flat_hash_set<std::string>* only,
    const std::filesystem::path& spill_directory) {
  if (half != DataType::kFloat16 && half != DataType::kBFloat16) {
    return absl::InvalidArgumentError("half precision is float16 or bfloat16");
  }
  Graph& g = model.graph;
  const absl::flat_hash_map<std::string, bool> bulk = BulkWeights(g);
  HalfWeights r;
  std::vector<Node> casts;
  std::unique_ptr<TensorSpill> spill;
  if (!spill_directory.empty()) {
    ASSIGN_OR_RETURN(spill, TensorSpill::Create(spill_directory));
  }
  std::vector<size_t> spilled;  // initializer indices whose tensor waits in the spill
  for (size_t i = 0; i < g.initializers.size(); ++i) {
    Tensor& t = g.initializers[i];
    auto it = bulk.find(t.name());
    if (t.dtype() != DataType::kFloat32 || t.element_count() < kMinElements || it == bulk.end() ||
        !it->second || (only && !only->contains(t.name()))) {
      continue;
    }
    ASSIGN_OR_RETURN(const std::vector<float> values, t.ToFloat32());
    bool in_range = true;
    for (float v : values) {
      if (std::isfinite(v) && std::fabs(v) > kFloat16Max) in_range = false;
    }
    if (half == DataType::kFloat16 && !in_range) {
      ++r.kept_out_of_range;
      continue;
    }
    std::vector<uint16_t> bits(values.size());
    if (half == DataType::kFloat16) {
      Float32ToFloat16(values.data(), bits.data(), values.size());
    } else {
      Float32ToBFloat16(values.data(), bits.data(), values.size());
    }
    std::vector<uint8_t> bytes(bits.size() * 2);
    std::memcpy(bytes.data(), bits.data(), bytes.size());
    const std::string name = t.name();
    const std::string stored = absl::StrCat(name, half == DataType::kFloat16 ? ".f16" : ".bf16");
    r.bytes_before += t.bytes().size();
    r.bytes_after += bytes.size();
    ++r.converted;
    t.ReleasePages();
    t = Tensor::FromBytes(stored, half, t.dims(), std::move(bytes));
    if (spill) {
      RETURN_IF_ERROR(spill->Add(t));
      t = Tensor();  // the bytes wait on disk until Finish
      spilled.push_back(i);
    }
    Node cast{.name = absl::StrCat(name, ".cast"),
              .op_type = "Cast",
              .inputs = {stored},
              .outputs = {name}};
    cast.attributes.push_back(Attribute{
        .name = "to", .type = AttributeType::kInt, .i = static_cast<int64_t>(DataType::kFloat32)});
    casts.push_back(std::move(cast));
  }
  if (spill) {
    ASSIGN_OR_RETURN(std::vector<Tensor> tensors, spill->Finish());
    for (size_t k = 0; k < spilled.size(); ++k) g.initializers[spilled[k]] = std::move(tensors[k]);
  }
  for (Node& c : casts) g.nodes.push_back(std::move(c));
  RETURN_IF_ERROR(FinishGraphRewrite(model));
  return r;
}

absl::StatusOr<HalfWeights> StoreWeightsInHalf(Model& model, DataType half,
                                               const absl::flat_hash_set<std::string>* only,
                                               const std::filesystem::path& spill_directory) {
  return CommitOnSuccess(
      model, [&](Model& work) { return StoreWeightsInHalfOn(work, half, only, spill_directory); });
}

}  // namespace pare::quantize
