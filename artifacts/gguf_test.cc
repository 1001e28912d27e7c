// The GGUF writer and reader, and GGUF vocabularies.

#include "artifacts/gguf.h"

#include <gtest/gtest.h>

#include <fstream>

#include "analysis/llama_graph.h"
#include "artifacts/gguf_llama.h"
#include "artifacts/gguf_vocab.h"
#include "core/float16.h"
#include "core/model_builder.h"
#include "core/onnx_io.h"
#include "core/test_util.h"

namespace pare::artifacts_tests {

using analysis::MatchLlama;
using artifacts::ByteVocabulary;
using artifacts::EncodeRows;
using artifacts::GgmlType;
using artifacts::GgmlTypeName;
using artifacts::GgufFile;
using artifacts::GgufSummary;
using artifacts::PlaceholderVocabulary;
using artifacts::ReadGgufSummary;
using artifacts::ReadHuggingFaceTokenizer;
using artifacts::Vocabulary;
using artifacts::WriteGguf;

namespace {

using pare::testing::AttentionModel;

TEST(Gguf, WritesWhatItReadsBack) {
  testing::TempDir dir;
  GgufFile f;
  f.Add("general.architecture", std::string("llama"));
  f.Add("llama.block_count", uint32_t{2});
  f.Add("tokenizer.ggml.tokens", std::vector<std::string>{"a", "b"});
  std::vector<float> values(64);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) - 20.0f;
  for (GgmlType t : {GgmlType::kF32, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    f.tensors.push_back({.name = GgmlTypeName(t),
                         .type = t,
                         .dims = {32, 2},
                         .fill = [t, values](std::vector<uint8_t>& out) {
                           EncodeRows(t, values.data(), values.size(), out);
                           return absl::OkStatus();
                         }});
  }
  ASSERT_TRUE(WriteGguf(f, dir / "m.gguf").ok());
  absl::StatusOr<GgufSummary> g = ReadGgufSummary(dir / "m.gguf");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->version, 3u);
  ASSERT_EQ(g->metadata.size(), 4u);  // general.alignment comes first
  EXPECT_EQ(g->metadata[0], (std::pair<std::string, std::string>{"general.alignment", "32"}));
  EXPECT_EQ(g->metadata[2].second, "2");
  ASSERT_EQ(g->tensors.size(), 3u);
  EXPECT_EQ(g->tensors[1].type, GgmlType::kQ8_0);
  EXPECT_EQ(g->tensors[1].offset, 256u);        // 64 float32, aligned
  EXPECT_EQ(g->tensors[2].offset, 256u + 96u);  // 2 blocks of 34 bytes, padded to 32
  EXPECT_EQ(std::filesystem::file_size(dir / "m.gguf"), g->data_offset + 256 + 96 + 64);
}

TEST(Gguf, Q4BlocksFollowLlamaCppsLayout) {
  // One block: the extreme value -16 gives scale 2; element j sits in the low
  // nibble of byte j and element j + 16 in its high nibble, offset by 8.
  std::vector<float> x(32, 0.0f);
  x[0] = -16.0f;
  x[16] = 6.0f;
  x[1] = 2.0f;
  std::vector<uint8_t> out;
  EncodeRows(GgmlType::kQ4_0, x.data(), x.size(), out);
  ASSERT_EQ(out.size(), 18u);
  EXPECT_EQ(Float16ToFloat32(static_cast<uint16_t>(out[0] | out[1] << 8)), 2.0f);
  EXPECT_EQ(out[2], 0 | (11 << 4));  // -16 / 2 + 8 = 0; 6 / 2 + 8 = 11
  EXPECT_EQ(out[3], 9 | (8 << 4));   // 2 / 2 + 8 = 9; 0 + 8
}

TEST(Gguf, ANonLlamaGraphIsRefusedWithTheReason) {
  const absl::Status s = MatchLlama(AttentionModel()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("not a Llama-family decoder: no token embedding"), std::string::npos)
      << s;
}

TEST(GgufVocab, ReadsAHuggingFaceBpeTokenizer) {
  testing::TempDir dir;
  std::ofstream(dir / "tokenizer.json") << R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
              "merges": ["a b"]},
    "added_tokens": [{"id": 3, "content": "<|begin_of_text|>", "special": true}]})";
  absl::StatusOr<Vocabulary> v = ReadHuggingFaceTokenizer(dir / "tokenizer.json", 6);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->model, "gpt2");
  EXPECT_EQ(v->tokens, (std::vector<std::string>{"a", "b", "ab", "<|begin_of_text|>", "<unused_4>",
                                                 "<unused_5>"}));
  EXPECT_EQ(v->types, (std::vector<int32_t>{1, 1, 1, 3, 3, 3}));
  EXPECT_EQ(v->merges, (std::vector<std::string>{"a b"}));
  EXPECT_EQ(v->bos, 3u);
  // More tokens than the model has rows is an error naming the file.
  const absl::Status big = ReadHuggingFaceTokenizer(dir / "tokenizer.json", 2).status();
  EXPECT_NE(big.message().find("tokenizer.json"), std::string::npos) << big;
  EXPECT_EQ(PlaceholderVocabulary(300).tokens[299], "<unused_299>");
  EXPECT_EQ(ByteVocabulary().tokens[65], "<0x41>");
}

TEST(Gguf, FileTypesNameATypeAndAMix) {
  artifacts::GgufExportOptions o;
  ASSERT_TRUE(artifacts::ParseGgufFileType("q4_k_m", o).ok());
  EXPECT_EQ(o.type, GgmlType::kQ4_K);
  EXPECT_TRUE(o.medium_mix);
  ASSERT_TRUE(artifacts::ParseGgufFileType("q6_k", o).ok());
  EXPECT_EQ(o.type, GgmlType::kQ6_K);
  EXPECT_FALSE(o.medium_mix);
  const absl::Status bad = artifacts::ParseGgufFileType("q8_k_m", o);
  EXPECT_NE(bad.message().find("unknown GGUF type 'q8_k_m'"), std::string::npos) << bad;
  EXPECT_EQ(GgmlTypeName(GgmlType::kQ5_K), "Q5_K");
}

// K-quants need rows of whole 256-value super-blocks; narrower rows fall
// back as llama.cpp's do, or to F16.
TEST(Gguf, RowsThatDoNotSplitIntoBlocksFallBack) {
  using artifacts::TypeForWidth;
  EXPECT_EQ(TypeForWidth(GgmlType::kQ4_K, 512), GgmlType::kQ4_K);
  EXPECT_EQ(TypeForWidth(GgmlType::kQ4_K, 128), GgmlType::kQ5_0);
  EXPECT_EQ(TypeForWidth(GgmlType::kQ5_K, 128), GgmlType::kQ5_1);
  EXPECT_EQ(TypeForWidth(GgmlType::kQ3_K, 128), GgmlType::kQ4_0);
  EXPECT_EQ(TypeForWidth(GgmlType::kQ6_K, 100), GgmlType::kF16);
  EXPECT_EQ(TypeForWidth(GgmlType::kQ4_0, 96), GgmlType::kQ4_0);
  EXPECT_EQ(TypeForWidth(GgmlType::kQ4_0, 100), GgmlType::kF16);
}

}  // namespace
}  // namespace pare::artifacts_tests
