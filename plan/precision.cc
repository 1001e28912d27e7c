#include "plan/precision.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/quant_format.h"

namespace pare::plan {
namespace {

// The quantize stage's symmetric codes map the block's extreme value to
// -2^(b-1): scale = absmax / 2^(b-1).
double MaxCode(int bits) { return std::ldexp(1.0, bits - 1); }

// Float16's rounding: a relative error of at most 2^-11, uniform, so a
// relative variance of (2^-11)^2 / 3.
constexpr double kFloat16RelativeVariance = 1.0 / (3.0 * 4194304.0);

}  // namespace

absl::StatusOr<Precision> ParsePrecision(const std::string& name) {
  if (name == "f32" || name == "f16") {
    const QuantFormat* f = FindQuantFormat(name);
    return Precision{.name = name, .bits = f->bits, .format = f};
  }
  const QuantFormat* nbits = FindQuantFormat("matmulnbits");
  if (name == "int8") return Precision{.name = name, .bits = 8, .block = 32, .format = nbits};
  for (int bits : {4, 2}) {
    absl::string_view rest = name;
    if (!nbits->Takes(bits) || !absl::ConsumePrefix(&rest, absl::StrCat("int", bits, "-g"))) {
      continue;
    }
    int64_t block = 0;
    if (!absl::SimpleAtoi(rest, &block) || block < 16 || block > 256 || (block & (block - 1))) {
      return absl::InvalidArgumentError(
          absl::StrCat("precision '", name, "': block size must be a power of 2 in 16..256"));
    }
    return Precision{.name = name, .bits = bits, .block = block, .format = nbits};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown precision '", name,
                   "' (f32, f16, int8, int4-g32, int4-g64, int4-g128, int2-g16...)"));
}

absl::StatusOr<std::vector<Precision>> ParsePrecisions(const std::string& list) {
  std::vector<Precision> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    absl::StatusOr<Precision> p = ParsePrecision(std::string(absl::StripAsciiWhitespace(part)));
    if (!p.ok()) return p.status();
    out.push_back(*p);
  }
  if (out.empty()) return absl::InvalidArgumentError("no precisions given");
  return out;
}

uint64_t StoredBytes(const Precision& p, int64_t k, int64_t n, int scale_bytes) {
  const uint64_t elements = static_cast<uint64_t>(k) * static_cast<uint64_t>(n);
  if (!p.integer())
    return FixedFormatBytes(*FindQuantFormat(p.bits == 16 ? "f16" : "f32"), elements);
  return BlockwiseBytes(p.bits, p.block, k, n, scale_bytes, /*zero_points=*/false);
}

std::vector<double> ProxyErrors(absl::Span<const float> w, int64_t k, int64_t n,
                                const std::vector<Precision>& precisions) {
  double energy = 0;
  for (float v : w) energy += static_cast<double>(v) * v;
  std::vector<double> errors(precisions.size(), 0.0);
  if (energy == 0) return errors;
  std::vector<float> column_absmax;
  for (size_t p = 0; p < precisions.size(); ++p) {
    const Precision& q = precisions[p];
    if (!q.integer()) {
      errors[p] = q.bits == 16 ? kFloat16RelativeVariance : 0.0;
      continue;
    }
    // Blocks run along k for each output column j: w[i * n + j].
    double noise = 0;
    column_absmax.assign(static_cast<size_t>(n), 0.0f);
    for (int64_t start = 0; start < k; start += q.block) {
      const int64_t end = std::min(k, start + q.block);
      std::fill(column_absmax.begin(), column_absmax.end(), 0.0f);
      for (int64_t i = start; i < end; ++i) {
        const float* row = w.data() + i * n;
        for (int64_t j = 0; j < n; ++j) {
          column_absmax[j] = std::max(column_absmax[j], std::fabs(row[j]));
        }
      }
      for (int64_t j = 0; j < n; ++j) {
        const double scale = column_absmax[j] / MaxCode(q.bits);
        noise += static_cast<double>(end - start) * scale * scale / 12.0;
      }
    }
    errors[p] = noise / energy;
  }
  return errors;
}

}  // namespace pare::plan
