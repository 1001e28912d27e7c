#include "artifacts/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/atomic_file.h"
#include "core/float16.h"
#include "core/status_macros.h"

namespace pare::artifacts {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian
constexpr uint32_t kVersion = 3;
constexpr uint64_t kBlock = 32;

enum ValueType : uint32_t {
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
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

void PutHalf(std::vector<uint8_t>& out, float v) {
  const uint16_t h = Float32ToFloat16(v);
  out.push_back(static_cast<uint8_t>(h & 0xff));
  out.push_back(static_cast<uint8_t>(h >> 8));
}

// Q8_0: a float16 scale absmax / 127 and 32 int8 codes.
void EncodeQ8(const float* x, std::vector<uint8_t>& out) {
  float amax = 0;
  for (uint64_t i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  PutHalf(out, d);
  for (uint64_t i = 0; i < kBlock; ++i) {
    out.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::nearbyint(x[i] * id))));
  }
}

// Q4_0: a float16 scale (the signed extreme / -8) and 32 4-bit codes with
// an implicit offset of 8; element j in the low nibble of byte j, element
// j + 16 in its high nibble (llama.cpp's layout).
void EncodeQ4(const float* x, std::vector<uint8_t>& out) {
  float extreme = 0;
  for (uint64_t i = 0; i < kBlock; ++i) {
    if (std::fabs(x[i]) > std::fabs(extreme)) extreme = x[i];
  }
  const float d = extreme / -8.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  PutHalf(out, d);
  auto code = [&](float v) {
    return static_cast<uint8_t>(std::min(15, static_cast<int>(v * id + 8.5f)));
  };
  for (uint64_t j = 0; j < kBlock / 2; ++j) {
    out.push_back(static_cast<uint8_t>(code(x[j]) | (code(x[j + kBlock / 2]) << 4)));
  }
}

// Q4_1: float16 scale and minimum, 32 4-bit codes (same nibble layout).
void EncodeQ41(const float* x, std::vector<uint8_t>& out) {
  float lo = x[0], hi = x[0];
  for (uint64_t i = 1; i < kBlock; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  const float d = (hi - lo) / 15.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  PutHalf(out, d);
  PutHalf(out, lo);
  auto code = [&](float v) {
    return static_cast<uint8_t>(std::min(15, static_cast<int>((v - lo) * id + 0.5f)));
  };
  for (uint64_t j = 0; j < kBlock / 2; ++j) {
    out.push_back(static_cast<uint8_t>(code(x[j]) | (code(x[j + kBlock / 2]) << 4)));
  }
}

}  // namespace

const char* GgmlTypeName(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return "F32";
    case GgmlType::kF16:
      return "F16";
    case GgmlType::kQ4_0:
      return "Q4_0";
    case GgmlType::kQ4_1:
      return "Q4_1";
    case GgmlType::kQ8_0:
      return "Q8_0";
  }
  return "?";
}

uint64_t GgmlBytes(GgmlType t, uint64_t elements) {
  switch (t) {
    case GgmlType::kF32:
      return elements * 4;
    case GgmlType::kF16:
      return elements * 2;
    case GgmlType::kQ4_0:
      return elements / kBlock * 18;
    case GgmlType::kQ4_1:
      return elements / kBlock * 20;
    case GgmlType::kQ8_0:
      return elements / kBlock * 34;
  }
  return 0;
}

void EncodeRows(GgmlType t, const float* values, uint64_t count, std::vector<uint8_t>& out) {
  switch (t) {
    case GgmlType::kF32: {
      const size_t at = out.size();
      out.resize(at + count * 4);
      std::memcpy(out.data() + at, values, count * 4);
      return;
    }
    case GgmlType::kF16:
      for (uint64_t i = 0; i < count; ++i) PutHalf(out, values[i]);
      return;
    case GgmlType::kQ8_0:
      for (uint64_t i = 0; i + kBlock <= count; i += kBlock) EncodeQ8(values + i, out);
      return;
    case GgmlType::kQ4_0:
      for (uint64_t i = 0; i + kBlock <= count; i += kBlock) EncodeQ4(values + i, out);
      return;
    case GgmlType::kQ4_1:
      for (uint64_t i = 0; i + kBlock <= count; i += kBlock) EncodeQ41(values + i, out);
      return;
  }
}

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
    if (t.type != GgmlType::kF32 && t.type != GgmlType::kF16 && t.dims[0] % kBlock != 0) {
      return absl::InvalidArgumentError(absl::StrCat(t.name, ": rows of ", t.dims[0],
                                                     " values do not split into blocks of 32 (",
                                                     GgmlTypeName(t.type), ")"));
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
  template <typename T>
  bool Scalar(std::string& text) {
    T v{};
    if (!Get(v)) return false;
    text = absl::StrCat(v);
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
