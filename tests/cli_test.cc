// The `pare` binary as users meet it: exit codes, one-line errors, output.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

// `shell`: commands run first in the same shell (a ulimit).
Result RunPare(const std::string& args, const testing::TempDir& dir,
               const std::string& shell = "") {
  const std::string err_path = (dir / "stderr.txt").string();
  const std::string command = shell + std::string(PARE_BINARY) + " " + args + " 2>" + err_path;
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

// A GGUF file (here pare's export of its trained LM; skipped without it):
// metadata, types and tensors from the header; a damaged one is one line.
TEST(Cli, InspectReadsGgufFiles) {
  testing::TempDir dir;
  const std::filesystem::path lm =
      std::filesystem::path(PARE_MODELS_DIR) / "pare-lm-small" / "model.onnx";
  if (!std::filesystem::exists(lm)) GTEST_SKIP() << lm << " missing";
  const std::string gguf = (dir / "lm.gguf").string();
  ASSERT_EQ(
      RunPare("convert " + lm.string() + " --format gguf --type q8_0 -o " + gguf, dir).exit_code,
      0);
  const Result r = RunPare("inspect --json " + gguf, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["metadata"]["general.architecture"], "llama");
  EXPECT_EQ(j["tensors"].size(), 21u);
  const Result text = RunPare("inspect " + gguf, dir);
  EXPECT_NE(text.out.find("GGUF v3, llama, 21 tensors"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Q8_0"), std::string::npos) << text.out;
  testing::WriteFile(dir / "cut.gguf", std::string("GGUF\x03\0\0\0", 8));
  ExpectOneLineError(RunPare("inspect " + (dir / "cut.gguf").string(), dir), 3, "truncated header");
}

// Calibrated GGUF export of the trained LM: GPTQ into the blocks and the
// calibration's importance matrix, readable by `pare convert --imatrix`;
// --write-imatrix without data and --imatrix with data are refused.
TEST(Cli, GgufCalibratedExportWritesAnImportanceMatrix) {
  testing::TempDir dir;
  const std::filesystem::path lm_dir = std::filesystem::path(PARE_MODELS_DIR) / "pare-lm-small";
  const std::filesystem::path lm = lm_dir / "model.onnx";
  if (!std::filesystem::exists(lm)) GTEST_SKIP() << lm << " missing";
  const std::string base = "convert " + lm.string() + " --format gguf --type q4_k_m -o ";
  const std::string calib =
      " --calib-tokens " + (lm_dir / "calib.tokens").string() + " --seq-len 64 --max-calib 4";
  const std::string imatrix = (dir / "lm.imatrix").string();
  const Result r =
      RunPare(base + (dir / "gptq.gguf").string() + calib + " --write-imatrix " + imatrix, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("16 calibrated"), std::string::npos) << r.out;  // 15 projections, embedding
  EXPECT_NE(r.out.find("importance of 15 weights"), std::string::npos) << r.out;
  const Result with = RunPare(base + (dir / "im.gguf").string() + " --imatrix " + imatrix, dir);
  EXPECT_EQ(with.exit_code, 0) << with.err;
  ExpectOneLineError(
      RunPare(base + (dir / "x.gguf").string() + " --write-imatrix " + (dir / "y.imatrix").string(),
              dir),
      3, "--write-imatrix needs");
  ExpectOneLineError(
      RunPare(base + (dir / "x.gguf").string() + calib + " --imatrix " + imatrix, dir), 3,
      "not both");
  EXPECT_FALSE(std::filesystem::exists(dir / "x.gguf"));
  // Read back: evaluated against the ONNX model it came from (KL small,
  // layers ranked); without --reference, or against another model, refused.
  const std::string eval = "evaluate " + (dir / "gptq.gguf").string() + " --task lm --tokens " +
                           (lm_dir / "heldout.tokens").string() + " --seq-len 64 --max-samples 2";
  const Result e = RunPare(eval + " --reference " + lm.string() + " --per-layer --quiet --json " +
                               (dir / "e.json").string(),
                           dir);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto j = nlohmann::json::parse(testing::ReadFile(dir / "e.json"));
  EXPECT_LT(j["candidates"][0]["lm"]["kl"]["mean"].get<double>(), 0.01);
  EXPECT_GT(j["candidates"][0]["layers"].size(), 10u);
  EXPECT_EQ(j["candidates"][0]["path"], (dir / "gptq.gguf").string());
  ExpectOneLineError(RunPare(eval, dir), 3, "needs --reference");
  // A file cut short names the tensor whose data is missing.
  const std::string bytes = testing::ReadFile(dir / "gptq.gguf");
  testing::WriteFile(dir / "cut.gguf", bytes.substr(0, bytes.size() - 1000));
  ExpectOneLineError(RunPare("evaluate " + (dir / "cut.gguf").string() + " --task lm --tokens " +
                                 (lm_dir / "heldout.tokens").string() +
                                 " --seq-len 64 --max-samples 2 --reference " + lm.string(),
                             dir),
                     3, "data beyond the end of the file");
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
  ExpectOneLineError(RunPare(fresh + " --sparsity 1.5", dir), 2, "not a number from 0 to 1");
  ExpectOneLineError(RunPare(fresh + " --sparsity 1", dir), 3, "outside [0, 1)");
  ExpectOneLineError(RunPare(fresh + " --pattern 3:5", dir), 3,
                     "MatMul_0: 3:5 needs the input dimension (16) to be a multiple of 5");
  ExpectOneLineError(RunPare(fresh + " --method wanda", dir), 3, "calibration data");
  ExpectOneLineError(RunPare(fresh + " --method channels", dir), 3, "graph output 'y'");
  EXPECT_FALSE(std::filesystem::exists(dir / "q.onnx"));
}

// Every file in `dir` with its contents: what a refused command must leave
// exactly as it was (no output, no temporary file, no clobbered input).
std::map<std::string, std::string> Snapshot(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = std::filesystem::relative(e.path(), dir).string();
    if (name == "stderr.txt") continue;
    files[name] = e.is_regular_file() ? testing::ReadFile(e.path()) : std::string("<folder>");
  }
  return files;
}

// tokens [1, T] -> 32-row embedding -> head -> logits [1, T, 32].
void SaveTinyLm(const std::filesystem::path& path) {
  ModelBuilder b("lm");
  b.Input("tokens", DataType::kInt64, {1, -1});
  b.Initializer(RandomTensor("embed", {32, 8}, 1, 1.0f));
  b.Initializer(RandomTensor("head", {8, 32}, 2, 1.0f));
  b.AddNode("Gather", {"embed", "tokens"}, {"h"}, "embedding");
  b.AddNode("MatMul", {"h", "head"}, {"logits"}, "lm_head");
  b.Output("logits", DataType::kFloat32, {1, -1, 32});
  ASSERT_TRUE(SaveModel(std::move(b).Build(), path).ok());
}

// x [N, d1] with both dimensions symbolic: --dim can ask for any size.
void SaveTwoSymbolDims(const std::filesystem::path& path) {
  ModelBuilder b("relu");
  b.Input("x", DataType::kFloat32, {-1, -1});
  b.AddNode("Relu", {"x"}, {"y"});
  b.Output("y", DataType::kFloat32, {-1, -1});
  ASSERT_TRUE(SaveModel(std::move(b).Build(), path).ok());
}

struct BadCommand {
  std::string args;  // {m}: a float model, {lm}: a tiny LM, {d}: the folder
  int exit_code;
  std::string fragment;    // in the one-line error
  std::string shell = "";  // run before pare, e.g. a ulimit
};

std::string Expand(std::string text, const testing::TempDir& dir) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"{m}", (dir / "m.onnx").string()},
                                                        {"{lm}", (dir / "lm.onnx").string()},
                                                        {"{big}", (dir / "big.onnx").string()},
                                                        {"{xy}", (dir / "xy.onnx").string()},
                                                        {"{d}", dir.path().string()}}) {
    for (size_t at; (at = text.find(key)) != std::string::npos;)
      text.replace(at, key.size(), value);
  }
  return text;
}

