// The `pare` binary as users meet it: exit codes, one-line errors, output.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "core/model_builder.h"
#include "core/npy.h"
#include "core/onnx_io.h"
#include "core/test_util.h"
#include "nlohmann/json.hpp"

namespace pare {
namespace {

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

Result RunPare(const std::string& args, const testing::TempDir& dir) {
  const std::string err_path = (dir / "stderr.txt").string();
  const std::string command = std::string(PARE_BINARY) + " " + args + " 2>" + err_path;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {WEXITSTATUS(status), out, testing::ReadFile(err_path)};
}

void ExpectOneLineError(const Result& r, int code, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(r.err.rfind("pare: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}

TEST(Cli, InspectPrintsJsonForAModel) {
  testing::TempDir dir;
  ModelBuilder b("m");
  b.Input("x", DataType::kFloat32, {-1, 32});
  b.Initializer(RandomTensor("w", {32, 32}, 1));
  b.AddNode("MatMul", {"x", "w"}, {"y"});
  b.Output("y", DataType::kFloat32, {-1, 32});
  ASSERT_TRUE(SaveModel(std::move(b).Build(), dir / "m.onnx").ok());
  const Result r = RunPare("inspect --json " + (dir / "m.onnx").string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["parameters"]["count"], 1024);
  EXPECT_EQ(j["external_data"][0]["location"], "m.onnx.data");
  EXPECT_EQ(j["op_histogram"]["MatMul"], 1);
  const Result text = RunPare("inspect " + (dir / "m.onnx").string(), dir);
  EXPECT_NE(text.out.find("parameters: 1024 (4.00 KiB)"), std::string::npos) << text.out;
}

TEST(Cli, ExitCodesNameTheKindOfFailure) {
  testing::TempDir dir;
  ExpectOneLineError(RunPare("inspect " + (dir / "none.onnx").string(), dir), 4, "none.onnx");
  testing::WriteFile(dir / "junk.onnx", "this is not a protobuf at all \xff\xff\xff");
  ExpectOneLineError(RunPare("inspect " + (dir / "junk.onnx").string(), dir), 3, "junk.onnx");
  const Result usage = RunPare("inspect", dir);
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(RunPare("frobnicate", dir).exit_code, 2);
  EXPECT_EQ(RunPare("--help", dir).exit_code, 0);
  EXPECT_EQ(RunPare("--version", dir).exit_code, 0);
}

// y = x @ w, with w scaled by `scale` (1: the reference itself).
void SaveLinear(const std::filesystem::path& path, float scale) {
  ModelBuilder b("lin");
  b.Input("x", DataType::kFloat32, {-1, 16});
  std::vector<float> w = RandomTensor("w", {16, 4}, 3, 1.0f).ToFloat32().value();
  for (float& v : w) v *= scale;
  b.Initializer(Tensor::FromVector<float>("w", {16, 4}, w));
  b.AddNode("MatMul", {"x", "w"}, {"y"});
  b.Output("y", DataType::kFloat32, {-1, 4});
  ASSERT_TRUE(SaveModel(std::move(b).Build(), path).ok());
}

TEST(Cli, EvaluateGatesDecideTheExitCode) {
  testing::TempDir dir;
  SaveLinear(dir / "ref.onnx", 1.0f);
  SaveLinear(dir / "close.onnx", 1.001f);  // SQNR 60 dB
  const std::string common = "evaluate --reference " + (dir / "ref.onnx").string() +
                             " --random 3 --dim N=2 --quiet " + (dir / "close.onnx").string();
  const Result pass = RunPare(common + " --min-sqnr 50 --json " + (dir / "r.json").string() +
                                  " --junit " + (dir / "r.xml").string(),
                              dir);
  EXPECT_EQ(pass.exit_code, 0) << pass.err;
  const auto j = nlohmann::json::parse(testing::ReadFile(dir / "r.json"));
  EXPECT_EQ(j["schema"], "pare.evaluate/1");
  EXPECT_NEAR(j["candidates"][0]["outputs"][0]["error"]["sqnr_db"].get<double>(), 60.0, 0.01);
  EXPECT_NE(testing::ReadFile(dir / "r.xml").find("failures=\"0\""), std::string::npos);

  const Result fail = RunPare(common + " --min-sqnr 70", dir);
  EXPECT_EQ(fail.exit_code, 1) << fail.err;
  EXPECT_NE(fail.err.find("a gate failed"), std::string::npos) << fail.err;

  // Errors are 2 and above, with one line naming the problem.
  ExpectOneLineError(RunPare(common + " " + (dir / "missing.onnx").string(), dir), 4,
                     "missing.onnx");
  ExpectOneLineError(RunPare(common + " --max-kl 0.1", dir), 3, "--task lm");
  EXPECT_EQ(
      RunPare("evaluate " + (dir / "close.onnx").string() + " --task nonsense", dir).exit_code, 2);
}

TEST(Cli, QuantizeWritesAModelAndAReportAndNeverClobbers) {
  testing::TempDir dir;
  SaveLinear(dir / "ref.onnx", 1.0f);
  const std::string base =
      "quantize " + (dir / "ref.onnx").string() + " -o " + (dir / "q.onnx").string();
  const Result ok = RunPare(base + " --mode dynamic --report " + (dir / "q.json").string(), dir);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto j = nlohmann::json::parse(testing::ReadFile(dir / "q.json"));
  EXPECT_EQ(j["schema"], "pare.quantize/1");
  EXPECT_EQ(j["format"], "dynamic");
  // The output exists now: refused without --force, and left as it was.
  const std::string before = testing::ReadFile(dir / "q.onnx");
  ExpectOneLineError(RunPare(base + " --mode dynamic", dir), 6, "already exists");
  EXPECT_EQ(testing::ReadFile(dir / "q.onnx"), before);
  ExpectOneLineError(RunPare(base + " --force", dir), 3, "--calib");
  const Result stat = RunPare(base + " --force --calib-random 4 --dim N=2", dir);
  EXPECT_EQ(stat.exit_code, 0) << stat.err;
  // And evaluate reads what quantize wrote.
  const Result eval = RunPare("evaluate " + (dir / "q.onnx").string() + " --reference " +
                                  (dir / "ref.onnx").string() + " --random 2 --dim N=2 --quiet",
                              dir);
  EXPECT_EQ(eval.exit_code, 0) << eval.err;
  // Mixed precision records its search in the report.
  const Result mixed = RunPare(base + " --force --calib-random 4 --dim N=2 --target-sqnr 10 " +
                                   "--report " + (dir / "m.json").string(),
                               dir);
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  const auto m = nlohmann::json::parse(testing::ReadFile(dir / "m.json"));
  EXPECT_TRUE(m["mixed_precision"]["met"].get<bool>()) << m.dump();
  EXPECT_FALSE(m["mixed_precision"]["steps"].empty());
}

TEST(Cli, QuantizeWeightsWritesInt4AndChecksTheRecipe) {
  testing::TempDir dir;
  SaveLinear(dir / "ref.onnx", 1.0f);
  const std::string base = "quantize " + (dir / "ref.onnx").string() + " -o " +
                           (dir / "q4.onnx").string() + " --mode weights --block-size 16";
  const Result ok = RunPare(base + " --report " + (dir / "q4.json").string(), dir);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("bits per weight"), std::string::npos) << ok.out;
  const auto j = nlohmann::json::parse(testing::ReadFile(dir / "q4.json"));
  EXPECT_EQ(j["format"], "matmulnbits");
  EXPECT_EQ(j["tensors"][0]["bits"], 4);
  EXPECT_EQ(j["tensors"][0]["algorithm"], "rtn");

  testing::WriteFile(dir / "bad.json", "{\"layers\": [{\"match\": \"*\", \"bitz\": 8}]}");
  ExpectOneLineError(RunPare(base + " --force --recipe " + (dir / "bad.json").string(), dir), 3,
                     "bitz");
  ExpectOneLineError(RunPare(base + " --force --algorithm gptq", dir), 3, "calibration");
  testing::WriteFile(dir / "r.json", "{\"layers\": [{\"match\": \"*\", \"bits\": 8}]}");
  const Result eight =
      RunPare(base + " --force --format qdq --recipe " + (dir / "r.json").string() + " --report " +
                  (dir / "q8.json").string(),
              dir);
  ASSERT_EQ(eight.exit_code, 0) << eight.err;
  EXPECT_EQ(nlohmann::json::parse(testing::ReadFile(dir / "q8.json"))["tensors"][0]["bits"], 8);
}

TEST(Cli, PruneWritesASparseModelAndRefusesBadInput) {
  testing::TempDir dir;
  SaveLinear(dir / "ref.onnx", 1.0f);
  const std::string base =
      "prune " + (dir / "ref.onnx").string() + " --include-head -o " + (dir / "p.onnx").string();
  const Result ok = RunPare(base + " --pattern 2:4 --report " + (dir / "p.json").string(), dir);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("sparsity 50.0% of 64 weights"), std::string::npos) << ok.out;
  const auto j = nlohmann::json::parse(testing::ReadFile(dir / "p.json"));
  EXPECT_EQ(j["schema"], "pare.prune/1");
  EXPECT_EQ(j["layers"][0]["pattern"], "2:4");
  EXPECT_EQ(j["layers"][0]["achieved"], 0.5);
  EXPECT_EQ(j["totals"]["bytes_compact"], 32 * 4 + 8);

  ExpectOneLineError(RunPare(base, dir), 6, "already exists");
  const std::string fresh =
      "prune " + (dir / "ref.onnx").string() + " --include-head -o " + (dir / "q.onnx").string();
  ExpectOneLineError(RunPare(fresh + " --sparsity 1.5", dir), 3, "outside [0, 1)");
  ExpectOneLineError(RunPare(fresh + " --pattern 3:5", dir), 3,
                     "MatMul_0: 3:5 needs the input dimension (16) to be a multiple of 5");
  ExpectOneLineError(RunPare(fresh + " --method wanda", dir), 3, "calibration data");
  ExpectOneLineError(RunPare(fresh + " --method channels", dir), 3, "graph output 'y'");
  EXPECT_FALSE(std::filesystem::exists(dir / "q.onnx"));
}

}  // namespace
}  // namespace pare

namespace pare {
namespace {

// x [N, 64] -> MatMul -> Relu -> MatMul -> y [N, 64].
void SaveMlp(const std::filesystem::path& path) {
  ModelBuilder b("mlp");
  b.Input("x", DataType::kFloat32, {-1, 64});
  b.Initializer(RandomTensor("w1", {64, 64}, 1, 0.2f));
  b.Initializer(RandomTensor("w2", {64, 64}, 2, 0.2f));
  b.AddNode("MatMul", {"x", "w1"}, {"h"}, "fc1");
  b.AddNode("Relu", {"h"}, {"r"}, "act");
  b.AddNode("MatMul", {"r", "w2"}, {"y"}, "fc2");
  b.Output("y", DataType::kFloat32, {-1, 64});
  ASSERT_TRUE(SaveModel(std::move(b).Build(), path).ok());
}

TEST(Cli, ConvertAccountsVerifiesAndCatchesTampering) {
  testing::TempDir dir;
  SaveMlp(dir / "m.onnx");
  const std::string model = (dir / "m.onnx").string();
  const Result account = RunPare("convert " + model + " --device m4-16gb", dir);
  ASSERT_EQ(account.exit_code, 0) << account.err;
  EXPECT_NE(account.out.find("verdict: fits"), std::string::npos) << account.out;
  const Result json = RunPare("convert " + model + " --budget 1kB --json --require-fit", dir);
  EXPECT_EQ(json.exit_code, 1) << json.err;
  EXPECT_FALSE(nlohmann::json::parse(json.out)["fits"].get<bool>());
  ExpectOneLineError(RunPare("convert " + model + " --device pixel-9", dir), 4, "m4-24gb");

  const std::string out = (dir / "art").string();
  const Result written = RunPare("convert " + model + " -o " + out + " --half f16", dir);
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_EQ(RunPare("convert --verify " + out, dir).exit_code, 0);
  // Never clobbered without --force.
  ExpectOneLineError(RunPare("convert " + model + " -o " + out, dir), 6, "--force");
  const auto manifest = nlohmann::json::parse(testing::ReadFile(dir / "art" / "manifest.json"));
  EXPECT_EQ(manifest["recipe"]["half"], "f16");
  EXPECT_EQ(manifest["memory_account"]["weights_by_dtype"]["float16"], 2 * 64 * 64 * 2);
  // One flipped byte in the weights.
  std::string data = testing::ReadFile(dir / "art" / "model.onnx.data");
  data[100] ^= 0x01;
  testing::WriteFile(dir / "art" / "model.onnx.data", data);
  ExpectOneLineError(RunPare("convert --verify " + out, dir), 3,
                     "model.onnx.data: SHA-256 mismatch");
}

TEST(Cli, FitAndSweepBuildArtifactsWithinTheBudget) {
  testing::TempDir dir;
  SaveMlp(dir / "m.onnx");
  const std::string model = (dir / "m.onnx").string();
  for (int s = 0; s < 2; ++s) {
    const auto sample = dir / "data" / ("test_data_set_" + std::to_string(s));
    std::filesystem::create_directories(sample);
    ASSERT_TRUE(SaveNpy(RandomTensor("x", {4, 64}, 10 + s), sample / "x.npy").ok());
  }
  // Float32 weights are 32 KiB; 12 kB leaves room for int8 in one layer at most.
  const Result fit =
      RunPare("fit " + model + " -o " + (dir / "fit").string() + " --weight-budget 12kB --calib " +
                  (dir / "data").string() + " --eval-data " + (dir / "data").string() + " --json",
              dir);
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const auto j = nlohmann::json::parse(fit.out);
  EXPECT_LE(j["memory_after"]["weight_bytes"].get<uint64_t>(), 12000u);
  EXPECT_TRUE(j.contains("measured_loss"));
  EXPECT_EQ(RunPare("convert --verify " + (dir / "fit").string(), dir).exit_code, 0);
  ExpectOneLineError(
      RunPare("fit " + model + " -o " + (dir / "tiny").string() + " --weight-budget 100B", dir), 1,
      "smallest precision");

  const std::string sweep = "sweep " + model + " -o " + (dir / "report").string() +
                            " --recipes int8,int4-g32,fit@12kB --calib " + (dir / "data").string() +
                            " --eval-data " + (dir / "data").string();
  const Result first = RunPare(sweep, dir);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("| int4-g32 |"), std::string::npos) << first.out;
  const std::string html = testing::ReadFile(dir / "report" / "report.html");
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  const Result again = RunPare(sweep, dir);  // every result cached
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(std::count(again.err.begin(), again.err.end(), '\n'), 3) << again.err;
  EXPECT_NE(again.err.find("int8: cached"), std::string::npos) << again.err;

  // Split across two "machines", then joined: every recipe once, the original once.
  const std::string data = " --eval-data " + (dir / "data").string();
  const std::string recipes = " --recipes int8,int4-g32,int4-g128";
  for (int shard = 0; shard < 2; ++shard) {
    const Result part =
        RunPare("sweep " + model + " -o " + (dir / ("s" + std::to_string(shard))).string() +
                    recipes + data + " --shard " + std::to_string(shard) + "/2",
                dir);
    ASSERT_EQ(part.exit_code, 0) << part.err;
  }
  const Result merged = RunPare("sweep --merge " + (dir / "s0").string() + " " +
                                    (dir / "s1").string() + " -o " + (dir / "all").string(),
                                dir);
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  for (const char* row : {"| original |", "| int8 |", "| int4-g32 |", "| int4-g128 |"}) {
    const size_t at = merged.out.find(row);
    EXPECT_NE(at, std::string::npos) << merged.out;
    EXPECT_EQ(merged.out.find(row, at + 1), std::string::npos) << merged.out;
  }
  ExpectOneLineError(
      RunPare("sweep " + model + " -o " + (dir / "x").string() + data + " --shard 2/2", dir), 3,
      "--shard");
}

}  // namespace
}  // namespace pare
