// GPTQ into GGUF blocks: the bytes are the format's, and on inputs whose
// features are correlated the layer's output moves less than with the
// format's own round to nearest; weighted grid search is never worse than
// the reference codec on its own measure.

#include "quantize/grid_gptq.h"

#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

#include "core/quant_format.h"
#include "data/hessian.h"

namespace pare::quantize {
namespace {

// Calibration rows [rows, k] with strongly correlated features (a few
// latent factors), as a real layer's inputs are.
std::vector<float> CorrelatedInputs(int64_t rows, int64_t k, std::mt19937& rng) {
  std::normal_distribution<float> n(0, 1);
  std::vector<float> latent(static_cast<size_t>(k * 4));
  for (float& v : latent) v = n(rng);
  std::vector<float> x(static_cast<size_t>(rows * k));
  for (int64_t r = 0; r < rows; ++r) {
    float f[4] = {n(rng), n(rng), n(rng), n(rng)};
    for (int64_t j = 0; j < k; ++j) {
      float v = 0.1f * n(rng);
      for (int l = 0; l < 4; ++l) v += f[l] * latent[j * 4 + l];
      x[r * k + j] = v;
    }
  }
  return x;
}

// The squared change of X W^T over the calibration rows.
double OutputError(const std::vector<float>& x, const std::vector<float>& w,
                   const std::vector<float>& q, int64_t rows, int64_t out, int64_t k) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double diff = 0;
      for (int64_t j = 0; j < k; ++j) diff += x[r * k + j] * (w[o * k + j] - q[o * k + j]);
      total += diff * diff;
    }
  }
  return total;
}

std::vector<float> Decode(const QuantFormat& f, const std::vector<uint8_t>& bytes, int64_t count) {
  std::vector<float> v(static_cast<size_t>(count));
  for (int64_t b = 0; b < count / f.block; ++b) {
    f.unpack(bytes.data() + b * f.bytes_per_block, v.data() + b * f.block);
  }
  return v;
}

TEST(GridGptq, MovesTheOutputLessThanRoundToNearestInEveryBlockFormat) {
  std::mt19937 rng(7);
  const int64_t rows = 512, k = 256, out = 16;
  const std::vector<float> x = CorrelatedInputs(rows, k, rng);
  data::HessianAccumulator h(k);
  h.Add(x.data(), rows);
  std::normal_distribution<float> n(0, 0.05f);
  std::vector<float> w(static_cast<size_t>(out * k));
  for (float& v : w) v = n(rng);
  for (const char* name : {"q4_0", "q4_1", "q5_0", "q8_0", "q2_k", "q3_k", "q4_k", "q6_k"}) {
    const QuantFormat& f = *FindQuantFormat(name);
    absl::StatusOr<std::vector<uint8_t>> gptq = QuantizeGptqIntoBlocks(w.data(), out, k, h, f);
    ASSERT_TRUE(gptq.ok()) << name << ": " << gptq.status();
    ASSERT_EQ(gptq->size(), out * k / f.block * f.bytes_per_block) << name;
    std::vector<uint8_t> rtn(gptq->size());
    for (int64_t b = 0; b < out * k / f.block; ++b) {
      f.pack(w.data() + b * f.block, rtn.data() + b * f.bytes_per_block);
    }
    const double e_gptq = OutputError(x, w, Decode(f, *gptq, out * k), rows, out, k);
    const double e_rtn = OutputError(x, w, Decode(f, rtn, out * k), rows, out, k);
    EXPECT_LT(e_gptq, 0.8 * e_rtn) << name << ": GPTQ " << e_gptq << ", round to nearest " << e_rtn;
  }
}

TEST(GridGptq, RefusesWidthsThatAreNotWholeBlocks) {
  data::HessianAccumulator h(48);
  std::vector<float> w(48, 0.1f);
  const absl::Status s =
      QuantizeGptqIntoBlocks(w.data(), 1, 48, h, *FindQuantFormat("q4_k")).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("q4_k"), std::string::npos) << s;
}

// One block packed with weights `w` and by the reference codec: the
// weighted squared error of each.
std::pair<double, double> WeightedErrors(const QuantFormat& f, const std::vector<float>& x,
                                         const std::vector<float>& w) {
  std::vector<float> a(x.size()), b(x.size());
  std::vector<uint8_t> p(f.bytes_per_block), q(f.bytes_per_block);
  f.pack_weighted(x.data(), w.data(), p.data());
  f.pack(x.data(), q.data());
  f.unpack(p.data(), a.data());
  f.unpack(q.data(), b.data());
  double weighted = 0, reference = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    weighted += w[i] * (x[i] - a[i]) * (x[i] - a[i]);
    reference += w[i] * (x[i] - b[i]) * (x[i] - b[i]);
  }
  return {weighted, reference};
}

TEST(GridGptq, WeightedSearchIsNeverWorseThanTheReferenceCodec) {
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0, 1);
  std::uniform_real_distribution<float> u(0.1f, 4.0f);
  for (const char* name : {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0"}) {
    const QuantFormat& f = *FindQuantFormat(name);
    double searched = 0, reference = 0;
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<float> x(32), w(32);
      for (int i = 0; i < 32; ++i) x[i] = n(rng), w[i] = u(rng);
      const auto [es, er] = WeightedErrors(f, x, w);
      EXPECT_LE(es, er * (1 + 1e-4) + 1e-9) << name << " trial " << trial;
      searched += es, reference += er;
    }
    EXPECT_LT(searched, 0.95 * reference) << name;
  }
}

// Q4_K and Q5_K weighted as llama.cpp does with an imatrix: on values
// whose importance varies, less weighted error than their unweighted fit.
TEST(GridGptq, ImportanceWeightedKQuantsLowerTheWeightedError) {
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0, 1);
  std::lognormal_distribution<float> spread(0, 1.5f);
  for (const char* name : {"q4_k", "q5_k"}) {
    const QuantFormat& f = *FindQuantFormat(name);
    ASSERT_NE(f.pack_weighted, nullptr) << name;
    double weighted = 0, plain = 0;
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<float> x(256), w(256);
      for (int i = 0; i < 256; ++i) x[i] = n(rng), w[i] = spread(rng);
      const auto [ew, ep] = WeightedErrors(f, x, w);
      weighted += ew, plain += ep;
    }
    EXPECT_LT(weighted, 0.95 * plain) << name;
  }
}

}  // namespace
}  // namespace pare::quantize
