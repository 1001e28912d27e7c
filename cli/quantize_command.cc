// `pare quantize MODEL -o OUT`: static int8 quantization (QDQ) calibrated on
// sample inputs, with a JSON report.
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/calibration_flags.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/quantize_flags.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"
#include "data/inputs.h"
#include "data/samples.h"
#include "plan/mixed_precision.h"
#include "quantize/dynamic_int8.h"
#include "quantize/static_int8.h"

namespace pare::cli {

namespace fs = std::filesystem;

absl::StatusOr<quantize::CalibrationData> Calibration(const QuantizeFlags& f, const Model& model) {
  return LoadCalibration(f.calibration, model);
}

void PrintSummary(const quantize::QuantizeReport& report, const std::string& what,
                  const std::string& output) {
  std::cout << absl::StrCat("quantized ", report.quantized_nodes.size(), " node(s) (", what,
                            ")\nweights: ", report.weight_bytes_before, " -> ",
                            report.weight_bytes_after, " bytes; skipped ", report.skipped.size(),
                            " node(s)\nwrote ", output, "\n");
}

absl::Status Save(const QuantizeFlags& f, const Model& model,
                  const quantize::QuantizeReport& report, const nlohmann::json& extra) {
  RETURN_IF_ERROR(SaveModel(model, f.output));
  if (!f.report.empty()) {
    nlohmann::json j = quantize::QuantizeReportToJson(report);
    j.update(extra);
    RETURN_IF_ERROR(WriteTextFile(f.report, j.dump(2) + "\n"));
  }
  return absl::OkStatus();
}

namespace {

// --target-sqnr: the fewest layers promoted (16-bit activations or float)
// for the outputs to meet the target on the validation samples.
absl::Status RunMixed(const QuantizeFlags& f, const Model& model,
                      const quantize::CalibrationData& data, const quantize::StaticInt8Options& o) {
  std::unique_ptr<data::SampleSource> validation;
  const std::string dir = f.validate.empty() ? f.calibration.calib : f.validate;
  if (!dir.empty()) {
    ASSIGN_OR_RETURN(validation, data::DataSamples(model, dir));
  } else {
    ASSIGN_OR_RETURN(auto dims, ParseDims(f.calibration.dims));
    validation =
        data::RandomSamples(model, f.calibration.calib_random, f.calibration.seed + 1000003, dims);
  }
  plan::MixedPrecisionOptions m;
  m.quantize = o;
  m.quantize.progress = nullptr;
  m.min_sqnr_db = *f.target_sqnr;
  m.fallback_float = f.fallback == "float";
  m.threads = f.threads;
  m.log = [](const std::string& line) { std::cerr << "  " << line << "\n"; };
  std::cerr << "searching for the fewest layers to promote (" << validation->Describe() << ")\n";
  ASSIGN_OR_RETURN(plan::MixedPrecisionResult r,
                   plan::QuantizeToTarget(model, data, *validation, m));
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : r.steps) steps.push_back({{"promoted", s.promoted}, {"sqnr_db", s.sqnr_db}});
  const nlohmann::json extra = {{"mixed_precision",
                                 {{"target_sqnr_db", m.min_sqnr_db},
                                  {"met", r.met},
                                  {"sqnr_db", r.sqnr_db},
                                  {"fallback", m.fallback_float ? "float" : "16-bit activations"},
                                  {"validation", validation->Describe()},
                                  {"promoted", r.promoted},
                                  {"steps", steps}}}};
  RETURN_IF_ERROR(Save(f, r.model, r.report, extra));
  PrintSummary(r.report,
               absl::StrCat("int8 mixed: ", r.promoted.size(), " layer(s) ",
                            m.fallback_float ? "kept in float" : "with 16-bit activations",
                            ", validation SQNR ", absl::StrFormat("%.1f", r.sqnr_db), " dB"),
               f.output);
  if (!r.met) {
    std::cerr << absl::StrFormat("warning: the target %.1f dB was not met (best %.1f dB)\n",
                                 m.min_sqnr_db, r.sqnr_db);
  }
  return absl::OkStatus();
}

absl::Status RunDynamic(const QuantizeFlags& f, Model& model) {
  if (f.calibration.any()) {
    return absl::InvalidArgumentError("--calib is for --mode static; dynamic needs no data");
  }
  quantize::DynamicInt8Options o;
  o.per_channel = !f.per_tensor;
  if (!f.op_types.empty()) o.op_types = f.op_types;
  o.exclude = f.exclude;
  ASSIGN_OR_RETURN(quantize::QuantizeReport report, quantize::QuantizeDynamicInt8(model, o));
  RETURN_IF_ERROR(Save(f, model, report));
  PrintSummary(report,
               absl::StrCat("int8 dynamic: DynamicQuantizeLinear + MatMulInteger, ",
                            o.per_channel ? "per-channel" : "per-tensor", " weights"),
               f.output);
  return absl::OkStatus();
}

absl::Status Run(const QuantizeFlags& f) {
  RETURN_IF_ERROR(CheckOutputPath(f.output, f.force, {f.model}));
  RETURN_IF_ERROR(CheckReportPath(f.report, {f.model, f.output}));
  ASSIGN_OR_RETURN(Model model, LoadModel(f.model));
  if (f.mode == "dynamic") return RunDynamic(f, model);
  if (f.mode == "weights") return RunWeightOnly(f, model);
  if (f.format == "matmulnbits") {
    return absl::InvalidArgumentError("--format matmulnbits is for --mode weights");
  }
  if (!f.calibration.any()) {
    return absl::InvalidArgumentError("give --calib DIR (or --calib-random N)");
  }
  ASSIGN_OR_RETURN(quantize::CalibrationData data, Calibration(f, model));
  quantize::StaticInt8Options o;
  // search: start from MSE ranges, then choose each by output error.
  o.range_search = f.method == "search";
  ASSIGN_OR_RETURN(o.calibration.method,
                   quantize::ParseCalibrationMethod(o.range_search ? "mse" : f.method));
  o.range_search_samples = f.search_samples;
  o.search_progress = StderrProgress("searching ranges", "searched ranges of", "activations");
  o.calibration.percentile = f.percentile;
  o.per_channel = !f.per_tensor;
  o.activation_type = f.activation_type == "int8"     ? DataType::kInt8
                      : f.activation_type == "uint16" ? DataType::kUint16
                      : f.activation_type == "int16"  ? DataType::kInt16
                                                      : DataType::kUint8;
  o.symmetric_activations = f.symmetric;
  if (!f.op_types.empty()) o.op_types = f.op_types;
  o.exclude = f.exclude;
  o.wide_nodes = f.wide;
  o.smoothquant_alpha = f.smoothquant;
  o.format = f.format == "qoperator" ? quantize::StaticInt8Options::Format::kQOperator
                                     : quantize::StaticInt8Options::Format::kQdq;
  o.weight_mse_clip = f.weight_clip;
  o.bias_correction = f.bias_correction;
  o.integer_graph = f.integer_graph;
  o.threads = f.threads;
  o.progress = StderrProgress("calibrating", "calibrated", "samples");
  if (f.target_sqnr) return RunMixed(f, model, data, o);
  ASSIGN_OR_RETURN(quantize::QuantizeReport report, quantize::QuantizeStaticInt8(model, data, o));
  RETURN_IF_ERROR(Save(f, model, report));
  PrintSummary(report,
               absl::StrCat("int8 static ", report.format, ", ",
                            o.per_channel ? "per-channel" : "per-tensor", " weights, ",
                            report.method, " ranges from ", report.calibration),
               f.output);
  return absl::OkStatus();
}

// --target-sqnr and what it promotes layers to; --bias-correction.
void AddMixedPrecisionFlags(CLI::App* cmd, QuantizeFlags& f) {
  cmd->add_option("--target-sqnr", f.target_sqnr,
                  "Mixed precision: quantize to 8 bits, rank the layers by the error each adds, "
                  "and promote the fewest of the worst (see --fallback) for every output to "
                  "reach this SQNR (dB) on the validation samples")
      ->check(FiniteRange(0, 200));
  cmd->add_option("--validate", f.validate,
                  "Validation samples for --target-sqnr (default: the calibration samples)");
  cmd->add_option("--fallback", f.fallback,
                  "What --target-sqnr promotes a layer to: wide (16-bit activations, int8 "
                  "weights) or float")
      ->check(CLI::IsMember({"wide", "float"}))
      ->default_val("wide");
  cmd->add_flag("--bias-correction", f.bias_correction,
                "Correct each Conv's bias for the mean shift its weight rounding causes "
                "(input means from calibration)");
  cmd->add_flag("--integer-graph", f.integer_graph,
                "QDQ laid out for integer kernels: quantize the outputs of Conv/MatMul/Gemm "
                "(after a Relu/Clip that is their only reader), Add/Mul of two activations, "
                "Concat, pooling and Sigmoid, with one scale through Reshape/Transpose/"
                "MaxPool/Resize/Slice; ONNX Runtime then fuses QLinearConv chains");
}

}  // namespace

