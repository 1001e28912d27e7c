// Runs the ONNX backend test data shipped in Debian's libonnx-testdata
// through pare's executor and compares every output with the suite's
// expected values (numpy.testing.assert_allclose defaults: rtol 1e-3,
// atol 1e-7; exact for integers and bool).
//
//   conformance_runner [--data DIR] [--known-failures FILE] [--verbose]
//
// Cases whose model uses an operator pare does not implement, or whose
// inputs are not tensors, are skipped with the reason; cases listed in the
// known-failures file are skipped as known. Ends with
// "N passed, N failed, N skipped" and exits non-zero on any failure.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "core/onnx_io.h"
#include "runtime/session.h"

namespace fs = std::filesystem;
using pare::DataType;
using pare::Tensor;

namespace {

struct Outcome {
  enum Kind { kPass, kFail, kSkip } kind;
  std::string reason;
};

std::vector<fs::path> Sorted(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  }
  // input_10 after input_9: sort by the number after the prefix.
  std::sort(out.begin(), out.end(), [&](const fs::path& a, const fs::path& b) {
    auto num = [&](const fs::path& p) {
      std::string s = p.stem().string().substr(prefix.size());
      return s.empty() ? 0 : std::atoi(s.c_str());
    };
    return num(a) < num(b);
  });
  return out;
}

// Debian's ONNX 1.12 test data stores bfloat16 tensors as uint16 bit
// patterns; read them as the type the graph declares.
Tensor AsDeclared(const Tensor& t, const std::vector<pare::ValueInfo>& declared,
                  const std::string& name) {
  Tensor out = t.WithDims(t.dims());
  for (const auto& v : declared) {
    if (v.name == name && v.elem_type == DataType::kBFloat16 && t.dtype() == DataType::kUint16) {
      out = Tensor::FromBytes(name, DataType::kBFloat16, t.dims(),
                              std::vector<uint8_t>(t.bytes().begin(), t.bytes().end()));
    }
  }
  out.set_name(name);
  return out;
}

std::string Compare(const Tensor& expected_file, const Tensor& got) {
  const Tensor expected =
      expected_file.dtype() == DataType::kUint16 && got.dtype() == DataType::kBFloat16
          ? Tensor::FromBytes(
                "", DataType::kBFloat16, expected_file.dims(),
                std::vector<uint8_t>(expected_file.bytes().begin(), expected_file.bytes().end()))
          : expected_file;
  if (expected.dtype() != got.dtype()) {
    return std::string("dtype ") + pare::DataTypeName(got.dtype()) +
           " != " + pare::DataTypeName(expected.dtype());
  }
  if (expected.dims() != got.dims()) return "shape differs";
  if (expected.dtype() == DataType::kString)
    return expected.strings() == got.strings() ? "" : "strings differ";
  const bool is_float = pare::Info(expected.dtype()).is_float;
  if (!is_float) {
    return std::equal(expected.bytes().begin(), expected.bytes().end(), got.bytes().begin())
               ? ""
               : "values differ";
  }
  auto e = expected.ToFloat32();
  auto g = got.ToFloat32();
  if (!e.ok() || !g.ok()) return "cannot compare this float type";
  for (size_t i = 0; i < e->size(); ++i) {
    const double a = (*g)[i], b = (*e)[i];
    if (std::isnan(a) && std::isnan(b)) continue;
    if (a == b) continue;
    if (!(std::abs(a - b) <= 1e-7 + 1e-3 * std::abs(b))) {
      return "value " + std::to_string(i) + " is " + std::to_string(a) + ", expected " +
             std::to_string(b);
    }
  }
  return "";
}

