#include "artifacts/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/atomic_file.h"
#include "core/float16.h"
#include "core/quant_format.h"
#include "core/status_macros.h"

namespace pare::artifacts {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian
constexpr uint32_t kVersion = 3;

enum ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

class Bytes {
 public:
  template <typename T>
  void Put(T v) {
    const size_t at = b_.size();
    b_.resize(at + sizeof(T));
    std::memcpy(b_.data() + at, &v, sizeof(T));
  }
  void String(const std::string& s) {
    Put<uint64_t>(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
  }
  std::vector<uint8_t>& data() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

void PutValue(Bytes& b, const GgufValue& v) {
  struct Visitor {
    Bytes& b;
    void operator()(uint32_t x) { b.Put(kUint32), b.Put(x); }
    void operator()(int32_t x) { b.Put(kInt32), b.Put(x); }
    void operator()(float x) { b.Put(kFloat32), b.Put(x); }
    void operator()(bool x) { b.Put(kBool), b.Put<uint8_t>(x ? 1 : 0); }
    void operator()(const std::string& x) { b.Put(kString), b.String(x); }
    void operator()(const std::vector<std::string>& x) {
      b.Put(kArray), b.Put(kString), b.Put<uint64_t>(x.size());
      for (const std::string& s : x) b.String(s);
    }
    void operator()(const std::vector<float>& x) {
      b.Put(kArray), b.Put(kFloat32), b.Put<uint64_t>(x.size());
      for (float f : x) b.Put(f);
    }
    void operator()(const std::vector<int32_t>& x) {
      b.Put(kArray), b.Put(kInt32), b.Put<uint64_t>(x.size());
      for (int32_t i : x) b.Put(i);
    }
  };
  std::visit(Visitor{b}, v);
}

uint64_t Align(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

uint64_t Elements(const std::vector<uint64_t>& dims) {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

// The type's row in the format table; every GgmlType has one.
const QuantFormat& Format(GgmlType t) { return *FindGgmlFormat(static_cast<int32_t>(t)); }

}  // namespace

std::string GgmlTypeName(GgmlType t) {
  std::string name(Format(t).name);
  absl::AsciiStrToUpper(&name);
  return name;
}

uint64_t GgmlBytes(GgmlType t, uint64_t elements) { return FixedFormatBytes(Format(t), elements); }

void EncodeRows(GgmlType t, const float* values, uint64_t count, std::vector<uint8_t>& out,
                runtime::ThreadPool* pool) {
  const QuantFormat& f = Format(t);
  const int64_t block = f.block;
  const int64_t blocks = static_cast<int64_t>(count) / block;
  const size_t at = out.size();
  out.resize(at + FixedFormatBytes(f, count));
  uint8_t* dst = out.data() + at;
  auto encode = [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) f.pack(values + b * block, dst + b * f.bytes_per_block);
  };
  if (pool == nullptr) {
    encode(0, blocks);
  } else {
    pool->ParallelFor(blocks, /*min_chunk=*/16, encode);
  }
}

absl::StatusOr<GgmlType> ParseGgmlType(const std::string& name) {
  const QuantFormat* f = FindQuantFormat(name);
  if (f == nullptr || f->ggml_type < 0) {
    std::vector<std::string> names;
    for (const QuantFormat& q : QuantFormats()) {
      if (q.ggml_type >= 0) names.emplace_back(q.name);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unknown GGUF type '", name, "' (", absl::StrJoin(names, ", "), ")"));
  }
  return static_cast<GgmlType>(f->ggml_type);
}

uint32_t LlamaFileType(GgmlType t) { return static_cast<uint32_t>(Format(t).llama_ftype); }

absl::Status WriteGguf(const GgufFile& file, const std::filesystem::path& path) {
  Bytes head;
  head.Put(kMagic);
  head.Put(kVersion);
  head.Put<uint64_t>(file.tensors.size());
  head.Put<uint64_t>(file.metadata.size() + 1);
  head.String("general.alignment");
  PutValue(head, GgufValue(file.alignment));
  for (const auto& [key, value] : file.metadata) {
    head.String(key);
    PutValue(head, value);
  }
  uint64_t offset = 0;
  for (const GgufTensor& t : file.tensors) {
    const uint64_t elements = Elements(t.dims);
    if (t.dims[0] % static_cast<uint64_t>(Format(t.type).block) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(t.name, ": rows of ", t.dims[0], " values do not split into blocks of ",
                       Format(t.type).block, " (", GgmlTypeName(t.type), ")"));
    }
    head.String(t.name);
    head.Put<uint32_t>(t.dims.size());
    for (uint64_t d : t.dims) head.Put(d);
    head.Put(static_cast<uint32_t>(t.type));
    head.Put(offset);
    offset = Align(offset + GgmlBytes(t.type, elements), file.alignment);
  }
  std::vector<uint8_t>& bytes = head.data();
  bytes.resize(Align(bytes.size(), file.alignment), 0);
  ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path));
  RETURN_IF_ERROR(out.Write(bytes));
  std::vector<uint8_t> data;
  for (const GgufTensor& t : file.tensors) {
    data.clear();
    RETURN_IF_ERROR(t.fill(data));
    const uint64_t expected = GgmlBytes(t.type, Elements(t.dims));
    if (data.size() != expected) {
      return absl::InternalError(
          absl::StrCat(t.name, ": ", data.size(), " bytes made, ", expected, " expected"));
    }
    data.resize(Align(data.size(), file.alignment), 0);
    RETURN_IF_ERROR(out.Write(data));
  }
  return out.Commit();
}

namespace {

// Reads GGUF's little-endian scalars, strings and metadata values from a
// stream; each call returns false once the stream is short or a length is
// implausible.
class GgufReader {
 public:
  explicit GgufReader(std::istream& in) : in_(in) {}