void RegisterQuantize(CLI::App& app, std::function<int()>& run) {
  auto f = std::make_shared<QuantizeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Quantize a float model. --mode static (default): int8 QDQ "
      "(QuantizeLinear/DequantizeLinear around Conv, MatMul and Gemm) with activation ranges "
      "calibrated on sample inputs, weights per channel, biases int32. --mode dynamic: "
      "MatMul/Gemm weights int8, activations quantized at run time. --mode weights: "
      "weight-only block-wise 4-bit (or 2/8-bit) MatMul weights for language models, by RTN, "
      "HQQ, GPTQ or AWQ. Results run in ONNX Runtime and in pare.");
  cmd->add_option("model", f->model, "The float .onnx model")->required();
  cmd->add_option("-o,--output", f->output, "Where to write the quantized model")->required();
  cmd->add_option("--mode", f->mode,
                  "static: QDQ with calibrated activation ranges (needs --calib); dynamic: "
                  "MatMul/Gemm through DynamicQuantizeLinear + MatMulInteger, no data needed; "
                  "weights: weight-only block-wise int4/int8 of MatMul weights (see --bits, "
                  "--algorithm)")
      ->check(CLI::IsMember({"static", "dynamic", "weights"}))
      ->default_val("static");
  AddCalibrationFlags(*cmd, f->calibration, "static int8 ranges, GPTQ and AWQ");
  cmd->add_option("--method", f->method,
                  "Range from calibration: minmax, moving-average, percentile, entropy or mse; or "
                  "search: each activation takes whichever of minmax, mse, entropy and "
                  "percentiles 99.9-99.999 gives the least output error (one model run per "
                  "candidate on --search-samples samples)")
      ->default_val("minmax");
  cmd->add_option("--search-samples", f->search_samples,
                  "Calibration samples each --method search candidate is scored on")
      ->check(CLI::Range(1, 100000))
      ->default_val(8);
  cmd->add_option("--percentile", f->percentile,
                  "For --method percentile: the percentile of |activation| kept (50..100)")
      ->check(FiniteRange(50, 100))
      ->default_val(99.999);
  cmd->add_flag("--per-tensor", f->per_tensor, "One weight scale per tensor, not per channel");
  cmd->add_flag("--weight-clip", f->weight_clip,
                "Choose each weight channel's scale for the least squared error (clipping "
                "rare outlying weights) instead of from its largest magnitude");
  cmd->add_option("--activation-type", f->activation_type,
                  "uint8 or int8; uint16 or int16 for 16-bit activations with int8 weights "
                  "(A16W8: more accurate, not fused into integer kernels by ONNX Runtime)")
      ->check(CLI::IsMember({"uint8", "int8", "uint16", "int16"}))
      ->default_val("uint8");
  cmd->add_flag("--symmetric-activations", f->symmetric, "Zero point 0 (int8) or 128 (uint8)");
  cmd->add_option("--op-types", f->op_types, "Quantize only these (default Conv MatMul Gemm)");
  cmd->add_option("--exclude", f->exclude,
                  "Keep in float the nodes whose name or output matches (exact or a glob such as "
                  "'*attn*'); repeatable");
  cmd->add_option("--wide", f->wide,
                  "Quantize the activation inputs of these nodes (names or globs, as --exclude) "
                  "to 16 bits while the rest stay 8-bit; repeatable");
  AddMixedPrecisionFlags(cmd, *f);
  cmd->add_option("--format", f->format,
                  "static: qdq (QuantizeLinear/DequantizeLinear around float operators, the "
                  "default) or qoperator (QLinearConv/QLinearMatMul on 8-bit tensors); "
                  "weights: matmulnbits (com.microsoft MatMulNBits, the default) or qdq "
                  "(opset-21 block-wise DequantizeLinear feeding MatMul)")
      ->check(CLI::IsMember({"qdq", "qoperator", "matmulnbits"}));
  cmd->add_option("--smoothquant", f->smoothquant,
                  "SmoothQuant with this migration strength (0..1, e.g. 0.5): divide each "
                  "activation's channels by s and multiply the weights' input channels by s "
                  "before quantizing (static mode)")
      ->check(FiniteRange(0, 1));
  AddWeightOnlyFlags(*cmd, *f);
  cmd->add_option("--report", f->report, "Write the JSON report (schema pare.quantize/1)");
  cmd->add_flag("--force", f->force, "Replace an existing output file");
  cmd->add_option("--threads", f->threads, "Worker threads (0: one per core)")
      ->check(ThreadCount())
      ->default_val(0);
  cmd->callback([f, &run] {
    run = [f] {
      const absl::Status status = Run(*f);
      return status.ok() ? kExitOk : ReportError(status);
    };
  });
}

}  // namespace pare::cli
