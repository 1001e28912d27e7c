// Device profiles, the KV cache found from attention, and static activation
// planning against the executor.

#include <gtest/gtest.h>

#include <fstream>

#include "analysis/activations.h"
#include "analysis/device.h"
#include "analysis/kv_cache.h"
#include "core/model_builder.h"
#include "core/test_util.h"
#include "runtime/session.h"

namespace pare::analysis_tests {

using analysis::ActivationEstimate;
using analysis::BudgetDevice;
using analysis::DetectKvCache;
using analysis::DeviceProfile;
using analysis::EstimatePeakActivations;
using analysis::FindDeviceProfile;
using analysis::KvCacheShape;
using analysis::ParseByteSize;

namespace {

using pare::testing::AttentionModel;

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

}  // namespace
}  // namespace pare::analysis_tests
