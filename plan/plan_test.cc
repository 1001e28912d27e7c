#include <gtest/gtest.h>

#include <fstream>

#include "analysis/activations.h"
#include "analysis/device.h"
#include "analysis/kv_cache.h"
#include "analysis/llama_graph.h"
#include "analysis/memory_account.h"
#include "artifacts/artifact.h"
#include "artifacts/gguf.h"
#include "artifacts/gguf_vocab.h"
#include "core/float16.h"
#include "core/model_builder.h"
#include "core/onnx_io.h"
#include "core/test_util.h"
#include "plan/planner.h"
#include "plan/precision.h"
#include "plan/sweep.h"
#include "quantize/float16_weights.h"
#include "runtime/session.h"

namespace pare::plan {

using analysis::AccountMemory;
using analysis::AccountOptions;
using analysis::AccountToText;
using analysis::ActivationEstimate;
using analysis::BudgetDevice;
using analysis::DetectKvCache;
using analysis::DeviceProfile;
using analysis::EstimatePeakActivations;
using analysis::FindDeviceProfile;
using analysis::KvCacheShape;
using analysis::MatchLlama;
using analysis::MemoryAccount;
using analysis::ParseByteSize;
using artifacts::ArtifactFile;
using artifacts::ByteVocabulary;
using artifacts::EncodeRows;
using artifacts::GgmlType;
using artifacts::GgmlTypeName;
using artifacts::GgufFile;
using artifacts::GgufSummary;
using artifacts::PlaceholderVocabulary;
using artifacts::ReadGgufSummary;
using artifacts::ReadHuggingFaceTokenizer;
using artifacts::VerifyArtifact;
using artifacts::Vocabulary;
using artifacts::WriteArtifact;
using artifacts::WriteGguf;
using quantize::HalfWeights;
using quantize::StoreWeightsInHalf;

namespace {

// One attention layer over x [1, S, 16]: keys 16 wide, values 8 wide.
Model AttentionModel() {
  ModelBuilder b("attention");
  b.Input("x", DataType::kFloat32, {1, -1, 16});
  b.Output("y", DataType::kFloat32, {1, -1, 16});
  b.Initializer(RandomTensor("wq", {16, 16}, 1));
  b.Initializer(RandomTensor("wk", {16, 16}, 2));
  b.Initializer(RandomTensor("wv", {16, 8}, 3));
  b.Initializer(RandomTensor("wo", {8, 16}, 4));
  b.Initializer(Tensor::FromVector<float>("scale", {}, {0.25f}));
  b.AddNode("MatMul", {"x", "wq"}, {"q"});
  b.AddNode("MatMul", {"x", "wk"}, {"k"});
  b.AddNode("MatMul", {"x", "wv"}, {"v"});
  b.AddNode("Transpose", {"k"}, {"kt"}).attributes.push_back(IntsAttr("perm", {0, 2, 1}));
  b.AddNode("MatMul", {"q", "kt"}, {"scores"});
  b.AddNode("Mul", {"scores", "scale"}, {"scaled"});
  b.AddNode("Softmax", {"scaled"}, {"probs"}).attributes.push_back(IntAttr("axis", -1));
  b.AddNode("MatMul", {"probs", "v"}, {"ctx"});
  b.AddNode("MatMul", {"ctx", "wo"}, {"y"});
  return std::move(b).Build();
}

TEST(Device, BuiltinProfilesAndBudgets) {
  absl::StatusOr<DeviceProfile> d = FindDeviceProfile("m4-24gb");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->ram_bytes, uint64_t{24} << 30);
  EXPECT_NEAR(static_cast<double>(d->usable_bytes()), 16.0 * (1 << 30), 1.0);
  EXPECT_EQ(FindDeviceProfile("m4-pro-48gb")->usable_bytes(), uint64_t{36} << 30);
  const absl::Status unknown = FindDeviceProfile("pixel").status();
  EXPECT_NE(unknown.message().find("m4-24gb"), std::string::npos) << unknown;
  EXPECT_EQ(*ParseByteSize("8GB"), 8000000000u);
  EXPECT_EQ(*ParseByteSize("1.5GiB"), uint64_t{3} << 29);
  EXPECT_EQ(*ParseByteSize("512 MiB"), uint64_t{512} << 20);
  EXPECT_FALSE(ParseByteSize("8 parsecs").ok());
  EXPECT_FALSE(ParseByteSize("GB").ok());
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("18446744073709551616B").ok());
  EXPECT_FALSE(ParseByteSize("1e30").ok());
  EXPECT_EQ(*ParseByteSize("18446744073709549568"), 18446744073709549568u);
}

