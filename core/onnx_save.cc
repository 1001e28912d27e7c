// Saving: small tensors inline, large ones streamed into one aligned external
// data file; both files published atomically.
#include <climits>
#include <exception>
#include <new>

#include "absl/strings/str_cat.h"
#include "core/atomic_file.h"
#include "core/onnx_io.h"
#include "core/proto_convert.h"
#include "core/status_macros.h"

namespace pare {
namespace {

constexpr size_t kHoleChunk = 64 * 1024;

bool AllZero(absl::Span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// Appends tensors to the external data file at aligned offsets. Runs of zero
// bytes become holes, so sparse or freshly initialized weights cost no disk.
class ExternalDataWriter {
 public:
  ExternalDataWriter(AtomicFile& file, std::string location, uint64_t alignment)
      : file_(file), location_(std::move(location)), alignment_(alignment ? alignment : 1) {}

  absl::Status Append(const Tensor& tensor, onnx::TensorProto* proto) {
    const uint64_t padding = (alignment_ - file_.size() % alignment_) % alignment_;
    RETURN_IF_ERROR(file_.Skip(padding));
    const uint64_t offset = file_.size();
    const auto bytes = tensor.bytes();
    for (size_t pos = 0; pos < bytes.size(); pos += kHoleChunk) {
      const auto chunk = bytes.subspan(pos, kHoleChunk);
      RETURN_IF_ERROR(AllZero(chunk) ? file_.Skip(chunk.size()) : file_.Write(chunk));
    }
    tensor.ReleasePages();  // keeps a streaming save's memory at one tensor
    proto->set_data_location(onnx::TensorProto::EXTERNAL);
    AddEntry(proto, "location", location_);
    AddEntry(proto, "offset", absl::StrCat(offset));
    AddEntry(proto, "length", absl::StrCat(bytes.size()));
    used_ = true;
    return absl::OkStatus();
  }
  bool used() const { return used_; }

 private:
  static void AddEntry(onnx::TensorProto* proto, const std::string& key, const std::string& value) {
    auto* entry = proto->add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  }

  AtomicFile& file_;
  std::string location_;
  uint64_t alignment_;
  bool used_ = false;
};

bool GoesExternal(const Tensor& tensor, bool is_initializer, const SaveOptions& options) {
  if (options.all_inline || tensor.dtype() == DataType::kString) return false;
  // Constant-node tensors stay inline unless they already were external:
  // some consumers do not resolve external data inside attributes.
  if (!is_initializer) return tensor.external_source().has_value();
  return tensor.bytes().size() >= options.external_threshold_bytes;
}

absl::Status SerializeInto(const onnx::ModelProto& proto, AtomicFile& file) {
  const size_t size = proto.ByteSizeLong();
  if (size > INT_MAX) {
    return absl::FailedPreconditionError(
        absl::StrCat("the model's protobuf would be ", size,
                     " bytes, over protobuf's 2 GiB limit: store more tensors as external data"));
  }
  std::string bytes;
  proto.SerializeToString(&bytes);
  return file.Write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

absl::Status Save(const Model& model, const std::filesystem::path& path,
                  const SaveOptions& options) {
  const std::string data_name = options.external_data_name.empty()
                                    ? path.filename().string() + ".data"
                                    : options.external_data_name;
  RETURN_IF_ERROR(ValidateExternalLocation(data_name));
  const std::filesystem::path dir = path.parent_path();
  ASSIGN_OR_RETURN(AtomicFile data_file, AtomicFile::Create(dir / data_name));
  ExternalDataWriter external(data_file, data_name, options.alignment);

  onnx::ModelProto proto;
  RETURN_IF_ERROR(internal::ModelToProto(
      model,
      [&](const Tensor& t, bool is_initializer, onnx::TensorProto* p) -> absl::Status {
        if (GoesExternal(t, is_initializer, options)) return external.Append(t, p);
        internal::SetInlineData(t, p);
        return absl::OkStatus();
      },
      &proto));
  ASSIGN_OR_RETURN(AtomicFile model_file, AtomicFile::Create(path));
  RETURN_IF_ERROR(SerializeInto(proto, model_file));
  // Data first, so a published model never names a data file that is not
  // there yet. A crash in the two-syscall window between the renames can pair
  // an older model of the same name with the new data file.
  if (external.used()) RETURN_IF_ERROR(data_file.Commit());
  RETURN_IF_ERROR(model_file.Commit());
  return SyncDirectory(dir);
}

}  // namespace

absl::Status SaveTensorProto(const Tensor& tensor, const std::filesystem::path& path) {
  onnx::TensorProto proto;
  proto.set_name(tensor.name());
  proto.set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t d : tensor.dims()) proto.add_dims(d);
  internal::SetInlineData(tensor, &proto);
  const std::string bytes = proto.SerializeAsString();
  ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path));
  RETURN_IF_ERROR(out.Write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  return out.Commit();
}

absl::Status SaveModel(const Model& model, const std::filesystem::path& path,
                       const SaveOptions& options) {
  try {
    return Save(model, path, options);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path.string(), ": out of memory while saving"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(path.string(), ": unexpected exception: ", e.what()));
  }
}

}  // namespace pare