Outcome RunCase(const fs::path& dir) {
  auto model = pare::LoadModel(dir / "model.onnx");
  if (!model.ok()) return {Outcome::kFail, "load: " + std::string(model.status().message())};
  auto session = pare::runtime::Session::Create(*model, {.threads = 1});
  if (!session.ok()) {
    if (session.status().code() == absl::StatusCode::kUnimplemented) {
      const std::string m(session.status().message());
      const size_t at = m.find("operator ");
      return {Outcome::kSkip, "unsupported " + (at == std::string::npos ? m : m.substr(at))};
    }
    return {Outcome::kFail, "plan: " + std::string(session.status().message())};
  }
  std::vector<std::string> input_names;
  std::set<std::string> initializers;
  for (const Tensor& t : model->graph.initializers) initializers.insert(t.name());
  for (const auto& v : model->graph.inputs) {
    if (!initializers.count(v.name)) input_names.push_back(v.name);
  }
  const auto datasets = Sorted(dir, "test_data_set_");
  if (datasets.empty()) return {Outcome::kSkip, "no test data"};
  for (const fs::path& data : datasets) {
    std::vector<Tensor> inputs;
    const auto input_files = Sorted(data, "input_");
    for (size_t i = 0; i < input_files.size() && i < input_names.size(); ++i) {
      auto t = pare::LoadTensorProto(input_files[i]);
      if (!t.ok()) return {Outcome::kSkip, "non-tensor inputs"};
      Tensor named = AsDeclared(*t, model->graph.inputs, input_names[i]);
      inputs.push_back(std::move(named));
    }
    for (const auto& v : model->graph.inputs) {
      if (!v.is_tensor) return {Outcome::kSkip, "non-tensor inputs"};
    }
    auto outputs = (*session)->Run(inputs);
    if (!outputs.ok()) {
      if (outputs.status().code() == absl::StatusCode::kUnimplemented) {
        return {Outcome::kSkip, "unsupported: " + std::string(outputs.status().message())};
      }
      return {Outcome::kFail, "run: " + std::string(outputs.status().message())};
    }
    const auto expected_files = Sorted(data, "output_");
    for (size_t i = 0; i < expected_files.size(); ++i) {
      auto expected = pare::LoadTensorProto(expected_files[i]);
      if (!expected.ok()) return {Outcome::kSkip, "non-tensor outputs"};
      if (i >= outputs->size()) return {Outcome::kFail, "missing output"};
      const std::string diff = Compare(*expected, (*outputs)[i]);
      if (!diff.empty()) return {Outcome::kFail, "output " + std::to_string(i) + ": " + diff};
    }
  }
  return {Outcome::kPass, ""};
}

std::set<std::string> ReadList(const std::string& path) {
  std::set<std::string> out;
  if (path.empty()) return out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') out.insert(line.substr(0, line.find(' ')));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path root = "/usr/share/libonnx-testdata/data";
  std::string known_path;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc)
      root = argv[++i];
    else if (arg == "--known-failures" && i + 1 < argc)
      known_path = argv[++i];
    else if (arg == "--verbose")
      verbose = true;
  }
  if (!fs::exists(root)) {
    std::cout << "no conformance data at " << root << "\n0 passed, 0 failed, 0 skipped\n";
    return 0;
  }
  const std::set<std::string> known = ReadList(known_path);
  int passed = 0, failed = 0, skipped = 0, node_total = 0, node_passed = 0;
  std::map<std::string, int> skip_reasons;
  for (const char* suite : {"node", "simple", "pytorch-converted", "pytorch-operator"}) {
    if (!fs::exists(root / suite)) continue;
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(root / suite)) {
      if (fs::exists(e.path() / "model.onnx")) cases.push_back(e.path());
    }
    std::sort(cases.begin(), cases.end());
    for (const fs::path& dir : cases) {
      const std::string name = std::string(suite) + "/" + dir.filename().string();
      Outcome outcome;
      try {
        outcome = RunCase(dir);
      } catch (const std::exception& e) {
        outcome = {Outcome::kFail, std::string("exception: ") + e.what()};
      }
      if (std::string(suite) == "node") ++node_total;
      if (outcome.kind == Outcome::kFail && known.count(name)) {
        outcome = {Outcome::kSkip, "known failure (tests/conformance_known_failures.txt)"};
      }
      switch (outcome.kind) {
        case Outcome::kPass:
          ++passed;
          if (std::string(suite) == "node") ++node_passed;
          if (verbose) std::cout << "PASS " << name << "\n";
          break;
        case Outcome::kFail:
          ++failed;
          std::cout << "FAIL " << name << ": " << outcome.reason << "\n";
          break;
        case Outcome::kSkip:
          ++skipped;
          ++skip_reasons[outcome.reason];
          if (verbose) std::cout << "SKIP " << name << ": " << outcome.reason << "\n";
          break;
      }
    }
  }
  std::cout << "skipped, by reason:\n";
  std::vector<std::pair<int, std::string>> reasons;
  for (const auto& [reason, count] : skip_reasons) reasons.emplace_back(count, reason);
  std::sort(reasons.rbegin(), reasons.rend());
  for (const auto& [count, reason] : reasons) std::cout << "  " << count << "  " << reason << "\n";
  std::cout << "node cases passing: " << node_passed << " of " << node_total << " ("
            << (node_total ? 100.0 * node_passed / node_total : 0) << "%)\n";
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  return failed == 0 ? 0 : 1;
}
