// Element types of ONNX tensors, described by one table.
//
//   const DataTypeInfo* info = FindDataType(proto.data_type());
//   ASSIGN_OR_RETURN(uint64_t bytes, StorageBytes(DataType::kInt4, 4096));
//
// Ids are ONNX's TensorProto.DataType values and are never reused. Generic
// code looks up a row instead of switching on the type.
#ifndef PARE_CORE_DTYPE_H_
#define PARE_CORE_DTYPE_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"

namespace pare {

enum class DataType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUint4 = 21,  // two values per byte, first value in the low nibble
  kInt4 = 22,   // same packing, two's complement nibbles
};

// Which typed TensorProto field holds this type's values when raw_data is not
// used. Follows the comments in onnx.proto.
enum class ProtoField {
  kNone,
  kFloatData,
  kInt32Data,
  kInt64Data,
  kDoubleData,
  kUint64Data,
  kStringData
};

struct DataTypeInfo {
  DataType type;
  const char* name;  // ONNX's spelling, lower case: "float", "int4"
  int bits;          // storage bits per element; 0 for string
  bool is_float;     // floating point (including complex and float8)
  ProtoField field;
  int values_per_field_entry;  // e.g. 2 for complex64 in float_data
};

// Returns the row for an ONNX data type id, or nullptr when pare does not know it.
const DataTypeInfo* FindDataType(int32_t id);

// REQUIRES: type is a known, defined type.
const DataTypeInfo& Info(DataType type);

const char* DataTypeName(DataType type);

// Bytes needed to store `elements` values packed as ONNX stores them (4-bit
// types round up to whole bytes). Fails on overflow and for strings.
absl::StatusOr<uint64_t> StorageBytes(DataType type, uint64_t elements);

}  // namespace pare

#endif  // PARE_CORE_DTYPE_H_
