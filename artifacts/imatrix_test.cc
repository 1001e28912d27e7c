// Importance matrices: pare's GGUF form reads back as written, llama.cpp's
// legacy .dat form reads, and a damaged file is refused naming it.

#include "artifacts/imatrix.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace pare::artifacts {
namespace {

namespace fs = std::filesystem;

fs::path TempPath(const std::string& name) {
  return fs::temp_directory_path() / (std::to_string(::getpid()) + "_" + name);
}

TEST(Imatrix, GgufFormRoundTrips) {
  ImportanceMatrix m;
  m.entries["blk.0.attn_q.weight"] = {{1, 4, 9, 16}, 2};
  m.entries["output.weight"] = {{0.5f, 0.25f}, 4};
  m.datasets = {"calib.tokens"};
  m.chunk_count = 3;
  m.chunk_size = 128;
  const fs::path path = TempPath("round.imatrix");
  ASSERT_TRUE(WriteImatrix(m, path).ok());
  absl::StatusOr<ImportanceMatrix> back = ReadImatrix(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->entries.size(), 2u);
  EXPECT_EQ(back->Mean("blk.0.attn_q.weight"), (std::vector<float>{0.5f, 2, 4.5f, 8}));
  EXPECT_EQ(back->Mean("output.weight"), (std::vector<float>{0.125f, 0.0625f}));
  EXPECT_EQ(back->chunk_count, 3u);
  EXPECT_EQ(back->chunk_size, 128u);
  EXPECT_TRUE(back->Mean("missing").empty());
  fs::remove(path);
}

// llama-imatrix's legacy file: entries, each name, calls, values (mean
// squares times calls); then the chunk count and the dataset.
TEST(Imatrix, ReadsLlamaCppsLegacyForm) {
  const fs::path path = TempPath("legacy.dat");
  {
    std::ofstream out(path, std::ios::binary);
    auto put = [&](int32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    put(1);
    const std::string name = "blk.3.ffn_down.weight";
    put(static_cast<int32_t>(name.size()));
    out.write(name.data(), static_cast<std::streamsize>(name.size()));
    put(10);  // calls
    put(3);   // values
    const float values[3] = {10, 20, 30};
    out.write(reinterpret_cast<const char*>(values), sizeof(values));
    put(10);
    const std::string dataset = "wiki.train.raw";
    put(static_cast<int32_t>(dataset.size()));
    out.write(dataset.data(), static_cast<std::streamsize>(dataset.size()));
  }
  absl::StatusOr<ImportanceMatrix> m = ReadImatrix(path);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->Mean("blk.3.ffn_down.weight"), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(m->chunk_count, 10u);
  ASSERT_EQ(m->datasets.size(), 1u);
  EXPECT_EQ(m->datasets[0], "wiki.train.raw");
  fs::remove(path);
}

TEST(Imatrix, RefusesADamagedFileNamingIt) {
  const fs::path path = TempPath("bad.dat");
  {
    std::ofstream out(path, std::ios::binary);
    const int32_t entries = 2, len = 5;
    out.write(reinterpret_cast<const char*>(&entries), 4);
    out.write(reinterpret_cast<const char*>(&len), 4);
    out.write("blk.0", 5);  // then nothing
  }
  const absl::Status s = ReadImatrix(path).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path.string()), std::string::npos) << s;
  EXPECT_NE(s.message().find("blk.0"), std::string::npos) << s;
  fs::remove(path);
}

}  // namespace
}  // namespace pare::artifacts
