// The Llama-decoder matcher, on models the project trains and exports as a
// user's exporter would (scripts/fetch_models.sh, scripts/models/): skipped
// when they are not there.

#include "analysis/llama_graph.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/onnx_io.h"
#include "core/test_util.h"

namespace pare::analysis_tests {

using analysis::LlamaGraph;
using analysis::MatchLlama;

namespace {

namespace fs = std::filesystem;

const fs::path kModels = PARE_MODELS_DIR;

absl::StatusOr<LlamaGraph> MatchFile(const fs::path& path) {
  absl::StatusOr<Model> model = LoadModel(path);
  if (!model.ok()) return model.status();
  return MatchLlama(*model);
}

// pare's trained byte-level LM (scripts/models/make_lm.sh small): 2 blocks,
// 128 wide, 4 query heads sharing 2 KV heads, SwiGLU 352, context 128.
TEST(LlamaGraph, MatchesTheTrainedLmAndReadsItsShape) {
  const fs::path path = kModels / "pare-lm-small" / "model.onnx";
  if (!fs::exists(path)) GTEST_SKIP() << path << " missing (scripts/models/make_lm.sh small)";
  // Kept alive: LlamaGraph points at its nodes.
  absl::StatusOr<Model> model = LoadModel(path);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<LlamaGraph> g = MatchLlama(*model);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->blocks.size(), 2u);
  EXPECT_EQ(g->dim, 128);
  EXPECT_EQ(g->heads, 4);
  EXPECT_EQ(g->kv_heads, 2);
  EXPECT_EQ(g->head_dim, 32);
  EXPECT_EQ(g->ffn, 352);
  EXPECT_EQ(g->context, 128);
  for (const analysis::LlamaBlock& b : g->blocks) {
    EXPECT_NE(b.q, nullptr);
    EXPECT_NE(b.down, nullptr);
    EXPECT_FALSE(b.attn_norm.empty());
  }
}

// The zoo's Hugging Face-style export of the same weights: cos/sin computed
// from inv_freq and position_ids, read by running that part of the graph.
TEST(LlamaGraph, ReadsAComputedRotaryTableOfAHuggingFaceStyleExport) {
  const fs::path path = kModels / "zoo" / "llama_trained" / "model.onnx";
  if (!fs::exists(path)) GTEST_SKIP() << path << " missing (scripts/models/make_zoo.sh)";
  absl::StatusOr<Model> model = LoadModel(path);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<LlamaGraph> g = MatchLlama(*model);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->blocks.size(), 2u);
  EXPECT_EQ(g->head_dim, 32);
  EXPECT_EQ(g->rotary_dims, 32);
  EXPECT_FLOAT_EQ(g->rope_base, 10000);
  EXPECT_TRUE(g->rotate_half);
}

// The zoo's Qwen2, Qwen3, Gemma and Phi-3 exports: the variant decides the
// llama.cpp architecture, with what tells it.
TEST(LlamaGraph, ChoosesTheArchitectureFromWhatTheGraphComputes) {
  struct Case {
    const char* model;
    const char* arch;
  };
  for (const Case& c : {Case{"qwen2", "qwen2"}, Case{"qwen3", "qwen3"}, Case{"gemma", "gemma"},
                        Case{"phi3", "phi3"}}) {
    const fs::path path = kModels / "zoo" / c.model / "model.onnx";
    if (!fs::exists(path)) GTEST_SKIP() << path << " missing (scripts/models/make_zoo.sh)";
    absl::StatusOr<Model> model = LoadModel(path);
    ASSERT_TRUE(model.ok()) << model.status();
    absl::StatusOr<LlamaGraph> g = MatchLlama(*model);
    ASSERT_TRUE(g.ok()) << c.model << ": " << g.status();
    EXPECT_EQ(g->arch, c.arch);
    const analysis::LlamaBlock& b = g->blocks[0];
    EXPECT_EQ(!b.q_bias.empty() && !b.v_bias.empty(), g->arch == "qwen2") << c.model;
    EXPECT_EQ(b.fused_qkv && b.fused_gate_up, g->arch == "phi3") << c.model;
    EXPECT_EQ(g->tied_head, g->arch == "gemma") << c.model;
    EXPECT_EQ(!b.q_norm.empty() && !b.k_norm.empty(), g->arch == "qwen3") << c.model;
    if (g->arch == "gemma") {
      EXPECT_FLOAT_EQ(g->embedding_scale, 8);  // sqrt(64)
      EXPECT_EQ(g->activation, analysis::Activation::kGeluTanh);
      EXPECT_FLOAT_EQ(g->rms_eps, 1e-6f);  // not GELU's 1 + tanh
    }
    if (g->arch == "qwen2") EXPECT_FLOAT_EQ(g->rope_base, 1000000);
  }
}

// A GPT-2-style decoder (LayerNorm, no RoPE) is refused naming the part.
TEST(LlamaGraph, RefusesAGpt2StyleDecoderNamingThePart) {
  const fs::path path = kModels / "zoo" / "gpt2" / "model.onnx";
  if (!fs::exists(path)) GTEST_SKIP() << path << " missing (scripts/models/make_zoo.sh)";
  const absl::Status s = MatchFile(path).status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("block 0: the input is not an RMSNorm"), std::string::npos) << s;
}

TEST(LlamaGraph, RefusesAnAttentionLayerWithoutEmbedding) {
  const absl::Status s = MatchLlama(pare::testing::AttentionModel()).status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a Llama-family decoder"), std::string::npos) << s;
}

}  // namespace
}  // namespace pare::analysis_tests
