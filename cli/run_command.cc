// `pare run MODEL`: executes a model on the CPU with pare's runtime.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "core/npy.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"
#include "data/inputs.h"
#include "runtime/session.h"

namespace pare::cli {
namespace {

namespace fs = std::filesystem;

struct RunFlags {
  std::string model;
  std::vector<std::string> inputs;  // NAME=FILE
  std::string data_dir;
  bool random = false;
  uint64_t seed = 1;
  std::vector<std::string> dims;  // NAME=VALUE
  std::string output_dir;
  std::string output_format = "npy";
  int repeat = 1;
  int threads = 0;
  bool profile = false;
};

// The input sets to run: one per --data folder, or one from --input/--random.
absl::StatusOr<std::vector<std::vector<Tensor>>> GatherInputs(const RunFlags& f,
                                                              const Model& model) {
  std::vector<std::vector<Tensor>> sets;
  if (!f.data_dir.empty()) {
    const auto dirs = data::DataSets(f.data_dir);
    if (dirs.empty())
      return absl::NotFoundError(absl::StrCat(f.data_dir, ": no test_data_set_* folders"));
    for (const fs::path& dir : dirs) {
      ASSIGN_OR_RETURN(std::vector<Tensor> set, data::LoadDataSet(model, dir));
      sets.push_back(std::move(set));
    }
    return sets;
  }
  std::vector<Tensor> set;
  if (f.random) {
    ASSIGN_OR_RETURN(auto dims, ParseDims(f.dims));
    ASSIGN_OR_RETURN(set, data::RandomInputs(model, f.seed, dims));
  }
  for (const std::string& spec : f.inputs) {
    ASSIGN_OR_RETURN(auto kv, SplitAssignment(spec, "--input"));
    ASSIGN_OR_RETURN(Tensor t, data::LoadTensorFile(kv.second, kv.first));
    auto same = [&](const Tensor& x) { return x.name() == kv.first; };
    set.erase(std::remove_if(set.begin(), set.end(), same), set.end());
    set.push_back(std::move(t));
  }
  sets.push_back(std::move(set));
  return sets;
}

std::string Describe(const Tensor& t) {
  std::string text =
      absl::StrCat(t.name(), ": ", DataTypeName(t.dtype()), "[", absl::StrJoin(t.dims(), ","), "]");
  auto values = t.ToFloat32();
  if (!values.ok() || values->empty()) return text;
  float lo = (*values)[0], hi = lo;
  double sum = 0;
  for (float v : *values) lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
  absl::StrAppendFormat(&text, "  min %.6g  max %.6g  mean %.6g  first [", lo, hi,
                        sum / values->size());
  for (size_t i = 0; i < std::min<size_t>(4, values->size()); ++i) {
    absl::StrAppendFormat(&text, "%s%.6g", i ? ", " : "", (*values)[i]);
  }
  return text + (values->size() > 4 ? ", ...]" : "]");
}

absl::Status WriteOutputs(const RunFlags& f, const std::vector<Tensor>& outputs, size_t set,
                          size_t sets) {
  if (f.output_dir.empty()) return absl::OkStatus();
  fs::path dir = f.output_dir;
  if (sets > 1) dir /= absl::StrCat("test_data_set_", set);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat(dir.string(), ": ", ec.message()));
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (f.output_format == "pb") {
      RETURN_IF_ERROR(SaveTensorProto(outputs[i], dir / absl::StrCat("output_", i, ".pb")));
    } else {
      std::string file = outputs[i].name();
      std::replace_if(
          file.begin(), file.end(), [](char c) { return c == '/' || c == '\\' || c == ':'; }, '_');
      RETURN_IF_ERROR(SaveNpy(outputs[i], dir / (file + ".npy")));
    }
  }
  return absl::OkStatus();
}

