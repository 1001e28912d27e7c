#include "quantize/static_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "runtime/session.h"

namespace pare::quantize {

std::vector<Target> PlanTargets(const Graph& g, const Constants& constants,
                                const StaticInt8Options& o, std::vector<std::string>& skipped) {
  std::vector<Target> targets;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!n.domain.empty() ||
        std::find(o.op_types.begin(), o.op_types.end(), n.op_type) == o.op_types.end()) {
      continue;
    }
    const std::string label = n.name.empty() ? n.outputs[0] : n.name;
    if (Excluded(n, o.exclude)) {
      skipped.push_back(label + ": excluded");
      continue;
    }
    Target t{i};
    if (n.inputs.size() < 2) continue;
    const Tensor* w = constants.FindFloat(n.inputs[1]);
    if (n.op_type == "Conv") {
      if (w == nullptr) {
        skipped.push_back(label + ": weights are not a float32 constant");
        continue;
      }
      t.activations = {0};
      t.weight = 1;
      t.weight_axis = 0;
      if (n.inputs.size() > 2 && constants.FindFloat(n.inputs[2])) t.bias = 2;
      const Attribute* group = n.FindAttribute("group");
      const int64_t groups = group != nullptr ? group->i : 1;
      if (groups == 1 || (w->dims().size() > 1 && w->dims()[1] == 1 && groups == w->dims()[0])) {
        t.x_channel_axis = 1;
        t.w_input_axis = groups == 1 ? 1 : 0;  // depthwise: channel c is map c
      }
    } else if (n.op_type == "MatMul") {
      t.activations = {0};
      if (w != nullptr && w->dims().size() == 2) {
        t.weight = 1;
        t.weight_axis = 1;  // B is [K, N]: one scale per output column
        t.x_channel_axis = -1;
        t.w_input_axis = 0;
      } else if (w == nullptr && !constants.Contains(n.inputs[1])) {
        t.activations.push_back(1);
      } else {
        skipped.push_back(label + ": weight is not a 2-D float32 tensor");
        continue;
      }
    } else if (n.op_type == "Gemm") {
      const Attribute* ta = n.FindAttribute("transA");
      const Attribute* tb = n.FindAttribute("transB");
      if (w == nullptr || (ta != nullptr && ta->i != 0)) {
        skipped.push_back(label + ": B is not a float32 constant, or A is transposed");
        continue;
      }
      t.activations = {0};
      t.weight = 1;
      t.weight_axis = tb != nullptr && tb->i != 0 ? 0 : 1;
      t.x_channel_axis = -1;  // A is [M, K]
      t.w_input_axis = 1 - t.weight_axis;
      const Attribute* alpha = n.FindAttribute("alpha");
      const Attribute* beta = n.FindAttribute("beta");
      const Tensor* c = n.inputs.size() > 2 ? constants.FindFloat(n.inputs[2]) : nullptr;
      if (c != nullptr && c->dims().size() == 1 && (alpha == nullptr || alpha->f == 1.0f) &&
          (beta == nullptr || beta->f == 1.0f)) {
        t.bias = 2;
      }
    } else {
      continue;
    }
    targets.push_back(std::move(t));
  }
  return targets;
}

Tensor Scalar(const std::string& name, DataType type, int32_t value) {
  switch (type) {
    case DataType::kUint8:
      return Tensor::FromVector<uint8_t>(name, {}, {static_cast<uint8_t>(value)});
    case DataType::kUint16:
      return Tensor::FromVector<uint16_t>(name, {}, {static_cast<uint16_t>(value)});
    case DataType::kInt16:
      return Tensor::FromVector<int16_t>(name, {}, {static_cast<int16_t>(value)});
    default:
      return Tensor::FromVector<int8_t>(name, {}, {static_cast<int8_t>(value)});
  }
}

absl::Status Calibrate(const Model& model, const CalibrationData& data, const StaticInt8Options& o,
                       absl::flat_hash_map<std::string, TensorCalibrator>& calibrators,
                       absl::flat_hash_map<std::string, ChannelRange>& channels) {
  absl::flat_hash_set<std::string> watch;
  for (const auto& [name, c] : calibrators) watch.insert(name);
  return data::RunSamples(
      model, data, o.threads, watch,
      [&](const Tensor& t) {
        auto it = calibrators.find(t.name());
        if (it == calibrators.end() || t.dtype() != DataType::kFloat32) return;
        it->second.Add(t.data<float>(), t.element_count());
        if (auto ch = channels.find(t.name()); ch != channels.end()) ch->second.Add(t);
      },
      o.progress);
}

}  // namespace pare::quantize
