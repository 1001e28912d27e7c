// Artifacts: written, verified, and tampering caught.

#include "artifacts/artifact.h"

#include <gtest/gtest.h>

#include "core/float16.h"
#include "core/model_builder.h"
#include "core/onnx_io.h"
#include "core/test_util.h"
#include "quantize/float16_weights.h"

namespace pare::artifacts_tests {

using artifacts::ArtifactFile;
using artifacts::VerifyArtifact;
using artifacts::WriteArtifact;
using quantize::HalfWeights;
using quantize::StoreWeightsInHalf;

namespace {

using pare::testing::AttentionModel;

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

}  // namespace
}  // namespace pare::artifacts_tests
