#include "runtime/qdq_fusion.h"

#include <cmath>
#include <optional>

#include "core/graph_edit.h"
#include "core/model_builder.h"
#include "runtime/value_readers.h"

namespace pare::runtime {
namespace {

// One activation's quantization: a scalar float32 scale, and the zero point
// with its type (uint8 and 0 when the node has none).
struct QuantParams {
  float scale = 0;
  DataType type = DataType::kUint8;
  float zero = 0;
  bool has_zero = false;

  bool operator==(const QuantParams&) const = default;
};

bool IsPlain(const Node& node, const char* op) {
  return node.op_type == op && node.domain.empty() && node.outputs.size() == 1 &&
         node.inputs.size() >= 2;
}

bool HasNonZeroInt(const Node& node, const char* attr) {
  const Attribute* a = node.FindAttribute(attr);
  return a != nullptr && a->i != 0;
}

// The parameters of a per-tensor QuantizeLinear/DequantizeLinear whose scale
// and zero point are constants, or nullopt for any other form.
std::optional<QuantParams> PerTensorParams(const Node& node, const Constants& constants) {
  if (HasNonZeroInt(node, "block_size") || HasNonZeroInt(node, "output_dtype")) return std::nullopt;
  const Tensor* scale = constants.FindFloat(node.inputs[1]);
  if (scale == nullptr || scale->element_count() != 1) return std::nullopt;
  QuantParams p;
  p.scale = scale->data<float>()[0];
  if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
    const Tensor* zp = constants.Find(node.inputs[2]);
    if (zp == nullptr || zp->element_count() != 1) return std::nullopt;
    p.type = zp->dtype();
    if (p.type != DataType::kUint8 && p.type != DataType::kInt8 && p.type != DataType::kUint16 &&
        p.type != DataType::kInt16) {
      return std::nullopt;
    }
    p.zero = zp->ToFloat32().value()[0];
    p.has_zero = true;
  }
  return p;
}

bool IsFusedPair(const Node& node) {
  const Attribute* a = node.FindAttribute(kFusedDequantize);
  return node.op_type == "QuantizeLinear" && node.domain.empty() && a != nullptr && a->i == 1;
}

class QdqFuser {
 public:
  explicit QdqFuser(Graph& graph) : graph_(graph) {}

  std::vector<std::string> Run() {
    Pass(&QdqFuser::FusePair);
    Pass(&QdqFuser::AbsorbIntoConv);
    return std::move(removed_values_);
  }

 private:
  using Rewrite = void (QdqFuser::*)(size_t node, const Constants&, const ValueReaders&);

  void Pass(Rewrite rewrite) {
    const Constants constants(graph_);
    const ValueReaders readers(graph_);
    removed_.assign(graph_.nodes.size(), false);
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      if (!removed_[i]) (this->*rewrite)(i, constants, readers);
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      if (!removed_[i]) kept.push_back(std::move(graph_.nodes[i]));
    }
    graph_.nodes = std::move(kept);
  }

  // QuantizeLinear -> its only reader, a DequantizeLinear with the same
  // parameters: the QuantizeLinear now writes the dequantized value.
  void FusePair(size_t qi, const Constants& constants, const ValueReaders& readers) {
    Node& q = graph_.nodes[qi];
    if (!IsPlain(q, "QuantizeLinear") || q.FindAttribute(kFusedDequantize)) return;
    auto dqi = readers.Only(q.outputs[0]);
    if (!dqi || removed_[*dqi]) return;
    const Node& dq = graph_.nodes[*dqi];
    if (!IsPlain(dq, "DequantizeLinear") || dq.inputs[0] != q.outputs[0]) return;
    auto qp = PerTensorParams(q, constants), dp = PerTensorParams(dq, constants);
    if (!qp || !dp || !(*qp == *dp)) return;
    removed_values_.push_back(q.outputs[0]);
    q.outputs[0] = dq.outputs[0];
    q.attributes.push_back(IntAttr(kFusedDequantize, 1));
    removed_[*dqi] = true;
  }

  // Conv -> fused pair, the Conv's only reader: the Conv applies it.
  void AbsorbIntoConv(size_t ci, const Constants& constants, const ValueReaders& readers) {
    Node& conv = graph_.nodes[ci];
    if (!IsPlain(conv, "Conv") || conv.FindAttribute(kFakeQuantScale)) return;
    auto fqi = readers.Only(conv.outputs[0]);
    if (!fqi || removed_[*fqi]) return;
    const Node& fq = graph_.nodes[*fqi];
    if (!IsFusedPair(fq) || fq.inputs[0] != conv.outputs[0]) return;
    auto p = PerTensorParams(fq, constants);
    // A zero scale is how the Conv's attributes say "none" (quantizing by
    // it maps everything to 0); leave such a pair as it is.
    if (!p || !std::isfinite(p->scale) || p->scale == 0) return;
    const auto [lo, hi] = TypeRange(p->type);
    conv.attributes.push_back(FloatAttr(kFakeQuantScale, p->scale));
    conv.attributes.push_back(FloatAttr(kFakeQuantZero, p->zero));
    conv.attributes.push_back(FloatAttr(kFakeQuantLow, lo));
    conv.attributes.push_back(FloatAttr(kFakeQuantHigh, hi));
    removed_values_.push_back(conv.outputs[0]);
    conv.outputs[0] = fq.outputs[0];
    removed_[*fqi] = true;
  }

  static std::pair<float, float> TypeRange(DataType type) {
    switch (type) {
      case DataType::kInt8:
        return {-128.0f, 127.0f};
      case DataType::kUint16:
        return {0.0f, 65535.0f};
      case DataType::kInt16:
        return {-32768.0f, 32767.0f};
      default:
        return {0.0f, 255.0f};
    }
  }

  Graph& graph_;
  std::vector<bool> removed_;
  std::vector<std::string> removed_values_;
};

}  // namespace

std::vector<std::string> FuseQuantizeDequantize(Graph& graph) { return QdqFuser(graph).Run(); }

}  // namespace pare::runtime
