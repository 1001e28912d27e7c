#include "quantize/weight_packing.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/float16.h"
#include "core/int4.h"
#include "core/model_builder.h"

namespace pare::quantize {
namespace {

// Writes `bits`-wide `value` at position `index` of a low-bits-first stream.
void PutBits(std::vector<uint8_t>& out, size_t base, int64_t index, int bits, uint32_t value) {
  const int64_t bit = index * bits;
  out[base + bit / 8] |= static_cast<uint8_t>(value << (bit % 8));
}

bool DefaultZeros(const BlockQuantized& q) {
  const float half = static_cast<float>(1 << (q.spec.bits - 1));
  for (float z : q.zeros) {
    if (z != half) return false;
  }
  return true;
}

}  // namespace

Tensor FloatTensor(const std::string& name, std::vector<int64_t> dims,
                   const std::vector<float>& values, DataType type) {
  if (type != DataType::kFloat16 && type != DataType::kBFloat16) {
    return Tensor::FromVector<float>(name, std::move(dims), values);
  }
  std::vector<uint16_t> half(values.size());
  if (type == DataType::kFloat16) {
    Float32ToFloat16(values.data(), half.data(), values.size());
  } else {
    Float32ToBFloat16(values.data(), half.data(), values.size());
  }
  std::vector<uint8_t> bytes(half.size() * 2);
  std::memcpy(bytes.data(), half.data(), bytes.size());
  return Tensor::FromBytes(name, type, std::move(dims), std::move(bytes));
}

PackedWeight PackMatMulNBits(const std::string& name, const BlockQuantized& q,
                             DataType float_type) {
  const int bits = q.spec.bits;
  const int64_t block = q.spec.block, blob = block * bits / 8;
  std::vector<uint8_t> b(static_cast<size_t>(q.n * q.blocks * blob), 0);
  for (int64_t col = 0; col < q.n; ++col) {
    for (int64_t row = 0; row < q.k; ++row) {
      const size_t base = static_cast<size_t>((col * q.blocks + row / block) * blob);
      PutBits(b, base, row % block, bits, q.codes[col * q.k + row]);
    }
  }
  PackedWeight p;
  p.tensors.push_back(
      Tensor::FromBytes(name + "_nbits", DataType::kUint8, {q.n, q.blocks, blob}, std::move(b)));
  p.tensors.push_back(FloatTensor(name + "_scales", {q.n * q.blocks}, q.scales, float_type));
  p.inputs = {name + "_nbits", name + "_scales"};
  if (!DefaultZeros(q)) {
    if (q.IntegerZeros()) {
      const int64_t row_bytes = (q.blocks * bits + 7) / 8;
      std::vector<uint8_t> z(static_cast<size_t>(q.n * row_bytes), 0);
      for (int64_t col = 0; col < q.n; ++col) {
        for (int64_t blk = 0; blk < q.blocks; ++blk) {
          PutBits(z, static_cast<size_t>(col * row_bytes), blk, bits,
                  static_cast<uint32_t>(q.zeros[col * q.blocks + blk]));
        }
      }
      p.tensors.push_back(Tensor::FromBytes(name + "_zero_points", DataType::kUint8,
                                            {q.n * row_bytes}, std::move(z)));
    } else {
      p.tensors.push_back(
          FloatTensor(name + "_zero_points", {q.n * q.blocks}, q.zeros, float_type));
    }
    p.inputs.push_back(name + "_zero_points");
  }
  p.attributes = {IntAttr("K", q.k), IntAttr("N", q.n), IntAttr("bits", bits),
                  IntAttr("block_size", block)};
  return p;
}

absl::StatusOr<PackedWeight> PackBlockedDequantize(const std::string& name, const BlockQuantized& q,
                                                   DataType float_type, bool transposed) {
  if (!q.IntegerZeros()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": real-valued zero points (hqq) need the MatMulNBits format"));
  }
  const int bits = q.spec.bits;
  const bool symmetric = DefaultZeros(q);
  const int half = 1 << (bits - 1);
  // Codes in [K, N] order ([N, K] transposed, which is how q holds them);
  // signed (code - half) when symmetric.
  std::vector<int8_t> signed_codes;
  std::vector<uint8_t> unsigned_codes;
  const int64_t outer = transposed ? q.n : q.k, inner = transposed ? q.k : q.n;
  for (int64_t i = 0; i < outer; ++i) {
    for (int64_t j = 0; j < inner; ++j) {
      const uint8_t c = transposed ? q.codes[i * q.k + j] : q.codes[j * q.k + i];
      if (symmetric) {
        signed_codes.push_back(static_cast<int8_t>(c - half));
      } else {
        unsigned_codes.push_back(c);
      }
    }
  }
  PackedWeight p;
  const std::vector<int64_t> dims =
      transposed ? std::vector<int64_t>{q.n, q.k} : std::vector<int64_t>{q.k, q.n};
  const std::vector<int64_t> sdims =
      transposed ? std::vector<int64_t>{q.n, q.blocks} : std::vector<int64_t>{q.blocks, q.n};
  const std::string codes = name + "_quantized";
  if (bits == 4) {
    std::vector<uint8_t> packed(PackedInt4Bytes(static_cast<size_t>(q.k * q.n)));
    if (symmetric) {
      PackInt4(signed_codes.data(), signed_codes.size(), packed.data());
    } else {
      PackUint4(unsigned_codes.data(), unsigned_codes.size(), packed.data());
    }
    p.tensors.push_back(Tensor::FromBytes(codes, symmetric ? DataType::kInt4 : DataType::kUint4,
                                          dims, std::move(packed)));
  } else if (symmetric) {
    p.tensors.push_back(Tensor::FromVector<int8_t>(codes, dims, signed_codes));
  } else {
    p.tensors.push_back(Tensor::FromVector<uint8_t>(codes, dims, unsigned_codes));
  }
  std::vector<float> scales(static_cast<size_t>(q.blocks * q.n));
  std::vector<uint8_t> zeros(scales.size());
  for (int64_t col = 0; col < q.n; ++col) {
    for (int64_t blk = 0; blk < q.blocks; ++blk) {
      const size_t at = transposed ? col * q.blocks + blk : blk * q.n + col;
      scales[at] = q.scales[col * q.blocks + blk];
      zeros[at] = static_cast<uint8_t>(q.zeros[col * q.blocks + blk]);
    }
  }
  p.tensors.push_back(FloatTensor(name + "_scale", sdims, scales, float_type));
  p.dequantize.name = name + "_dequantized";
  p.dequantize.op_type = "DequantizeLinear";
  p.dequantize.inputs = {codes, name + "_scale"};
  if (!symmetric) {
    if (bits == 4) {
      std::vector<uint8_t> packed(PackedInt4Bytes(zeros.size()));
      PackUint4(zeros.data(), zeros.size(), packed.data());
      p.tensors.push_back(
          Tensor::FromBytes(name + "_zero_point", DataType::kUint4, sdims, std::move(packed)));
    } else {
      p.tensors.push_back(Tensor::FromVector<uint8_t>(name + "_zero_point", sdims, zeros));
    }
    p.dequantize.inputs.push_back(name + "_zero_point");
  }
  p.dequantize.outputs = {name + "_dequantized"};
  p.dequantize.attributes = {IntAttr("axis", transposed ? 1 : 0),
                             IntAttr("block_size", q.spec.block)};
  return p;
}

}  // namespace pare::quantize
