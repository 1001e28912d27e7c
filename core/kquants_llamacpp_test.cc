// pare's GGUF block encoders (K-quants and the legacy 32-value blocks)
// against llama.cpp's own reference quantizer, byte
// for byte: the libggml-base that node-llama-cpp ships (scripts/gguf/fetch.sh)
// is opened at run time. Skipped when it is not installed.

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/kquants.h"
#include "core/quant_format.h"

namespace pare {
namespace {

namespace fs = std::filesystem;

using QuantizeRow = void (*)(const float* x, void* y, int64_t k);
using DequantizeRow = void (*)(const void* x, float* y, int64_t k);

// The first libggml-base under the cache's node-llama-cpp platform folders.
// Opened once and never closed: ggml does not survive being unloaded and
// loaded again in one process.
void* FindAndOpenGgml() {
  const fs::path root = fs::path(PARE_CACHE_DIR) / "llama" / "node_modules" / "@node-llama-cpp";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return nullptr;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == "libggml-base.so" || name == "libggml-base.dylib") {
      if (void* lib = dlopen(entry.path().c_str(), RTLD_NOW | RTLD_LOCAL)) return lib;
    }
  }
  return nullptr;
}

void* OpenGgml() {
  static void* lib = FindAndOpenGgml();
  return lib;
}

// Values that exercise every branch: smooth, heavy-tailed, all-positive
// and all-negative sub-blocks, a zero sub-block, tiny magnitudes, ties.
std::vector<float> Inputs(int super_blocks) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(super_blocks) * kquants::kSuperBlock);
  for (size_t i = 0; i < x.size(); ++i) {
    const int kind = static_cast<int>(i / kquants::kSuperBlock) % 6;
    float v = normal(rng);
    if (kind == 1) v = v * v * v * 0.05f;                     // heavy tails
    if (kind == 2) v = std::fabs(v) + 0.5f;                   // all positive
    if (kind == 3) v = -std::fabs(v) - 0.1f;                  // all negative
    if (kind == 4 && (i % kquants::kSuperBlock) < 32) v = 0;  // one zero sub-block
    if (kind == 5) v = std::round(v * 4) / 4 * 1e-3f;         // ties, small
    x[i] = v;
  }
  return x;
}

class KQuantsAgainstLlamaCpp : public ::testing::TestWithParam<const char*> {};

TEST_P(KQuantsAgainstLlamaCpp, BytesAreLlamaCppsAndDecodeAlike) {
  void* lib = OpenGgml();
  if (lib == nullptr)
    GTEST_SKIP() << "node-llama-cpp's libggml-base not found (scripts/gguf/fetch.sh)";
  const std::string name = GetParam();  // "q4_k", "q5_0"
  const std::string ggml_name = name.substr(0, 2) + (name[3] == 'k' ? "_K" : name.substr(2));
  auto quantize =
      reinterpret_cast<QuantizeRow>(dlsym(lib, ("quantize_row_" + ggml_name + "_ref").c_str()));
  auto dequantize =
      reinterpret_cast<DequantizeRow>(dlsym(lib, ("dequantize_row_" + ggml_name).c_str()));
  ASSERT_NE(quantize, nullptr) << ggml_name;
  ASSERT_NE(dequantize, nullptr) << ggml_name;
  const QuantFormat& f = *FindQuantFormat(name);
  const int blocks = static_cast<int>(60 * kquants::kSuperBlock / f.block);
  const std::vector<float> x = Inputs(60);
  std::vector<uint8_t> theirs(static_cast<size_t>(blocks) * f.bytes_per_block);
  std::vector<uint8_t> ours(theirs.size());
  quantize(x.data(), theirs.data(), static_cast<int64_t>(x.size()));
  for (int b = 0; b < blocks; ++b) {
    f.pack(x.data() + b * f.block, ours.data() + b * f.bytes_per_block);
  }
  int differing = 0;
  for (int b = 0; b < blocks; ++b) {
    differing += std::memcmp(ours.data() + b * f.bytes_per_block,
                             theirs.data() + b * f.bytes_per_block, f.bytes_per_block) != 0;
  }
  EXPECT_EQ(differing, 0) << name << ": super-blocks whose bytes differ from llama.cpp's";
  std::vector<float> ours_back(x.size()), theirs_back(x.size());
  dequantize(ours.data(), theirs_back.data(), static_cast<int64_t>(x.size()));
  for (int b = 0; b < blocks; ++b) {
    f.unpack(ours.data() + b * f.bytes_per_block, ours_back.data() + b * f.block);
  }
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(ours_back[i], theirs_back[i]) << name << " element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(KQuants, KQuantsAgainstLlamaCpp,
                         ::testing::Values("q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q4_0", "q4_1",
                                           "q5_0", "q5_1", "q8_0"));

}  // namespace
}  // namespace pare
