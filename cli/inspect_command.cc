// `pare inspect MODEL [--json] [--infer-shapes] [--top N]`; MODEL may be GGUF.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/inspect_gguf.h"
#include "core/model_summary.h"
#include "core/onnx_io.h"
#include "core/shape_inference.h"

namespace pare::cli {
namespace {

struct InspectFlags {
  std::string model;
  bool json = false;
  bool infer_shapes = false;
  size_t top = 10;
};

int RunInspect(const InspectFlags& flags) {
  if (IsGgufFile(flags.model)) return InspectGguf(flags.model, flags.json, flags.top);
  absl::StatusOr<Model> model = LoadModel(flags.model);
  if (!model.ok()) return ReportError(model.status());
  if (flags.infer_shapes) {
    if (absl::Status s = InferShapes(*model); !s.ok()) {
      return ReportError(absl::Status(s.code(), flags.model + ": " + std::string(s.message())));
    }
  }
  const ModelSummary summary = Summarize(*model, flags.top);
  if (flags.json) {
    std::cout << SummaryToJson(summary).dump(2) << "\n";
  } else {
    std::cout << SummaryToText(summary);
  }
  return kExitOk;
}

}  // namespace

void RegisterInspect(CLI::App& app, std::function<int()>& run) {
  auto flags = std::make_shared<InspectFlags>();
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "Summarize an ONNX model: operators, parameter counts and bytes by dtype, inputs and "
      "outputs, opsets, external data files and the largest tensors. Reads only metadata "
      "from external data (memory-mapped), so it is fast on models of any size. A GGUF file "
      "(llama.cpp's or pare's) gets its metadata, parameters and bytes by tensor type, and "
      "its largest tensors.");
  cmd->add_option("model", flags->model, "Path to the .onnx or .gguf file")->required();
  cmd->add_flag("--json", flags->json, "Print JSON (schema pare.inspect/1, docs/inspect-json.md)");
  cmd->add_flag("--infer-shapes", flags->infer_shapes,
                "Run ONNX shape inference first, to show output shapes the file leaves out");
  cmd->add_option("--top", flags->top, "How many of the largest tensors to list")
      ->default_val(10)
      ->check(IntegerRange(0));
  cmd->callback([flags, &run] { run = [flags] { return RunInspect(*flags); }; });
}

}  // namespace pare::cli
