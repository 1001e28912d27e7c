// The precisions a layer's weight can be stored in, what each costs in
// bytes, and a data-free estimate of the error each adds.
//
//   ASSIGN_OR_RETURN(Precision p, ParsePrecision("int4-g32"));
//   uint64_t bytes = StoredBytes(p, /*k=*/4096, /*n=*/4096);
//
// Names: f32 (as exported), f16, int8 (8-bit, block 32), int4-gB (4-bit,
// block B in 16..256), int2-gB. Integer precisions are weight-only,
// symmetric, scales rounded to float16, stored as MatMulNBits (quantize stage).
// Sizes come from the format table (core/quant_format.h).
#ifndef PARE_PLAN_PRECISION_H_
#define PARE_PLAN_PRECISION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/quant_format.h"

namespace pare::plan {

struct Precision {
  std::string name;
  int bits = 32;  // 32 and 16: float; 8, 4, 2: integer codes
  int64_t block = 0;
  const QuantFormat* format = nullptr;  // its row in core/quant_format.h
  bool integer() const { return bits <= 8; }
};

absl::StatusOr<Precision> ParsePrecision(const std::string& name);
// "f16,int8,int4-g32" -> precisions, in the given order.
absl::StatusOr<std::vector<Precision>> ParsePrecisions(const std::string& list);

// Bytes of a [k, n] weight stored at `p`: codes plus one scale per block of
// each output column. MatMulNBits keeps scales in the activations' type:
// `scale_bytes` 4 for float32 models, 2 for float16 ones. Float precisions
// ignore it.
uint64_t StoredBytes(const Precision& p, int64_t k, int64_t n, int scale_bytes = 4);

// Relative squared error ||W - Q(W)||^2 / ||W||^2 that round-to-nearest at
// `p` adds to `w` ([k, n], row-major), from each block's scale: codes round
// uniformly, so each element's error variance is scale^2 / 12. A cheap,
// data-free stand-in for measured sensitivity (one pass over the weight).
std::vector<double> ProxyErrors(absl::Span<const float> w, int64_t k, int64_t n,
                                const std::vector<Precision>& precisions);

}  // namespace pare::plan

#endif  // PARE_PLAN_PRECISION_H_
