// Models over 2 GiB: external data past 32-bit offsets, a single tensor over
// 2 GiB, round-tripped byte-exactly. Data files are sparse (holes read as
// zeros), with marker bytes written at the edges of every tensor.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/onnx_io.h"
#include "core/test_util.h"
#include "onnx/onnx_pb.h"

namespace pare {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

struct Placed {
  std::string name;
  uint64_t offset;
  uint64_t bytes;
};

// Writes a sparse data file and a model that points at it.
void WriteLargeModel(const std::filesystem::path& dir, const std::vector<Placed>& tensors) {
  const int fd = ::open((dir / "big.bin").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  uint64_t end = 0;
  for (const Placed& p : tensors) {
    for (uint64_t at : {p.offset, p.offset + p.bytes / 2, p.offset + p.bytes - 8}) {
      const std::string marker =
          p.name.substr(0, 8) + std::string(8 - std::min<size_t>(8, p.name.size()), '#');
      ASSERT_EQ(::pwrite(fd, marker.data(), 8, static_cast<off_t>(at)), 8);
    }
    end = std::max(end, p.offset + p.bytes);
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(p.name);
    t->set_data_type(onnx::TensorProto::UINT8);
    t->add_dims(static_cast<int64_t>(p.bytes));
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    for (auto [k, v] : {std::pair<std::string, std::string>{"location", "big.bin"},
                        {"offset", std::to_string(p.offset)},
                        {"length", std::to_string(p.bytes)}}) {
      auto* e = t->add_external_data();
      e->set_key(k);
      e->set_value(v);
    }
  }
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(end)), 0);
  ::close(fd);
  testing::WriteFile(dir / "big.onnx", m.SerializeAsString());
}

TEST(LargeModel, OverTwoGiBRoundTripsByteExactly) {
  testing::TempDir dir;
  const std::vector<Placed> placed = {
      {"small", 100, 4096},
      {"over_2gib", 8192, 2 * kGiB + 12345},  // one tensor larger than 2 GiB
      {"past_4gib", 4 * kGiB + 4096, kGiB},   // offset beyond 32 bits
  };
  WriteLargeModel(dir.path(), placed);
  auto model = LoadModel(dir / "big.onnx");
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ(model->graph.initializers.size(), 3u);
  EXPECT_EQ(model->graph.initializers[1].bytes().size(), 2 * kGiB + 12345);

  ASSERT_TRUE(SaveModel(*model, dir / "copy.onnx").ok());
  auto copy = LoadModel(dir / "copy.onnx");
  ASSERT_TRUE(copy.ok()) << copy.status();
  for (size_t i = 0; i < placed.size(); ++i) {
    EXPECT_TRUE(testing::SameTensor(model->graph.initializers[i], copy->graph.initializers[i]));
    EXPECT_EQ(copy->graph.initializers[i].external_source()->offset % 4096, 0u);
  }
  // Zero pages stayed holes: the copy costs about what the markers do.
  struct stat st;
  ASSERT_EQ(::stat((dir / "copy.onnx.data").c_str(), &st), 0);
  EXPECT_GT(static_cast<uint64_t>(st.st_size), 3 * kGiB);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 64u << 20);
}

}  // namespace
}  // namespace pare
