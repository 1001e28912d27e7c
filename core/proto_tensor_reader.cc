// TensorProto → Tensor: every storage form ONNX allows (raw_data, typed
// fields, external data), with the declared shape checked against the data.
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/proto_convert.h"
#include "core/status_macros.h"

namespace pare::internal {
namespace {

template <typename Dst, typename Field>
std::vector<uint8_t> NarrowCopy(const Field& field) {
  std::vector<uint8_t> bytes(static_cast<size_t>(field.size()) * sizeof(Dst));
  for (int i = 0; i < field.size(); ++i) {
    const Dst v = static_cast<Dst>(field.Get(i));
    std::memcpy(bytes.data() + static_cast<size_t>(i) * sizeof(Dst), &v, sizeof(Dst));
  }
  return bytes;
}

// Returns the number of entries in the typed field that holds `info`'s values.
int TypedFieldSize(const onnx::TensorProto& p, const DataTypeInfo& info) {
  switch (info.field) {
    case ProtoField::kFloatData:
      return p.float_data_size();
    case ProtoField::kInt32Data:
      return p.int32_data_size();
    case ProtoField::kInt64Data:
      return p.int64_data_size();
    case ProtoField::kDoubleData:
      return p.double_data_size();
    case ProtoField::kUint64Data:
      return p.uint64_data_size();
    case ProtoField::kStringData:
      return p.string_data_size();
    case ProtoField::kNone:
      return 0;
  }
  return 0;
}

std::vector<uint8_t> TypedFieldBytes(const onnx::TensorProto& p, const DataTypeInfo& info) {
  switch (info.field) {
    case ProtoField::kFloatData:
      return NarrowCopy<float>(p.float_data());
    case ProtoField::kDoubleData:
      return NarrowCopy<double>(p.double_data());
    case ProtoField::kInt64Data:
      return NarrowCopy<int64_t>(p.int64_data());
    case ProtoField::kUint64Data:
      return info.bits == 32 ? NarrowCopy<uint32_t>(p.uint64_data())
                             : NarrowCopy<uint64_t>(p.uint64_data());
    case ProtoField::kInt32Data:
      // 16-bit floats arrive as their bit patterns, 4-bit types as one packed
      // byte per entry; all narrow to the storage width.
      if (info.bits == 32) return NarrowCopy<int32_t>(p.int32_data());
      if (info.bits == 16) return NarrowCopy<uint16_t>(p.int32_data());
      return NarrowCopy<uint8_t>(p.int32_data());
    default:
      return {};
  }
}

struct ExternalRef {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

absl::StatusOr<ExternalRef> ParseExternalRef(const onnx::TensorProto& p) {
  ExternalRef ref;
  for (const auto& entry : p.external_data()) {
    uint64_t number = 0;
    const bool is_number = absl::SimpleAtoi(entry.value(), &number);
    if (entry.key() == "location") {
      ref.location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      if (!is_number) {
        return absl::InvalidArgumentError(
            absl::StrCat("external data ", entry.key(), " '", entry.value(), "' is not a number"));
      }
      (entry.key() == "offset" ? ref.offset : ref.length.emplace()) = number;
    }
  }
  if (ref.location.empty()) {
    return absl::InvalidArgumentError("external data has no location");
  }
  return ref;
}

absl::StatusOr<Tensor> ReadExternal(onnx::TensorProto& p, DataType type, std::vector<int64_t> dims,
                                    uint64_t bytes, ExternalDataResolver& resolver) {
  ASSIGN_OR_RETURN(ExternalRef ref, ParseExternalRef(p));
  if (ref.length && *ref.length != bytes) {
    return absl::DataLossError(absl::StrCat("external data length ", *ref.length,
                                            " does not match the ", bytes,
                                            " bytes its type and shape need"));
  }
  ASSIGN_OR_RETURN(ExternalSlice slice, resolver.Resolve(ref.location, ref.offset, bytes));
  Tensor t = Tensor::FromBuffer(p.name(), type, std::move(dims), slice.file, slice.bytes);
  t.set_external_source({ref.location, ref.offset});
  return t;
}

absl::StatusOr<Tensor> ReadInline(onnx::TensorProto& p, const DataTypeInfo& info,
                                  std::vector<int64_t> dims, uint64_t count, uint64_t bytes) {
  if (p.has_raw_data()) {
    if (p.raw_data().size() != bytes) {
      return absl::DataLossError(absl::StrCat("raw_data holds ", p.raw_data().size(),
                                              " bytes but its type and shape need ", bytes));
    }
    auto storage = std::make_shared<OwnedBuffer>(std::move(*p.mutable_raw_data()));
    const auto view = storage->bytes();
    return Tensor::FromBuffer(p.name(), info.type, std::move(dims), std::move(storage), view);
  }
  const uint64_t expected_entries =
      info.bits == 4 ? bytes : count * static_cast<uint64_t>(info.values_per_field_entry);
  const uint64_t entries = static_cast<uint64_t>(TypedFieldSize(p, info));
  if (entries != expected_entries) {
    if (entries == 0) {
      return absl::DataLossError(absl::StrCat("declares ", count, " elements but holds no data"));
    }
    return absl::DataLossError(
        absl::StrCat("holds ", entries, " values but its shape needs ", expected_entries));
  }
  return Tensor::FromBytes(p.name(), info.type, std::move(dims), TypedFieldBytes(p, info));
}

absl::StatusOr<Tensor> ReadTensor(onnx::TensorProto& p, ExternalDataResolver& resolver,
                                  const LoadOptions& options) {
  if (p.has_segment()) return absl::UnimplementedError("segmented tensors are not supported");
  const DataTypeInfo* info = FindDataType(p.data_type());
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported data type ", p.data_type()));
  }
  std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
  ASSIGN_OR_RETURN(uint64_t count, ElementCount(dims));
  const bool external = p.data_location() == onnx::TensorProto::EXTERNAL;
  if (info->type == DataType::kString) {
    if (external) return absl::UnimplementedError("external string tensors are not supported");
    if (static_cast<uint64_t>(p.string_data_size()) != count) {
      return absl::DataLossError(
          absl::StrCat("holds ", p.string_data_size(), " strings but its shape needs ", count));
    }
    std::vector<std::string> values(p.string_data().begin(), p.string_data().end());
    return Tensor::FromStrings(p.name(), std::move(dims), std::move(values));
  }
  ASSIGN_OR_RETURN(uint64_t bytes, StorageBytes(info->type, count));
  if (bytes > options.max_tensor_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "declared shape needs ", bytes, " bytes, over the limit of ", options.max_tensor_bytes));
  }
  if (external) return ReadExternal(p, info->type, std::move(dims), bytes, resolver);
  return ReadInline(p, *info, std::move(dims), count, bytes);
}

}  // namespace

absl::StatusOr<Tensor> TensorFromProto(onnx::TensorProto& proto, ExternalDataResolver& resolver,
                                       const LoadOptions& options) {
  absl::StatusOr<Tensor> tensor = ReadTensor(proto, resolver, options);
  if (!tensor.ok()) {
    return absl::Status(tensor.status().code(),
                        absl::StrCat("tensor '", proto.name(), "': ", tensor.status().message()));
  }
  return tensor;
}

}  // namespace pare::internal