void PrintProfile(const runtime::RunStats& stats) {
  std::vector<std::pair<double, std::string>> rows;
  double total = 0;
  for (const auto& [op, ms] : stats.op_milliseconds) rows.emplace_back(ms, op), total += ms;
  std::sort(rows.rbegin(), rows.rend());
  std::cout << "  time by operator (last run):\n";
  for (const auto& [ms, op] : rows) {
    std::cout << absl::StrFormat("    %-24s %9.3f ms %5.1f%%\n", op, ms,
                                 total ? 100 * ms / total : 0);
  }
  std::vector<std::pair<std::string, double>> nodes = stats.node_milliseconds;
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  nodes.resize(std::min<size_t>(nodes.size(), 10));
  std::cout << "  slowest nodes (last run):\n";
  for (const auto& [label, ms] : nodes) {
    std::cout << absl::StrFormat("    %-40s %9.3f ms %5.1f%%\n", label, ms,
                                 total ? 100 * ms / total : 0);
  }
}

absl::Status Run(const RunFlags& f) {
  std::error_code ec;
  if (!f.output_dir.empty() && fs::exists(f.output_dir, ec) &&
      !fs::is_directory(f.output_dir, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat(f.output_dir, ": --output-dir names a file, not a folder"));
  }
  ASSIGN_OR_RETURN(Model model, LoadModel(f.model));
  ASSIGN_OR_RETURN(auto session, runtime::Session::Create(model, {.threads = f.threads}));
  ASSIGN_OR_RETURN(auto sets, GatherInputs(f, model));
  for (size_t s = 0; s < sets.size(); ++s) {
    std::vector<double> ms;
    absl::StatusOr<std::vector<Tensor>> outputs;
    if (f.repeat > 1) {  // an untimed warm-up run, as ONNX Runtime benchmarks do
      outputs = session->Run(sets[s]);
      if (!outputs.ok()) return outputs.status();
    }
    for (int r = 0; r < std::max(1, f.repeat); ++r) {
      const auto start = std::chrono::steady_clock::now();
      outputs = session->Run(sets[s], {.profile = f.profile});
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      if (!outputs.ok()) return outputs.status();
    }
    if (sets.size() > 1) std::cout << "test_data_set_" << s << ":\n";
    for (const Tensor& t : *outputs) std::cout << "  " << Describe(t) << "\n";
    std::sort(ms.begin(), ms.end());
    std::cout << absl::StrFormat(
        "  latency: min %.3f ms, median %.3f ms over %d run(s); "
        "peak activations %.1f KiB\n",
        ms.front(), ms[ms.size() / 2], ms.size(),
        session->last_run_stats().peak_activation_bytes / 1024.0);
    if (f.profile) PrintProfile(session->last_run_stats());
    RETURN_IF_ERROR(WriteOutputs(f, *outputs, s, sets.size()));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterRun(CLI::App& app, std::function<int()>& run) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Execute a model on the CPU with pare's runtime and print its outputs (and, with "
      "--output-dir, write them). Inputs come from --input files, a --data folder in the ONNX "
      "test layout, or --random-inputs.");
  cmd->add_option("model", f->model, "Path to the .onnx file")->required();
  cmd->add_option("--input", f->inputs, "NAME=FILE (.npy or TensorProto .pb); repeatable");
  cmd->add_option("--data", f->data_dir, "Folder with test_data_set_*/input_*.pb (runs every set)");
  cmd->add_flag("--random-inputs", f->random,
                "Synthesize inputs from the declared types and shapes");
  cmd->add_option("--seed", f->seed, "Seed for --random-inputs")->default_val(1);
  cmd->add_option("--dim", f->dims, "NAME=VALUE for a symbolic dimension (default 1); repeatable")
      ->check(DimAssignment());
  cmd->add_option("--output-dir", f->output_dir, "Write outputs here");
  cmd->add_option("--output-format", f->output_format,
                  "npy (one NAME.npy each) or pb (output_N.pb)")
      ->check(CLI::IsMember({"npy", "pb"}))
      ->default_val("npy");
  cmd->add_option("--repeat", f->repeat,
                  "Run N timed times (after one warm-up) and report min/median latency")
      ->default_val(1)
      ->check(IntegerRange(1));
  cmd->add_option("--threads", f->threads, "Worker threads (0: one per core)")
      ->default_val(0)
      ->check(ThreadCount());
  cmd->add_flag("--profile", f->profile,
                "Print time per operator type and the slowest nodes of the last run");
  cmd->callback([f, &run] {
    run = [f] {
      const absl::Status status = Run(*f);
      return status.ok() ? kExitOk : ReportError(status);
    };
  });
}

}  // namespace pare::cli