TEST(Device, ProfilesFromAFileOverrideBuiltins) {
  testing::TempDir dir;
  std::ofstream(dir / "d.json") << R"([{"name": "m4-24gb", "ram": "24GiB",
      "usable_fraction": 0.75, "bandwidth_gbps": 120}, {"name": "pi", "ram": "8GB"}])";
  EXPECT_EQ(FindDeviceProfile("m4-24gb", dir / "d.json")->usable_bytes(), uint64_t{18} << 30);
  EXPECT_EQ(FindDeviceProfile("pi", dir / "d.json")->ram_bytes, 8000000000u);
  std::ofstream(dir / "bad.json") << R"([{"name": "x", "ram": "8GB", "colour": "red"}])";
  const absl::Status bad = FindDeviceProfile("x", dir / "bad.json").status();
  EXPECT_NE(bad.message().find("colour"), std::string::npos) << bad;
}

TEST(KvCache, FoundFromTheAttentionStructure) {
  const std::optional<KvCacheShape> kv = DetectKvCache(AttentionModel());
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->layers, 1);
  EXPECT_EQ(kv->key_elements, 16);
  EXPECT_EQ(kv->value_elements, 8);
  EXPECT_EQ(kv->bytes_per_token(2.0), 48u);
  EXPECT_EQ(kv->score_values, (std::vector<std::string>{"scores", "scaled", "probs"}));
}

TEST(KvCache, NoneInAPlainMlp) {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {1, 4});
  b.Output("y", DataType::kFloat32, {1, 4});
  b.Initializer(RandomTensor("w", {4, 4}, 1));
  b.AddNode("MatMul", {"x", "w"}, {"y"});
  EXPECT_FALSE(DetectKvCache(std::move(b).Build()).has_value());
}

// The static plan agrees with what pare's executor measures when it runs.
TEST(Activations, StaticPeakMatchesTheExecutor) {
  const Model model = AttentionModel();
  auto session = runtime::Session::Create(model, {.threads = 1, .fuse = false});
  ASSERT_TRUE(session.ok()) << session.status();
  const Tensor x = RandomTensor("x", {1, 7, 16}, 9);
  ASSERT_TRUE((*session)->Run({x}).ok());
  const uint64_t measured = (*session)->last_run_stats().peak_activation_bytes;
  absl::StatusOr<ActivationEstimate> e =
      EstimatePeakActivations(model, {.batch = 1, .tokens = 7, .context = 7}, {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->unknown_values, 0);
  EXPECT_NEAR(static_cast<double>(e->peak_bytes), static_cast<double>(measured),
              0.25 * static_cast<double>(measured));
  // With a cache of 70 tokens the scores span 10x the keys.
  absl::StatusOr<ActivationEstimate> cached = EstimatePeakActivations(
      model, {.batch = 1, .tokens = 7, .context = 70}, {"scores", "scaled", "probs"});
  ASSERT_TRUE(cached.ok());
  EXPECT_GT(cached->peak_bytes, e->peak_bytes + 7 * 63 * 4);
}

TEST(MemoryAccount, AddsUpAndGivesAVerdict) {
  const Model model = AttentionModel();
  AccountOptions o{.context = 1000, .prefill = 10};
  absl::StatusOr<MemoryAccount> a = AccountMemory(model, BudgetDevice(100000), o);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->weight_bytes, (16 * 16 * 2 + 16 * 8 + 8 * 16 + 1) * 4u);
  EXPECT_EQ(a->kv_bytes, 1000u * 24 * 2);
  EXPECT_EQ(a->total_bytes, a->weight_bytes + a->kv_bytes + a->activations.peak_bytes);
  EXPECT_EQ(a->fits, a->total_bytes <= 100000);
  a = AccountMemory(model, BudgetDevice(1000), o);
  EXPECT_FALSE(a->fits);
  EXPECT_LT(a->headroom_bytes, 0);
  EXPECT_NE(AccountToText(*a).find("does NOT fit"), std::string::npos);
}

TEST(Artifact, WritesVerifiesAndCatchesTampering) {
  testing::TempDir dir;
  Model model = AttentionModel();
  absl::StatusOr<HalfWeights> half = StoreWeightsInHalf(model, DataType::kFloat16);
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->converted, 0);  // every weight is below 1024 elements
  const auto out = dir / "artifact";
  absl::StatusOr<std::vector<ArtifactFile>> files =
      WriteArtifact(model, out, {{"recipe", "test"}}, /*replace=*/false);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_TRUE(VerifyArtifact(out).ok()) << VerifyArtifact(out).status();
  EXPECT_FALSE(WriteArtifact(model, out, {}, /*replace=*/false).ok());  // never clobbered
  {
    std::fstream f(out / "model.onnx", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(20);
    char c = 0;
    f.read(&c, 1);
    f.seekp(20);
    c ^= 1;
    f.write(&c, 1);
  }
  const absl::Status tampered = VerifyArtifact(out).status();
  EXPECT_EQ(tampered.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(tampered.message().find("SHA-256 mismatch"), std::string::npos) << tampered;
}

TEST(HalfWeights, BulkWeightsGoHalfAndTheModelStillRuns) {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {2, 64});
  b.Output("y", DataType::kFloat32, {2, 64});
  b.Initializer(RandomTensor("w", {64, 64}, 1));
  b.Initializer(RandomTensor("gamma", {64}, 2));
  b.AddNode("MatMul", {"x", "w"}, {"h"});
  b.AddNode("Mul", {"h", "gamma"}, {"y"});
  Model model = std::move(b).Build();
  absl::StatusOr<HalfWeights> half = StoreWeightsInHalf(model, DataType::kFloat16);
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->converted, 1);
  EXPECT_EQ(half->bytes_after * 2, half->bytes_before);
  auto session = runtime::Session::Create(model);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*session)->Run({RandomTensor("x", {2, 64}, 3)}).ok());
}

}  // namespace
}  // namespace pare::plan