  template <typename T>
  bool Get(T& v) {
    in_.read(reinterpret_cast<char*>(&v), sizeof(v));
    return bool(in_);
  }

  bool String(std::string& s) {
    uint64_t n = 0;
    if (!Get(n) || n > (1u << 20)) return false;
    s.resize(n);
    in_.read(s.data(), static_cast<std::streamsize>(n));
    return bool(in_);
  }

  // A metadata value of `type`, as text (arrays as "[N values]").
  bool Value(uint32_t type, std::string& text) {
    switch (type) {
      case kUint8:
        return Scalar<uint8_t, unsigned>(text);
      case kInt8:
        return Scalar<int8_t, int>(text);
      case kUint16:
        return Scalar<uint16_t>(text);
      case kInt16:
        return Scalar<int16_t>(text);
      case kInt64:
        return Scalar<int64_t>(text);
      case kFloat64:
        return Scalar<double>(text);
      case kUint32:
        return Scalar<uint32_t>(text);
      case kInt32:
        return Scalar<int32_t>(text);
      case kFloat32:
        return Scalar<float>(text);
      case kUint64:
        return Scalar<uint64_t>(text);
      case kBool: {
        uint8_t v;
        if (!Get(v)) return false;
        text = v ? "true" : "false";
        return true;
      }
      case kString:
        return String(text);
      case kArray:
        return Array(text);
      default:
        return false;
    }
  }

  uint64_t position() { return static_cast<uint64_t>(in_.tellg()); }

 private:
  // Read as T, printed as Shown (bytes print as numbers, not characters).
  template <typename T, typename Shown = T>
  bool Scalar(std::string& text) {
    T v{};
    if (!Get(v)) return false;
    text = absl::StrCat(static_cast<Shown>(v));
    return true;
  }

  bool Array(std::string& text) {
    uint32_t elem;
    uint64_t n;
    if (!Get(elem) || !Get(n) || n > (1u << 24)) return false;
    std::string item;
    for (uint64_t i = 0; i < n; ++i) {
      if (!Value(elem, item)) return false;
    }
    text = absl::StrCat("[", n, " values]");
    return true;
  }

  std::istream& in_;
};

}  // namespace

absl::StatusOr<GgufSummary> ReadGgufSummary(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path.string(), ": cannot open"));
  auto fail = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat(path.string(), ": ", why));
  };
  GgufReader r(in);
  uint32_t magic = 0;
  GgufSummary g;
  uint64_t tensors = 0, kvs = 0;
  if (!r.Get(magic) || magic != kMagic) return fail("not a GGUF file");
  if (!r.Get(g.version) || !r.Get(tensors) || !r.Get(kvs)) return fail("truncated header");
  uint32_t alignment = 32;
  for (uint64_t i = 0; i < kvs; ++i) {
    std::string key, text;
    uint32_t type = 0;
    if (!r.String(key) || !r.Get(type) || !r.Value(type, text)) {
      return fail(absl::StrCat("bad metadata entry ", i));
    }
    if (key == "general.alignment" && (!absl::SimpleAtoi(text, &alignment) || alignment == 0)) {
      return fail(absl::StrCat("general.alignment is '", text, "'"));
    }
    g.metadata.emplace_back(key, text);
  }
  for (uint64_t i = 0; i < tensors; ++i) {
    GgufSummary::Tensor t;
    uint32_t dims = 0, type = 0;
    if (!r.String(t.name) || !r.Get(dims) || dims > 4) {
      return fail(absl::StrCat("bad tensor entry ", i));
    }
    t.dims.resize(dims);
    for (uint64_t& d : t.dims) r.Get(d);
    if (!r.Get(type) || !r.Get(t.offset)) return fail(absl::StrCat("bad tensor entry ", i));
    t.type = static_cast<GgmlType>(type);
    g.tensors.push_back(std::move(t));
  }
  g.data_offset = Align(r.position(), alignment);
  return g;
}

}  // namespace pare::artifacts
