#include "core/npy.h"

#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/atomic_file.h"
#include "core/status_macros.h"

namespace pare {
namespace {

const std::map<std::string, DataType>& Descriptors() {
  static const auto* table = new std::map<std::string, DataType>{
      {"<f4", DataType::kFloat32}, {"<f8", DataType::kFloat64}, {"<f2", DataType::kFloat16},
      {"|i1", DataType::kInt8},    {"|u1", DataType::kUint8},   {"<i2", DataType::kInt16},
      {"<u2", DataType::kUint16},  {"<i4", DataType::kInt32},   {"<u4", DataType::kUint32},
      {"<i8", DataType::kInt64},   {"<u8", DataType::kUint64},  {"|b1", DataType::kBool},
  };
  return *table;
}

// The quoted value after `key` in the header dict, or the raw token.
std::string HeaderValue(const std::string& header, const std::string& key) {
  const size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return "";
  size_t start = header.find(':', at);
  if (start == std::string::npos) return "";
  ++start;
  while (start < header.size() && header[start] == ' ') ++start;
  if (start < header.size() && header[start] == '(') {
    return header.substr(start, header.find(')', start) - start + 1);
  }
  const size_t end = header.find_first_of(",}", start);
  std::string value = header.substr(start, end - start);
  if (!value.empty() && value.front() == '\'') value = value.substr(1, value.size() - 2);
  return value;
}

absl::StatusOr<std::vector<int64_t>> ParseShape(const std::string& tuple) {
  std::vector<int64_t> dims;
  std::string number;
  for (char c : tuple) {
    if (c >= '0' && c <= '9') {
      number += c;
    } else if (!number.empty()) {
      dims.push_back(std::stoll(number));
      number.clear();
    }
  }
  if (tuple.empty() || tuple.front() != '(') return absl::InvalidArgumentError("bad shape");
  return dims;
}

}  // namespace

absl::StatusOr<Tensor> LoadNpy(const std::filesystem::path& path, const std::string& name) {
  ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  const auto bytes = file->bytes();
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", why));
  };
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    return bad("not a .npy file");
  }
  const int major = bytes[6];
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated header");
    header_len =
        bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (static_cast<size_t>(bytes[11]) << 24);
    offset = 12;
  } else {
    return bad(absl::StrCat("unsupported .npy version ", major));
  }
  if (offset + header_len > bytes.size()) return bad("truncated header");
  const std::string header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);
  const std::string descr = HeaderValue(header, "descr");
  auto type = Descriptors().find(descr);
  if (type == Descriptors().end()) return bad(absl::StrCat("unsupported dtype '", descr, "'"));
  if (HeaderValue(header, "fortran_order") != "False")
    return bad("Fortran-order arrays are not supported");
  auto dims = ParseShape(HeaderValue(header, "shape"));
  if (!dims.ok()) return bad("cannot read the shape");
  ASSIGN_OR_RETURN(uint64_t count, ElementCount(*dims));
  ASSIGN_OR_RETURN(uint64_t need, StorageBytes(type->second, count));
  const size_t data_at = offset + header_len;
  if (bytes.size() - data_at != need) {
    return bad(absl::StrCat("holds ", bytes.size() - data_at, " data bytes, shape needs ", need));
  }
  std::vector<uint8_t> data(bytes.begin() + data_at, bytes.end());
  return Tensor::FromBytes(name, type->second, *std::move(dims), std::move(data));
}

absl::Status SaveNpy(const Tensor& tensor, const std::filesystem::path& path) {
  std::string descr;
  for (const auto& [d, type] : Descriptors()) {
    if (type == tensor.dtype()) descr = d;
  }
  if (descr.empty()) {
    return absl::UnimplementedError(absl::StrCat("tensor '", tensor.name(),
                                                 "': ", DataTypeName(tensor.dtype()),
                                                 " cannot be written as .npy"));
  }
  std::string shape = absl::StrJoin(tensor.dims(), ", ");
  if (tensor.dims().size() == 1) shape += ",";
  std::string header =
      absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (", shape, "), }");
  // Pad so the data starts at a multiple of 64 bytes, ending with a newline.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string prefix = "\x93NUMPY\x01";
  prefix += '\0';
  prefix += static_cast<char>(header.size() & 0xff);
  prefix += static_cast<char>(header.size() >> 8);
  ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path));
  const std::string head = prefix + header;
  RETURN_IF_ERROR(out.Write({reinterpret_cast<const uint8_t*>(head.data()), head.size()}));
  RETURN_IF_ERROR(out.Write(tensor.bytes()));
  return out.Commit();
}

}  // namespace pare
