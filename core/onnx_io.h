// Loading and saving ONNX files.
//
//   ASSIGN_OR_RETURN(Model model, LoadModel("in/model.onnx"));
//   RETURN_IF_ERROR(SaveModel(model, "out/model.onnx"));
//
// Loading accepts inline tensors (raw_data or typed fields), Constant-node
// tensors and external data; external files are memory-mapped, never read
// whole. Saving streams each large tensor into one external data file beside
// the model, offsets aligned for mmap, and publishes both files atomically
// (temporary file, fsync, rename): a failed save leaves no partial output and
// never replaces an existing file with a broken one.
//
// Errors (all absl::Status, the message names the file and tensor or node):
//   NotFound          the model or an external data file does not exist
//   DataLoss          not a valid ONNX protobuf, or tensor data that does not
//                     match its declared type and shape
//   InvalidArgument   unsafe external-data location, unknown data type,
//                     shapes over the allocation cap
//   OutOfRange        external data range outside its file
//   FailedPrecondition  a model too large for one protobuf (2 GiB) when saving
//   Unavailable/PermissionDenied  I/O failures
#ifndef PARE_CORE_ONNX_IO_H_
#define PARE_CORE_ONNX_IO_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/model.h"

namespace pare {

struct LoadOptions {
  // Largest tensor a declared shape may imply. Protects against files that
  // declare absurd shapes to make a consumer allocate terabytes.
  uint64_t max_tensor_bytes = uint64_t{1} << 40;  // 1 TiB
};

struct SaveOptions {
  // Tensors of at least this many bytes go to the external data file.
  uint64_t external_threshold_bytes = 1024;
  // Name of the external data file, in the model's folder. Empty: the
  // model's file name plus ".data".
  std::string external_data_name;
  // Offset alignment inside the external data file (a page, so ONNX Runtime
  // and pare can mmap tensors in place).
  uint64_t alignment = 4096;
  // Write every tensor inline (fails past protobuf's 2 GiB limit).
  bool all_inline = false;
};

absl::StatusOr<Model> LoadModel(const std::filesystem::path& path, const LoadOptions& options = {});

// Parses a serialized ModelProto held in memory. External data is resolved
// relative to `base_dir`. Used by LoadModel and by the fuzzer.
absl::StatusOr<Model> ParseModel(absl::Span<const uint8_t> bytes,
                                 const std::filesystem::path& base_dir,
                                 const LoadOptions& options = {});

// Parses one serialized TensorProto (the ONNX test-data .pb layout).
absl::StatusOr<Tensor> LoadTensorProto(const std::filesystem::path& path,
                                       const LoadOptions& options = {});

// Writes one tensor as a serialized TensorProto (raw_data), atomically.
absl::Status SaveTensorProto(const Tensor& tensor, const std::filesystem::path& path);

absl::Status SaveModel(const Model& model, const std::filesystem::path& path,
                       const SaveOptions& options = {});

}  // namespace pare

#endif  // PARE_CORE_ONNX_IO_H_
