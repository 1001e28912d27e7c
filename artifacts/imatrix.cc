#include "artifacts/imatrix.h"

#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "artifacts/gguf.h"
#include "core/status_macros.h"

namespace pare::artifacts {
namespace {

constexpr char kSumSuffix[] = ".in_sum2";
constexpr char kCountSuffix[] = ".counts";

absl::Status Bad(const std::filesystem::path& path, const std::string& why) {
  return absl::DataLossError(absl::StrCat(path.string(), ": not an importance matrix: ", why));
}

// Float32 values of `count` elements at `offset` bytes into `path`.
absl::StatusOr<std::vector<float>> ReadFloats(const std::filesystem::path& path, uint64_t offset,
                                              uint64_t count) {
  std::ifstream in(path, std::ios::binary);
  std::vector<float> v(static_cast<size_t>(count));
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(float)));
  if (!in) return Bad(path, "tensor data cut short");
  return v;
}

uint64_t Elements(const GgufSummary::Tensor& t) {
  uint64_t n = 1;
  for (uint64_t d : t.dims) n *= d;
  return n;
}

absl::StatusOr<ImportanceMatrix> ReadGgufForm(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(const GgufSummary g, ReadGgufSummary(path));
  ImportanceMatrix m;
  for (const auto& [key, text] : g.metadata) {
    if (key == "general.type" && text != "imatrix") return Bad(path, "general.type is " + text);
    if (key == "imatrix.chunk_count") (void)absl::SimpleAtoi(text, &m.chunk_count);
    if (key == "imatrix.chunk_size") (void)absl::SimpleAtoi(text, &m.chunk_size);
  }
  for (const GgufSummary::Tensor& t : g.tensors) {
    if (t.type != GgmlType::kF32) return Bad(path, t.name + " is not F32");
    const bool sums = absl::EndsWith(t.name, kSumSuffix);
    const bool counts = absl::EndsWith(t.name, kCountSuffix);
    if (!sums && !counts) continue;
    const std::string name =
        t.name.substr(0, t.name.size() - (sums ? sizeof(kSumSuffix) : sizeof(kCountSuffix)) + 1);
    ASSIGN_OR_RETURN(std::vector<float> v, ReadFloats(path, g.data_offset + t.offset, Elements(t)));
    ImportanceMatrix::Entry& e = m.entries[name];
    if (sums) {
      e.sum_squares = std::move(v);
    } else {
      // One count per expert; dense weights have one.
      if (v.empty()) return Bad(path, t.name + " is empty");
      e.count = v[0];
    }
  }
  for (const auto& [name, e] : m.entries) {
    if (e.sum_squares.empty() || e.count <= 0) return Bad(path, name + " lacks its sums or count");
  }
  return m;
}

// The legacy form: int32 entries, then per entry the name, int32 calls,
// int32 values and the values (mean square times calls); then the chunk
// count and the dataset's name.
absl::StatusOr<ImportanceMatrix> ReadLegacyForm(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path.string(), ": cannot open"));
  auto get = [&](int32_t& v) { return bool(in.read(reinterpret_cast<char*>(&v), sizeof(v))); };
  int32_t n = 0;
  if (!get(n) || n <= 0 || n > (1 << 20)) return Bad(path, "no entry count");
  ImportanceMatrix m;
  for (int32_t i = 0; i < n; ++i) {
    int32_t len = 0, calls = 0, values = 0;
    if (!get(len) || len <= 0 || len > 4096) return Bad(path, absl::StrCat("entry ", i, ": name"));
    std::string name(static_cast<size_t>(len), '\0');
    in.read(name.data(), len);
    if (!in || !get(calls) || !get(values) || values <= 0 || values > (1 << 24) || calls <= 0) {
      return Bad(path, absl::StrCat("entry ", i, " (", name, ") cut short"));
    }
    ImportanceMatrix::Entry& e = m.entries[name];
    e.sum_squares.resize(static_cast<size_t>(values));
    in.read(reinterpret_cast<char*>(e.sum_squares.data()),
            static_cast<std::streamsize>(values * sizeof(float)));
    if (!in) return Bad(path, absl::StrCat(name, ": values cut short"));
    e.count = static_cast<float>(calls);
  }
  int32_t chunks = 0, len = 0;
  if (get(chunks)) m.chunk_count = static_cast<uint32_t>(chunks);
  if (get(len) && len > 0 && len < 4096) {
    std::string dataset(static_cast<size_t>(len), '\0');
    if (in.read(dataset.data(), len)) m.datasets.push_back(dataset);
  }
  return m;
}

}  // namespace

std::vector<float> ImportanceMatrix::Mean(const std::string& name) const {
  auto it = entries.find(name);
  if (it == entries.end() || it->second.count <= 0) return {};
  std::vector<float> mean = it->second.sum_squares;
  for (float& v : mean) v /= it->second.count;
  return mean;
}

absl::Status WriteImatrix(const ImportanceMatrix& m, const std::filesystem::path& path) {
  GgufFile f;
  f.Add("general.type", std::string("imatrix"));
  f.Add("imatrix.datasets", m.datasets);
  f.Add("imatrix.chunk_count", m.chunk_count);
  f.Add("imatrix.chunk_size", m.chunk_size);
  for (const auto& [name, e] : m.entries) {
    const std::vector<float>* sums = &e.sum_squares;
    f.tensors.push_back({.name = name + kSumSuffix,
                         .type = GgmlType::kF32,
                         .dims = {sums->size(), 1},
                         .fill = [sums](std::vector<uint8_t>& out) {
                           EncodeRows(GgmlType::kF32, sums->data(), sums->size(), out);
                           return absl::OkStatus();
                         }});
    const float count = e.count;
    f.tensors.push_back({.name = name + kCountSuffix,
                         .type = GgmlType::kF32,
                         .dims = {1, 1},
                         .fill = [count](std::vector<uint8_t>& out) {
                           EncodeRows(GgmlType::kF32, &count, 1, out);
                           return absl::OkStatus();
                         }});
  }
  return WriteGguf(f, path);
}

absl::StatusOr<ImportanceMatrix> ReadImatrix(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path.string(), ": cannot open"));
  char magic[4] = {};
  in.read(magic, 4);
  if (in && std::memcmp(magic, "GGUF", 4) == 0) return ReadGgufForm(path);
  return ReadLegacyForm(path);
}

}  // namespace pare::artifacts
