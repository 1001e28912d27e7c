#include "prune/compact_storage.h"

#include <cstring>

#include "core/model_builder.h"

namespace pare::prune {

namespace {

Node MakeNode(std::string op, std::vector<std::string> inputs, std::string output,
              std::vector<Attribute> attributes = {}) {
  Node n;
  n.name = output;
  n.op_type = std::move(op);
  n.inputs = std::move(inputs);
  n.outputs = {std::move(output)};
  n.attributes = std::move(attributes);
  return n;
}

}  // namespace

std::optional<CompactWeight> PackCompact(const Tensor& weight) {
  const int64_t count = static_cast<int64_t>(weight.element_count());
  if (count == 0) return std::nullopt;
  const size_t width = weight.bytes().size() / static_cast<size_t>(count);
  const uint8_t* src = weight.bytes().data();
  // Zero is all-zero bytes in every float type; -0.0 is kept as a value.
  std::vector<uint8_t> mask(static_cast<size_t>((count + 7) / 8), 0);
  std::vector<uint8_t> values;
  static const uint8_t kZero[8] = {};
  for (int64_t i = 0; i < count; ++i) {
    if (std::memcmp(src + i * width, kZero, width) == 0) continue;
    mask[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    values.insert(values.end(), src + i * width, src + (i + 1) * width);
  }
  const int64_t nonzeros = static_cast<int64_t>(values.size() / width);
  if (nonzeros == 0 || nonzeros * 4 > count * 3) return std::nullopt;

  const std::string base = weight.name() + "_compact";
  CompactWeight c;
  c.tensors.push_back(Tensor::FromBytes(base + "_values", weight.dtype(), {nonzeros}, values));
  c.tensors.push_back(
      Tensor::FromVector<uint8_t>(base + "_mask", {static_cast<int64_t>(mask.size()), 1}, mask));
  std::vector<uint8_t> left(8);
  for (int b = 0; b < 8; ++b) left[b] = static_cast<uint8_t>(7 - b);
  c.tensors.push_back(Tensor::FromVector<uint8_t>(base + "_left", {8}, left));
  c.tensors.push_back(Tensor::FromVector<uint8_t>(base + "_seven", {}, {7}));
  c.tensors.push_back(Tensor::FromVector<int64_t>(base + "_flat", {1}, {-1}));
  c.tensors.push_back(Tensor::FromVector<int64_t>(base + "_start", {1}, {0}));
  c.tensors.push_back(Tensor::FromVector<int64_t>(base + "_count", {1}, {count}));
  c.tensors.push_back(Tensor::FromVector<int64_t>(base + "_axis", {}, {0}));
  c.tensors.push_back(Tensor::FromVector<int64_t>(base + "_one", {}, {1}));
  c.tensors.push_back(Tensor::FromVector<int64_t>(
      base + "_shape", {static_cast<int64_t>(weight.dims().size())}, weight.dims()));
  c.tensors.push_back(
      Tensor::FromBytes(base + "_zero", weight.dtype(), {}, std::vector<uint8_t>(width, 0)));
  auto& n = c.nodes;
  // Bit b of each mask byte: shift it to the top, then down to the bottom.
  n.push_back(MakeNode("BitShift", {base + "_mask", base + "_left"}, base + "_up",
                       {StringAttr("direction", "LEFT")}));
  n.push_back(MakeNode("BitShift", {base + "_up", base + "_seven"}, base + "_bits8",
                       {StringAttr("direction", "RIGHT")}));
  n.push_back(MakeNode("Reshape", {base + "_bits8", base + "_flat"}, base + "_bits_padded"));
  n.push_back(
      MakeNode("Slice", {base + "_bits_padded", base + "_start", base + "_count"}, base + "_bits"));
  n.push_back(MakeNode("Cast", {base + "_bits"}, base + "_keep", {IntAttr("to", 9)}));
  n.push_back(MakeNode("Cast", {base + "_bits"}, base + "_bits64", {IntAttr("to", 7)}));
  n.push_back(MakeNode("CumSum", {base + "_bits64", base + "_axis"}, base + "_rank"));
  n.push_back(MakeNode("Sub", {base + "_rank", base + "_one"}, base + "_position"));
  n.push_back(MakeNode("Gather", {base + "_values", base + "_position"}, base + "_gathered"));
  n.push_back(
      MakeNode("Where", {base + "_keep", base + "_gathered", base + "_zero"}, base + "_dense"));
  n.push_back(MakeNode("Reshape", {base + "_dense", base + "_shape"}, weight.name()));
  return c;
}

}  // namespace pare::prune
