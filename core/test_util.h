// Helpers shared by pare's tests: a temporary folder removed at scope exit,
// file writing, and tensor comparison.
#ifndef PARE_CORE_TEST_UTIL_H_
#define PARE_CORE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/model.h"

namespace pare::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "pare-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Same name, type, shape and bytes (or strings).
inline ::testing::AssertionResult SameTensor(const Tensor& a, const Tensor& b) {
  if (a.name() != b.name()) return ::testing::AssertionFailure() << a.name() << " vs " << b.name();
  if (a.dtype() != b.dtype() || a.dims() != b.dims()) {
    return ::testing::AssertionFailure() << a.name() << ": type or shape differs";
  }
  const auto x = a.bytes();
  const auto y = b.bytes();
  if (x.size() != y.size() || (x.size() && std::memcmp(x.data(), y.data(), x.size()) != 0)) {
    return ::testing::AssertionFailure() << a.name() << ": bytes differ";
  }
  if (a.strings() != b.strings()) return ::testing::AssertionFailure() << a.name() << ": strings";
  return ::testing::AssertionSuccess();
}

}  // namespace pare::testing

#endif  // PARE_CORE_TEST_UTIL_H_
