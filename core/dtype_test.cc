#include "core/dtype.h"

#include <gtest/gtest.h>

namespace pare {
namespace {

TEST(DataType, TableCoversOnnxIdsOneToTwentyTwo) {
  for (int id = 1; id <= 22; ++id) {
    const DataTypeInfo* info = FindDataType(id);
    ASSERT_NE(info, nullptr) << id;
    EXPECT_EQ(static_cast<int>(info->type), id);
  }
  EXPECT_EQ(FindDataType(0), nullptr);
  EXPECT_EQ(FindDataType(23), nullptr);
  EXPECT_EQ(FindDataType(-1), nullptr);
}

TEST(DataType, StorageBytesPacksFourBitTypes) {
  EXPECT_EQ(StorageBytes(DataType::kInt4, 7).value(), 4u);
  EXPECT_EQ(StorageBytes(DataType::kUint4, 8).value(), 4u);
  EXPECT_EQ(StorageBytes(DataType::kFloat16, 3).value(), 6u);
  EXPECT_EQ(StorageBytes(DataType::kComplex128, 2).value(), 32u);
}

TEST(DataType, StorageBytesRejectsOverflowAndStrings) {
  EXPECT_FALSE(StorageBytes(DataType::kFloat32, uint64_t{1} << 62).ok());
  EXPECT_FALSE(StorageBytes(DataType::kString, 1).ok());
}

}  // namespace
}  // namespace pare
