#include "core/tensor_spill.h"

#include <gtest/gtest.h>

#include "core/test_util.h"

namespace pare {
namespace {

TEST(TensorSpill, GivesBackTheTensorsAndLeavesNoFile) {
  testing::TempDir dir;
  auto spill = TensorSpill::Create(dir.path());
  ASSERT_TRUE(spill.ok()) << spill.status();
  ASSERT_TRUE((*spill)->Add(Tensor::FromVector<float>("a", {2, 2}, {1, 2, 3, 4})).ok());
  ASSERT_TRUE((*spill)->Add(Tensor::FromVector<uint8_t>("b", {3}, {7, 8, 9})).ok());
  ASSERT_TRUE((*spill)->Add(Tensor::FromVector<int32_t>("c", {0}, {})).ok());
  auto tensors = (*spill)->Finish();
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 3u);
  EXPECT_EQ((*tensors)[0].name(), "a");
  EXPECT_EQ((*tensors)[0].ToFloat32().value(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ((*tensors)[1].dtype(), DataType::kUint8);
  EXPECT_EQ((*tensors)[1].bytes()[2], 9);
  EXPECT_EQ((*tensors)[2].element_count(), 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*tensors)[1].bytes().data()) % 64, 0u);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // unlinked, still mapped
  EXPECT_FALSE((*spill)->Add(Tensor::FromVector<float>("d", {1}, {1})).ok());
}

TEST(TensorSpill, AnUnfinishedSpillRemovesItsFile) {
  testing::TempDir dir;
  {
    auto spill = TensorSpill::Create(dir.path());
    ASSERT_TRUE(spill.ok());
    ASSERT_TRUE((*spill)->Add(Tensor::FromVector<float>("a", {1}, {1})).ok());
    EXPECT_FALSE(std::filesystem::is_empty(dir.path()));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  EXPECT_FALSE(TensorSpill::Create(dir.path() / "missing").ok());
}

}  // namespace
}  // namespace pare