namespace pare::plan {
namespace {

TEST(Precision, BytesAndParsing) {
  EXPECT_EQ(StoredBytes(*ParsePrecision("f16"), 64, 32), 64u * 32 * 2);
  // 4-bit, block 32: 64 x 32 codes in half a byte each, 2 blocks x 32 columns of 4-byte scales.
  EXPECT_EQ(StoredBytes(*ParsePrecision("int4-g32"), 64, 32), 64u * 32 / 2 + 2 * 32 * 4);
  EXPECT_FALSE(ParsePrecision("int4-g48").ok());
  EXPECT_FALSE(ParsePrecision("int3").ok());
  // Coarser blocks and fewer bits cost more error on the same weight.
  const Tensor w = RandomTensor("w", {256, 16}, 5);
  const std::vector<float> v = *w.ToFloat32();
  const std::vector<double> e =
      ProxyErrors(v, 256, 16, *ParsePrecisions("f16,int8,int4-g32,int4-g128"));
  EXPECT_LT(e[0], e[1]);
  EXPECT_LT(e[1], e[2]);
  EXPECT_LT(e[2], e[3]);
}

PlanLayer Layer(std::vector<uint64_t> bytes, std::vector<double> loss) {
  return PlanLayer{.bytes = std::move(bytes), .loss = std::move(loss)};
}

TEST(Planner, SpendsBytesWhereTheyBuyTheMostAccuracy) {
  // Two options per layer: big (loss 0) and small. Layer 0 loses much when
  // small, layer 1 little: with room for one big layer, layer 0 gets it.
  const std::vector<PlanLayer> layers = {Layer({100, 30}, {0, 5.0}), Layer({100, 30}, {0, 0.1}),
                                         Layer({100, 30}, {0, 1.0})};
  absl::StatusOr<Plan> p = SolvePlan(layers, 160);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->choice, (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(p->bytes, 160u);
  EXPECT_DOUBLE_EQ(p->predicted_loss, 1.1);
  p = SolvePlan(layers, 230);
  EXPECT_EQ(p->choice, (std::vector<int>{0, 1, 0}));
  EXPECT_EQ(SolvePlan(layers, 90)->choice, (std::vector<int>{1, 1, 1}));  // exactly the smallest
  EXPECT_EQ(SolvePlan(layers, 89).status().code(), absl::StatusCode::kResourceExhausted);
  // The smallest plan within a loss of 1.5: only layer 0 stays big.
  EXPECT_EQ(SmallestPlanWithin(layers, 300, 1.5)->choice, (std::vector<int>{0, 1, 1}));
}

TEST(Sweep, RecipesParse) {
  EXPECT_EQ(ParseRecipe("int4-g32")->candidates.size(), 1u);
  const Recipe sparse = *ParseRecipe("2:4+int8");
  EXPECT_EQ(sparse.prune_pattern, "2:4");
  EXPECT_EQ(sparse.candidates[0].bits, 8);
  const Recipe fit = *ParseRecipe("fit@2.5MB");
  EXPECT_EQ(*fit.weight_budget, 2500000u);
  EXPECT_GT(fit.candidates.size(), 1u);
  EXPECT_FALSE(ParseRecipe("int5").ok());
  EXPECT_FALSE(ParseRecipe("fit@lots").ok());
  EXPECT_FALSE(ParseRecipe("magic+int8").ok());
}

TEST(Sweep, ReportMarksTheParetoFrontier) {
  const std::vector<nlohmann::json> results = {
      {{"recipe", "big"}, {"weight_bytes", 300}, {"loss", 0.001}, {"loss_name", "mean KL"}},
      {{"recipe", "dominated"}, {"weight_bytes", 250}, {"loss", 0.01}},
      {{"recipe", "small"}, {"weight_bytes", 100}, {"loss", 0.005}}};
  const std::string md = SweepMarkdown(results);
  EXPECT_NE(md.find("| big | 300 B |"), std::string::npos) << md;
  EXPECT_NE(md.find("| dominated | 250 B |  | 0.01 |  |  | 0 B | no |  |"), std::string::npos)
      << md;
  const std::string html = SweepHtml(results);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_NE(html.find("<title>dominated</title>"), std::string::npos);
}

}  // namespace
}  // namespace pare::plan

namespace pare::plan {
namespace {

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

}  // namespace
}  // namespace pare::plan

namespace pare::plan {
namespace {

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

}  // namespace
}  // namespace pare::plan