// Options out of range, outputs that would destroy an input or cannot be
// written, and data a model cannot take: each is refused with one line and
// its exit code, and the folder is left exactly as it was.
TEST(Cli, BadOptionsAndOutputsAreRefusedBeforeAnyWorkAndLoseNothing) {
  testing::TempDir dir;
  SaveLinear(dir / "m.onnx", 1.0f);
  SaveTinyLm(dir / "lm.onnx");
  SaveTwoSymbolDims(dir / "xy.onnx");
  {
    ModelBuilder b("big");  // 256 KiB of weights
    b.Input("x", DataType::kFloat32, {-1, 256});
    b.Initializer(RandomTensor("w", {256, 256}, 4));
    b.AddNode("MatMul", {"x", "w"}, {"y"});
    b.Output("y", DataType::kFloat32, {-1, 256});
    ASSERT_TRUE(SaveModel(std::move(b).Build(), dir / "big.onnx").ok());
  }
  std::filesystem::create_directory(dir / "notes");
  testing::WriteFile(dir / "notes" / "todo.txt", "not an artifact");
  testing::WriteFile(dir / "negative.txt", "1 2 -3 4 5 6");
  testing::WriteFile(dir / "oov.txt", "1 2 3 32 5 6");
  const std::vector<BadCommand> cases = {
      // Outputs.
      {"convert {m} -o {m} --force", 3, "holds the input"},
      {"convert {m} -o {d} --force", 3, "holds the input"},
      {"convert {m} -o {d}/notes --force", 6, "not a pare artifact"},
      {"quantize {m} -o {m} --force --mode dynamic", 3, "is the input"},
      {"prune {m} -o {m} --force", 3, "is the input"},
      {"quantize {m} -o /dev/full --force --mode dynamic", 3, "not a regular file"},
      {"quantize {m} -o {d} --force --mode dynamic", 3, "is a folder"},
      {"quantize {m} -o {d}/q.onnx --mode dynamic --report {d}/none/r.json", 4,
       "none does not exist"},
      {"prune {m} -o {d}/p.onnx --report {d}/notes", 3, "is a folder"},
      {"evaluate --reference {m} {m} --random 1 --dim N=2 --json {d}/none/r.json", 4,
       "none does not exist"},
      {"convert {lm} --format gguf -o {lm} --force", 3, "is the input"},
      // A write that fails part way (here the file-size limit: EFBIG, as
      // ENOSPC on a full disk) is an error, and leaves no partial file.
      {"quantize {big} -o {d}/q.onnx --mode dynamic", 6, "write failed", "ulimit -f 16;"},
      // Option ranges, NaN included.
      {"quantize {m} -o {d}/q.onnx --mode weights --algorithm gptq --damp -1 --calib-random 1", 2,
       "--damp"},
      {"quantize {m} -o {d}/q.onnx --mode weights --algorithm gptq --damp nan --calib-random 1", 2,
       "--damp"},
      {"prune {m} -o {d}/p.onnx --method sparsegpt --damp nan --calib-random 1", 2, "--damp"},
      {"prune {m} -o {d}/p.onnx --sparsity nan", 2, "--sparsity"},
      {"run {m} --threads 100000 --random-inputs", 2, "--threads"},
      {"run {m} --threads -1 --random-inputs", 2, "--threads"},
      {"quantize {m} -o {d}/q.onnx --threads 5000 --mode dynamic", 2, "--threads"},
      {"run {m} --random-inputs --dim N=1e12", 2, "--dim"},
      {"run {m} --random-inputs --dim N=-4", 2, "--dim"},
      {"quantize {m} -o {d}/q.onnx --method percentile --percentile 200 --calib-random 1", 2,
       "--percentile"},
      {"quantize {m} -o {d}/q.onnx --method percentile --percentile nan --calib-random 1", 2,
       "--percentile"},
      {"quantize {m} -o {d}/q.onnx --max-calib -1 --calib-random 1", 2, "--max-calib"},
      {"quantize {m} -o {d}/q.onnx --target-sqnr nan --calib-random 1", 2, "--target-sqnr"},
      {"evaluate --reference {m} {m} --random 1 --min-cosine nan", 2, "--min-cosine"},
      {"convert {m} --budget ''", 2, "--budget"},
      {"convert {m} --budget 18446744073709551616B", 2, "64-bit"},
      {"fit {m} -o {d}/art --weight-budget 0", 2, "--weight-budget"},
      {"convert {m} --context 0", 2, "--context"},
      // Allocations that cannot succeed name what asked for them.
      {"run {xy} --random-inputs --dim N=2147483648 --dim d1=2147483648", 6, "input 'x'"},
      // Token ids the embedding cannot look up.
      {"evaluate --reference {lm} {lm} --task lm --tokens {d}/negative.txt --seq-len 3", 3,
       "negative"},
      {"evaluate --reference {lm} {lm} --task lm --tokens {d}/oov.txt --seq-len 3", 3,
       "outside the vocabulary of 32 ids"},
      {"prune {lm} -o {d}/p.onnx --method wanda --calib-tokens {d}/oov.txt --seq-len 3", 3,
       "outside the vocabulary"},
      {"quantize {lm} -o {d}/q.onnx --calib-tokens {d}/negative.txt --seq-len 3", 3, "negative"},
  };
  const std::map<std::string, std::string> before = Snapshot(dir.path());
  for (const BadCommand& c : cases) {
    SCOPED_TRACE(c.args);
    const std::string args = Expand(c.args, dir);
    const Result r = c.shell.empty() ? RunPare(args, dir) : RunPare(args, dir, c.shell);
    ExpectOneLineError(r, c.exit_code, c.fragment);
    EXPECT_EQ(Snapshot(dir.path()), before);
  }
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
