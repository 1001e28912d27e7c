// GGUF (version 3), the file format of llama.cpp and the tools built on it
// (Ollama, LM Studio): metadata key/values, then tensor descriptions, then
// tensor data at aligned offsets.
//
//   GgufFile f;
//   f.Add("general.architecture", std::string("llama"));
//   f.AddTensor({.name = "token_embd.weight", .type = GgmlType::kF16, .dims = {D, V}, .fill =
//   ...}); RETURN_IF_ERROR(WriteGguf(f, "model.gguf"));
//
// Tensors are produced one at a time by their `fill` callback while the
// file is written, so memory holds one tensor's bytes, not the model.
// Dimensions are ggml's order: dims[0] varies fastest (for a PyTorch-style
// [rows, cols] matrix, {cols, rows}).
#ifndef PARE_ARTIFACTS_GGUF_H_
#define PARE_ARTIFACTS_GGUF_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/thread_pool.h"

namespace pare::artifacts {

// GGUF tensor types pare writes, by their ggml ids. Names, sizes, block
// codecs and llama.cpp file types come from each one's row in the format
// table (core/quant_format.h).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
};
std::string GgmlTypeName(GgmlType t);                             // "Q4_0"
absl::StatusOr<GgmlType> ParseGgmlType(const std::string& name);  // "q4_k", a table name
// llama.cpp's general.file_type for a file whose main type is `t`.
uint32_t LlamaFileType(GgmlType t);

// Bytes of `elements` values of `t` (a multiple of 32 for block types).
uint64_t GgmlBytes(GgmlType t, uint64_t elements);

// Encodes `count` float values as `t` (blocks along the flattened values,
// so rows must be whole blocks long) and appends them to `out`; blocks are
// independent, so a `pool` encodes them in parallel (the K-quants' fitting
// is what GGUF export spends its time on).
void EncodeRows(GgmlType t, const float* values, uint64_t count, std::vector<uint8_t>& out,
                runtime::ThreadPool* pool = nullptr);

using GgufValue = std::variant<uint32_t, int32_t, float, bool, std::string,
                               std::vector<std::string>, std::vector<float>, std::vector<int32_t>>;

struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<uint64_t> dims;  // ggml order
  // Appends exactly GgmlBytes(type, elements) bytes.
  std::function<absl::Status(std::vector<uint8_t>& out)> fill;
};

struct GgufFile {
  std::vector<std::pair<std::string, GgufValue>> metadata;
  std::vector<GgufTensor> tensors;
  uint32_t alignment = 32;

  void Add(std::string key, GgufValue value) {
    metadata.emplace_back(std::move(key), std::move(value));
  }
};

// Written atomically (temporary name, then rename).
absl::Status WriteGguf(const GgufFile& file, const std::filesystem::path& path);

// What a GGUF file holds, read back (tests, `pare inspect`-style checks).
struct GgufSummary {
  uint32_t version = 0;
  std::vector<std::pair<std::string, std::string>> metadata;  // values as text
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<uint64_t> dims;
    uint64_t offset;
  };
  std::vector<Tensor> tensors;
  uint64_t data_offset = 0;
};
absl::StatusOr<GgufSummary> ReadGgufSummary(const std::filesystem::path& path);

}  // namespace pare::artifacts

#endif  // PARE_ARTIFACTS_GGUF_H_
