#include "runtime/half_compute.h"

#include "core/float16.h"

namespace pare::runtime {
namespace {

bool IsHalf(DataType t) { return t == DataType::kFloat16 || t == DataType::kBFloat16; }

Tensor ToFloat32(const Tensor& half) {
  uint8_t* data = nullptr;
  Tensor out = Tensor::Allocate(DataType::kFloat32, half.dims(), &data);
  const auto* src = reinterpret_cast<const uint16_t*>(half.bytes().data());
  auto* dst = reinterpret_cast<float*>(data);
  if (half.dtype() == DataType::kFloat16) {
    Float16ToFloat32(src, dst, half.element_count());
  } else {
    BFloat16ToFloat32(src, dst, half.element_count());
  }
  out.set_name(half.name());
  return out;
}

Tensor FromFloat32(const Tensor& full, DataType half) {
  uint8_t* data = nullptr;
  Tensor out = Tensor::Allocate(half, full.dims(), &data);
  const auto* src = reinterpret_cast<const float*>(full.bytes().data());
  auto* dst = reinterpret_cast<uint16_t*>(data);
  if (half == DataType::kFloat16) {
    Float32ToFloat16(src, dst, full.element_count());
  } else {
    Float32ToBFloat16(src, dst, full.element_count());
  }
  out.set_name(full.name());
  return out;
}

}  // namespace

std::optional<DataType> HalfInputType(const std::vector<const Tensor*>& inputs) {
  for (const Tensor* t : inputs) {
    if (t && IsHalf(t->dtype())) return t->dtype();
  }
  return std::nullopt;
}

void WidenHalfInputs(const std::vector<const Tensor*>& inputs, std::vector<Tensor>& storage,
                     std::vector<const Tensor*>& widened) {
  storage.clear();
  storage.reserve(inputs.size());  // no reallocation: `widened` points into it
  widened.clear();
  for (const Tensor* t : inputs) {
    if (t && IsHalf(t->dtype())) {
      storage.push_back(ToFloat32(*t));
      widened.push_back(&storage.back());
    } else {
      widened.push_back(t);
    }
  }
}

void NarrowFloatOutputs(std::vector<Tensor>& outputs, DataType half) {
  for (Tensor& t : outputs) {
    if (t.dtype() == DataType::kFloat32) t = FromFloat32(t, half);
  }
}

}  // namespace pare::runtime
