#include "core/dtype.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"

namespace pare {
namespace {

using enum DataType;
using enum ProtoField;

constexpr std::array<DataTypeInfo, 22> kTable = {{
    {kFloat32, "float", 32, true, kFloatData, 1},
    {kUint8, "uint8", 8, false, kInt32Data, 1},
    {kInt8, "int8", 8, false, kInt32Data, 1},
    {kUint16, "uint16", 16, false, kInt32Data, 1},
    {kInt16, "int16", 16, false, kInt32Data, 1},
    {kInt32, "int32", 32, false, kInt32Data, 1},
    {kInt64, "int64", 64, false, kInt64Data, 1},
    {kString, "string", 0, false, kStringData, 1},
    {kBool, "bool", 8, false, kInt32Data, 1},
    {kFloat16, "float16", 16, true, kInt32Data, 1},
    {kFloat64, "double", 64, true, kDoubleData, 1},
    {kUint32, "uint32", 32, false, kUint64Data, 1},
    {kUint64, "uint64", 64, false, kUint64Data, 1},
    {kComplex64, "complex64", 64, true, kFloatData, 2},
    {kComplex128, "complex128", 128, true, kDoubleData, 2},
    {kBFloat16, "bfloat16", 16, true, kInt32Data, 1},
    {kFloat8E4M3FN, "float8e4m3fn", 8, true, kInt32Data, 1},
    {kFloat8E4M3FNUZ, "float8e4m3fnuz", 8, true, kInt32Data, 1},
    {kFloat8E5M2, "float8e5m2", 8, true, kInt32Data, 1},
    {kFloat8E5M2FNUZ, "float8e5m2fnuz", 8, true, kInt32Data, 1},
    // 4-bit types keep one packed byte (two values) per int32_data entry.
    {kUint4, "uint4", 4, false, kInt32Data, 1},
    {kInt4, "int4", 4, false, kInt32Data, 1},
}};

// Rows are stored in id order so lookup is an index.
constexpr bool TableIsInIdOrder() {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<size_t>(kTable[i].type) != i + 1) return false;
  }
  return true;
}
static_assert(TableIsInIdOrder());

}  // namespace

const DataTypeInfo* FindDataType(int32_t id) {
  if (id < 1 || id > static_cast<int32_t>(kTable.size())) return nullptr;
  return &kTable[id - 1];
}

const DataTypeInfo& Info(DataType type) {
  const DataTypeInfo* info = FindDataType(static_cast<int32_t>(type));
  if (info == nullptr) {
    std::fprintf(stderr, "pare: internal error: no DataTypeInfo for id %d\n",
                 static_cast<int>(type));
    std::abort();
  }
  return *info;
}

const char* DataTypeName(DataType type) {
  const DataTypeInfo* info = FindDataType(static_cast<int32_t>(type));
  return info ? info->name : "undefined";
}

absl::StatusOr<uint64_t> StorageBytes(DataType type, uint64_t elements) {
  const DataTypeInfo* info = FindDataType(static_cast<int32_t>(type));
  if (info == nullptr || info->bits == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("data type ", DataTypeName(type), " has no fixed storage size"));
  }
  const uint64_t bits = static_cast<uint64_t>(info->bits);
  if (elements > std::numeric_limits<uint64_t>::max() / bits) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor of ", elements, " ", info->name, " elements overflows 64 bits"));
  }
  return (elements * bits + 7) / 8;
}

}  // namespace pare
