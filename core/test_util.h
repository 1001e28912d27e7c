// Helpers shared by pare's tests: a temporary folder removed at scope exit,
// file writing, and tensor comparison.
#ifndef PARE_CORE_TEST_UTIL_H_
#define PARE_CORE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model.h"
#include "core/model_builder.h"
#include "core/onnx_io.h"

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

// x [N, widths[0]] -> MatMul -> Relu -> ... -> MatMul -> y [N, widths.back()],
// weights w1, w2, ... seeded; weight number `nan_weight` (1-based; 0: none)
// holds a NaN at element 100.
inline Model MatMulChain(int64_t opset, const std::vector<int64_t>& widths, int nan_weight = 0) {
  ModelBuilder b("matmul_chain", opset);
  b.Input("x", DataType::kFloat32, {-1, widths[0]});
  std::string in = "x";
  for (size_t i = 1; i < widths.size(); ++i) {
    // absl::StrCat, not "w" + std::to_string(i): GCC 12 warns falsely
    // (-Wrestrict) on the latter.
    const std::string w = absl::StrCat("w", i), mm = absl::StrCat("mm", i);
    Tensor t = RandomTensor(w, {widths[i - 1], widths[i]}, i, 0.3f);
    if (static_cast<int>(i) == nan_weight) {
      std::vector<float> v = t.ToFloat32().value();
      v[100] = std::numeric_limits<float>::quiet_NaN();
      t = Tensor::FromVector<float>(w, t.dims(), v);
    }
    b.Initializer(t);
    const bool last = i + 1 == widths.size();
    b.AddNode("MatMul", {in, w}, {last ? "y" : mm}, mm);
    if (!last) {
      b.AddNode("Relu", {mm}, {absl::StrCat("r", i)}, absl::StrCat("relu", i));
      in = absl::StrCat("r", i);
    }
  }
  b.Output("y", DataType::kFloat32, {-1, widths.back()});
  return std::move(b).Build();
}

// One attention layer over x [1, S, 16]: keys 16 wide, values 8 wide.
inline Model AttentionModel() {
  ModelBuilder b("attention");
  b.Input("x", DataType::kFloat32, {1, -1, 16});
  b.Output("y", DataType::kFloat32, {1, -1, 16});
  b.Initializer(RandomTensor("wq", {16, 16}, 1));
  b.Initializer(RandomTensor("wk", {16, 16}, 2));
  b.Initializer(RandomTensor("wv", {16, 8}, 3));
  b.Initializer(RandomTensor("wo", {8, 16}, 4));
  b.Initializer(Tensor::FromVector<float>("scale", {}, {0.25f}));
  b.AddNode("MatMul", {"x", "wq"}, {"q"});
  b.AddNode("MatMul", {"x", "wk"}, {"k"});
  b.AddNode("MatMul", {"x", "wv"}, {"v"});
  b.AddNode("Transpose", {"k"}, {"kt"}).attributes.push_back(IntsAttr("perm", {0, 2, 1}));
  b.AddNode("MatMul", {"q", "kt"}, {"scores"});
  b.AddNode("Mul", {"scores", "scale"}, {"scaled"});
  b.AddNode("Softmax", {"scaled"}, {"probs"}).attributes.push_back(IntAttr("axis", -1));
  b.AddNode("MatMul", {"probs", "v"}, {"ctx"});
  b.AddNode("MatMul", {"ctx", "wo"}, {"y"});
  return std::move(b).Build();
}

// The model as ONNX bytes (every tensor inline): a deep snapshot, since
// copies of a Model share tensor storage. Compare two to prove a stage left
// its input alone.
inline std::string Snapshot(const Model& model) {
  TempDir dir;
  const absl::Status saved = SaveModel(model, dir / "m.onnx", {.all_inline = true});
  EXPECT_TRUE(saved.ok()) << saved;
  return ReadFile(dir / "m.onnx");
}

}  // namespace pare::testing

#endif  // PARE_CORE_TEST_UTIL_H_
