// Every storage format pare writes weights in, described once: the ONNX
// forms the quantize stage emits (MatMulNBits, blocked DequantizeLinear)
// and the GGUF block types the artifacts stage writes (legacy Q4_0, Q4_1,
// Q8_0 and the K-quant super-blocks Q4_K, Q5_K, Q6_K). The planner prices
// candidates with it, quantize checks bit widths against it, and GGUF export
// takes its names, sizes, type ids and block codecs from it, as ggml keeps
// one traits table for its types.
//
//   const QuantFormat* q = FindQuantFormat("q4_0");
//   std::vector<uint8_t> block(q->bytes_per_block);
//   q->pack(values, block.data());      // 32 floats -> 18 bytes
//   q->unpack(block.data(), restored);  // and back
//   uint64_t bytes = FixedFormatBytes(*q, /*elements=*/4096 * 4096);
#ifndef PARE_CORE_QUANT_FORMAT_H_
#define PARE_CORE_QUANT_FORMAT_H_

#include <cstdint>
#include <string_view>

#include "absl/types/span.h"
#include "core/block_grid.h"
#include "core/dtype.h"

namespace pare {

// How a block's codes are offset before scaling.
enum class ZeroPoint {
  kNone,      // float values, or signed codes: value = code * scale
  kMidpoint,  // unsigned codes centred on 2^(bits-1), not stored
  kCode,      // an unsigned code per block, stored (asymmetric); may be omitted when all midpoint
  kMinimum,   // a float minimum per block: value = code * scale + minimum
};

// What a block's scale is stored as.
enum class ScaleType {
  kNone,        // float formats
  kFloat16,     // GGUF blocks
  kModelFloat,  // the model's own float type (float32, float16 or bfloat16)
};

struct QuantFormat {
  std::string_view name;
  int bits;           // bits of one stored value (the widest, for a family of widths)
  uint64_t bit_mask;  // bit widths the format takes: bit b set for b bits
  int64_t block;      // values per block: 1 for float formats, 0 when chosen per tensor
  ScaleType scale;
  ZeroPoint zero;
  DataType zero_type;        // of a stored zero point or minimum; kUndefined when none
  uint32_t bytes_per_block;  // fixed-block formats; 0 when the block is chosen per tensor
  // K-quant super-blocks split into sub-blocks of `sub_block` values, each
  // with its own quantized scale (and minimum) of `sub_scale_bits` bits in
  // all; 0 for formats with one scale per block.
  int sub_block;
  int sub_scale_bits;
  int32_t ggml_type;    // the GGUF tensor type id, or -1
  int32_t llama_ftype;  // llama.cpp's general.file_type when this is the main type, or -1
  // Reference codec of one block (fixed-block formats): `block` floats to
  // `bytes_per_block` bytes, laid out as llama.cpp lays them out.
  void (*pack)(const float* values, uint8_t* out);
  void (*unpack)(const uint8_t* in, float* values);
  // Quantized block formats: the grid of a packed block, and its codes
  // written back with its scales kept (block_grid.h); null for floats.
  void (*grid)(const uint8_t* block, BlockGrid* out);
  void (*set_codes)(const uint8_t* codes, uint8_t* block);
  // Packed with importance weights `w` (one per value): the one-scale
  // blocks' grid with the least weighted squared error among candidates
  // around the reference one; Q4_K and Q5_K's fit weighted as llama.cpp's
  // with an imatrix. Null for the other K-quants (their own fit, unweighted).
  void (*pack_weighted)(const float* values, const float* w, uint8_t* out);

  bool Takes(int b) const { return b > 0 && b < 64 && ((bit_mask >> b) & 1u) != 0; }
  bool fixed_block() const { return bytes_per_block != 0; }
};

// The table, in a fixed order.
absl::Span<const QuantFormat> QuantFormats();

// nullptr when no format has that name or GGUF type id.
const QuantFormat* FindQuantFormat(std::string_view name);
const QuantFormat* FindGgmlFormat(int32_t ggml_type);

// Bytes of `elements` values in a fixed-block format (elements a multiple
// of its block).
uint64_t FixedFormatBytes(const QuantFormat& f, uint64_t elements);

// Bytes of a [k, n] weight in a per-tensor-block format (MatMulNBits,
// blocked DequantizeLinear): each of n columns is ceil(k / block) blocks of
// block * bits / 8 code bytes (the last padded), one scale of `scale_bytes`
// each, and packed zero-point codes when `zero_points`.
uint64_t BlockwiseBytes(int bits, int64_t block, int64_t k, int64_t n, int scale_bytes,
                        bool zero_points);

}  // namespace pare

#endif  // PARE_CORE_QUANT_FORMAT_H_
