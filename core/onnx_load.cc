// Loading: parse the protobuf from a memory map, then convert to pare's model.
#include <climits>
#include <exception>
#include <new>

#include "absl/strings/str_cat.h"
#include "core/onnx_io.h"
#include "core/proto_convert.h"
#include "core/status_macros.h"
#include "google/protobuf/io/coded_stream.h"

namespace pare {
namespace {

constexpr uint64_t kProtobufLimit = INT_MAX;

absl::Status ParseProto(absl::Span<const uint8_t> bytes, google::protobuf::Message* message) {
  if (bytes.size() > kProtobufLimit) {
    return absl::FailedPreconditionError(
        absl::StrCat("file is ", bytes.size(),
                     " bytes; a protobuf cannot exceed 2 GiB, so models this large must keep "
                     "their weights in external data"));
  }
  google::protobuf::io::CodedInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
  stream.SetTotalBytesLimit(static_cast<int>(kProtobufLimit));
  if (!message->ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return absl::DataLossError("not a valid ONNX protobuf (parsing failed: truncated or corrupt)");
  }
  return absl::OkStatus();
}

// Gives an error the file's name as its first word, once.
absl::Status WithPath(const absl::Status& status, const std::filesystem::path& path) {
  return absl::Status(status.code(), absl::StrCat(path.string(), ": ", status.message()));
}

template <typename Fn>
auto CatchExceptions(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while loading");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("unexpected exception while loading: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<Model> ParseModel(absl::Span<const uint8_t> bytes,
                                 const std::filesystem::path& base_dir,
                                 const LoadOptions& options) {
  return CatchExceptions([&]() -> absl::StatusOr<Model> {
    onnx::ModelProto proto;
    RETURN_IF_ERROR(ParseProto(bytes, &proto));
    ExternalDataResolver resolver(base_dir);
    return internal::ModelFromProto(proto, resolver, options);
  });
}

absl::StatusOr<Model> LoadModel(const std::filesystem::path& path, const LoadOptions& options) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();  // already names the path
  absl::StatusOr<Model> model = ParseModel((*file)->bytes(), path.parent_path(), options);
  if (!model.ok()) return WithPath(model.status(), path);
  model->source_path = path;
  return model;
}

absl::StatusOr<Tensor> LoadTensorProto(const std::filesystem::path& path,
                                       const LoadOptions& options) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<Tensor> tensor = CatchExceptions([&]() -> absl::StatusOr<Tensor> {
    onnx::TensorProto proto;
    RETURN_IF_ERROR(ParseProto((*file)->bytes(), &proto));
    ExternalDataResolver resolver(path.parent_path());
    return internal::TensorFromProto(proto, resolver, options);
  });
  if (!tensor.ok()) return WithPath(tensor.status(), path);
  return tensor;
}

}  // namespace pare
