// `pare convert MODEL`: the memory account of a model on a device (does it
// fit?), and with -o an artifact folder (model, external data, manifest
// with hashes); `pare convert --verify DIR` re-checks an artifact.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "analysis/memory_account.h"
#include "artifacts/artifact.h"
#include "cli/commands.h"
#include "cli/convert_gguf.h"
#include "cli/device_flags.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"
#include "prune/prune.h"
#include "quantize/float16_weights.h"

namespace pare::cli {
namespace {

namespace fs = std::filesystem;

struct ConvertFlags {
  std::string model, output, verify, half, metrics, recipe_note, format = "onnx";
  GgufFlags gguf;
  bool compact = false, json = false, force = false, require_fit = false;
  DeviceFlags device;
};

absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": not JSON"));
  return j;
}

int Verify(const ConvertFlags& f) {
  absl::StatusOr<nlohmann::json> manifest = artifacts::VerifyArtifact(f.verify);
  if (!manifest.ok()) return ReportError(manifest.status());
  if (f.json) {
    std::cout << nlohmann::json{{"verified", true}, {"artifact", f.verify}}.dump(2) << "\n";
  } else {
    std::cout << absl::StrFormat("%s: %d file(s) match their SHA-256; the model loads\n", f.verify,
                                 (*manifest)["files"].size());
  }
  return kExitOk;
}

// Artifact-only steps: half-precision weights, compact sparse weights.
absl::Status Transform(const ConvertFlags& f, Model& model, nlohmann::json& recipe) {
  if (!f.half.empty()) {
    const DataType half = f.half == "bf16" ? DataType::kBFloat16 : DataType::kFloat16;
    // Converted weights wait beside the output until it is written.
    const fs::path parent =
        fs::path(f.output).has_parent_path() ? fs::path(f.output).parent_path() : fs::path(".");
    ASSIGN_OR_RETURN(const quantize::HalfWeights h,
                     quantize::StoreWeightsInHalf(model, half, nullptr, parent));
    std::cerr << absl::StrFormat(
        "%s weights: %d converted (%s -> %s), %d kept in float32 "
        "(out of range)\n",
        f.half, h.converted, analysis::FormatBytes(h.bytes_before),
        analysis::FormatBytes(h.bytes_after), h.kept_out_of_range);
    recipe["half"] = f.half;
  }
  if (f.compact) {
    ASSIGN_OR_RETURN(const int64_t packed, prune::StoreSparseWeightsCompact(model));
    std::cerr << packed << " sparse weight(s) stored as values + bitmask\n";
    recipe["compact"] = true;
  }
  return absl::OkStatus();
}

absl::Status Convert(const ConvertFlags& f) {
  if (f.format == "gguf") return ConvertToGguf(f.model, f.output, f.force, f.gguf);
  ASSIGN_OR_RETURN(const analysis::DeviceProfile device, ResolveDevice(f.device));
  if (!f.output.empty()) {
    RETURN_IF_ERROR(artifacts::CheckArtifactDestination(f.output, f.force, {f.model, f.metrics}));
  }
  ASSIGN_OR_RETURN(Model model, LoadModel(f.model));
  nlohmann::json recipe = {{"source", f.model}};
  if (!f.output.empty()) RETURN_IF_ERROR(Transform(f, model, recipe));
  ASSIGN_OR_RETURN(const analysis::MemoryAccount account,
                   analysis::AccountMemory(model, device, f.device.account));
  if (f.json) {
    std::cout << analysis::AccountToJson(account).dump(2) << "\n";
  } else {
    std::cout << f.model << "\n" << analysis::AccountToText(account);
  }
  if (!f.output.empty()) {
    nlohmann::json manifest = {{"recipe", recipe},
                               {"memory_account", analysis::AccountToJson(account)}};
    if (!f.metrics.empty()) {
      ASSIGN_OR_RETURN(manifest["metrics"], ReadJsonFile(f.metrics));
    }
    ASSIGN_OR_RETURN(const std::vector<artifacts::ArtifactFile> files,
                     artifacts::WriteArtifact(model, f.output, manifest, f.force));
    uint64_t bytes = 0;
    for (const artifacts::ArtifactFile& file : files) bytes += file.bytes;
    (f.json ? std::cerr : std::cout)
        << absl::StrFormat("wrote %s (%d files, %s, manifest.json with SHA-256)\n", f.output,
                           files.size(), analysis::FormatBytes(bytes));
  }
  if (f.require_fit && !account.fits) {
    return absl::AbortedError(
        absl::StrCat(f.model, " does not fit ", device.name, " (--require-fit)"));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterConvert(CLI::App& app, std::function<int()>& run) {
  auto f = std::make_shared<ConvertFlags>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Account for a model's memory on a device (weights by dtype, KV cache for the context, "
      "peak activations, runtime overhead) and say whether it fits, with a decode-speed "
      "ceiling from memory bandwidth. With -o, write an artifact folder: model.onnx with "
      "mmap-aligned external data and manifest.json (SHA-256 of every file, recipe, pare "
      "version, memory account, metrics). --verify DIR re-checks an artifact.");
  cmd->add_option("model", f->model, "The .onnx model");
  cmd->add_option("-o,--output", f->output, "Write the artifact folder here");
  cmd->add_option("--verify", f->verify,
                  "Check an artifact folder: every file's size and SHA-256 against its "
                  "manifest, then load and plan the model");
  cmd->add_option("--half", f->half,
                  "Store remaining float32 weights (MatMul/Gemm/Conv/Gather) as f16 or bf16, "
                  "each cast back to float32 in the graph; norms, biases and small tensors stay "
                  "float32")
      ->check(CLI::IsMember({"f16", "bf16"}));
  cmd->add_flag("--compact", f->compact,
                "Store sparse weights (>= 25% zeros) as values + bitmask (smaller file; "
                "runtimes decode them at load)");
  cmd->add_option("--format", f->format,
                  "onnx (default): an artifact folder; gguf: one GGUF file for llama.cpp, Ollama "
                  "and LM Studio (Llama-family decoders, recognised by structure)")
      ->check(CLI::IsMember({"onnx", "gguf"}));
  AddGgufFlags(*cmd, f->gguf);
  cmd->add_option("--metrics", f->metrics,
                  "A `pare evaluate --json` report to record in the manifest");
  AddDeviceFlags(*cmd, f->device);
  cmd->add_flag("--require-fit", f->require_fit,
                "Exit 1 when the model does not fit the device (for CI)");
  cmd->add_flag("--json", f->json, "Print the memory account as JSON");
  cmd->add_flag("--force", f->force, "Replace an existing artifact folder");
  cmd->callback([f, &run] {
    run = [f] {
      if (!f->verify.empty()) return Verify(*f);
      if (f->model.empty()) {
        return ReportError(absl::InvalidArgumentError("give a MODEL (or --verify DIR)"));
      }
      const absl::Status status = Convert(*f);
      return ReportCheckOrError(status);
    };
  });
}

}  // namespace pare::cli
