#include "plan/fit.h"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "artifacts/artifact.h"
#include "core/atomic_file.h"
#include "core/graph_edit.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"
#include "evaluate/evaluate.h"
#include "evaluate/report.h"
#include "prune/prune.h"

namespace pare::plan {

using analysis::AccountMemory;
using analysis::AccountToJson;
using analysis::FormatBytes;
using analysis::WeightBudget;
using artifacts::ArtifactFile;
using artifacts::CheckArtifactDestination;
using artifacts::kManifestFile;
using artifacts::kModelFile;
using artifacts::WriteArtifact;

namespace {

namespace fs = std::filesystem;

void Log(const FitOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

absl::StatusOr<std::unique_ptr<data::SampleSource>> SensitivitySamples(const Model& model,
                                                                       const FitOptions& o) {
  if (!o.calib_tokens.empty()) return data::TokenSamples(model, o.calib_tokens, o.seq_len);
  return data::DataSamples(model, o.calib_data);
}

// Keeps the first `count` samples of a source.
class FirstSamples : public data::SampleSource {
 public:
  FirstSamples(const data::SampleSource& all, int64_t count) : all_(all), count_(count) {}
  int64_t size() const override { return std::min(count_, all_.size()); }
  absl::StatusOr<data::Sample> Get(int64_t i) const override { return all_.Get(i); }
  std::string Describe() const override { return all_.Describe(); }

 private:
  const data::SampleSource& all_;
  int64_t count_;
};

nlohmann::json CandidateNames(const FitOptions& o) {
  nlohmann::json names = nlohmann::json::array();
  for (const Precision& p : o.candidates) names.push_back(p.name);
  return names;
}

// Losses measured before for the same layers and candidates, if kept.
bool LoadSensitivity(const FitOptions& o, FitResult& r) {
  std::ifstream in(o.sensitivity_cache);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || j.value("candidates", nlohmann::json()) != CandidateNames(o) ||
      !j.contains("layers") || j["layers"].size() != r.layers.size()) {
    return false;
  }
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const nlohmann::json& l = j["layers"][i];
    if (l.value("node", "") != r.layers[i].node) return false;
    r.layers[i].loss = l["loss"].get<std::vector<double>>();
  }
  r.loss_kind = static_cast<LossKind>(j.value("loss_kind", 0));
  Log(o, absl::StrCat("sensitivity: reused ", o.sensitivity_cache.string()));
  return true;
}

absl::Status SaveSensitivity(const FitOptions& o, const FitResult& r) {
  nlohmann::json j = {{"candidates", CandidateNames(o)},
                      {"loss_kind", static_cast<int>(r.loss_kind)},
                      {"layers", nlohmann::json::array()}};
  for (const PlanLayer& l : r.layers) j["layers"].push_back({{"node", l.node}, {"loss", l.loss}});
  return WriteFileAtomically(o.sensitivity_cache, j.dump() + "\n");
}

absl::Status MeasureOrProxy(const Model& model, const FitOptions& o, FitResult& r);

absl::Status Sensitivity(const Model& model, const FitOptions& o, FitResult& r) {
  if (o.candidates.size() == 1) return absl::OkStatus();  // nothing to choose
  if (!o.sensitivity_cache.empty() && LoadSensitivity(o, r)) return absl::OkStatus();
  RETURN_IF_ERROR(MeasureOrProxy(model, o, r));
  if (o.sensitivity_cache.empty()) return absl::OkStatus();
  return SaveSensitivity(o, r);
}

absl::Status MeasureOrProxy(const Model& model, const FitOptions& o, FitResult& r) {
  if (o.calib_tokens.empty() && o.calib_data.empty()) {
    r.loss_kind = LossKind::kWeightError;
    Log(o, absl::StrCat("sensitivity: no calibration data; each weight's own error at each of ",
                        o.candidates.size(), " precisions"));
    return ProxySensitivity(model, o.candidates, r.layers, o.progress);
  }
  r.loss_kind = o.calib_tokens.empty() ? LossKind::kNoisePower : LossKind::kKl;
  ASSIGN_OR_RETURN(const auto all, SensitivitySamples(model, o));
  const FirstSamples samples(*all, o.calib_samples);
  Log(o,
      absl::StrFormat("sensitivity: %d layers x %d precisions, each alone, on %d samples (%s)",
                      r.layers.size(), o.candidates.size(), samples.size(), LossName(r.loss_kind)));
  return MeasureSensitivity(model, samples, r.loss_kind == LossKind::kKl, o.candidates, r.layers,
                            {.threads = o.threads, .progress = o.progress});
}

// Bytes left for the planned layers: the device's (or the given) weight
// budget less every weight the plan does not touch.
absl::StatusOr<uint64_t> PlannedBudget(const Model& model, const FitOptions& o, FitResult& r) {
  const int64_t all =
      o.weight_budget ? static_cast<int64_t>(*o.weight_budget) : WeightBudget(r.before);
  uint64_t planned_now = 0;
  const Constants constants(model.graph);
  for (const PlanLayer& l : r.layers) {
    if (const Tensor* w = constants.Find(l.weight)) planned_now += w->bytes().size();
  }
  const int64_t fixed = static_cast<int64_t>(r.before.weight_bytes - planned_now);
  if (all - fixed <= 0) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the weights the planner does not touch (embeddings, norms: %s) already fill the %s "
        "left for weights on %s",
        FormatBytes(fixed), FormatBytes(std::max<int64_t>(all, 0)), o.device.name));
  }
  return static_cast<uint64_t>(all - fixed);
}

absl::StatusOr<Plan> Choose(const FitResult& r, const FitOptions& o, double loss_target) {
  if (o.candidates.size() == 1) return UniformPlan(r.layers, 0);
  if (std::isfinite(loss_target))
    return SmallestPlanWithin(r.layers, r.planned_budget, loss_target);
  return SolvePlan(r.layers, r.planned_budget);
}

absl::Status Build(const fs::path& model_path, const fs::path& output, const FitOptions& o,
                   FitResult& r, bool replace) {
  ASSIGN_OR_RETURN(Model model, LoadModel(model_path));
  if (!o.prune_pattern.empty()) {
    prune::PruneOptions p{.include_head = false};
    ASSIGN_OR_RETURN(p.pattern, prune::ParseNmPattern(o.prune_pattern));
    RETURN_IF_ERROR(prune::Prune(model, nullptr, p).status());
  }
  const fs::path parent = output.has_parent_path() ? output.parent_path() : fs::path(".");
  RETURN_IF_ERROR(
      ApplyPlan(model, r.layers, o.candidates, r.plan,
                {.algorithm = o.algorithm, .spill_directory = parent, .threads = o.threads}));
  ASSIGN_OR_RETURN(r.after, AccountMemory(model, o.device, o.account));
  nlohmann::json manifest = {{"recipe",
                              {{"source", model_path.string()},
                               {"candidates", nlohmann::json::array()},
                               {"algorithm", quantize::WeightAlgorithmName(o.algorithm)},
                               {"prune", o.prune_pattern},
                               {"loss", LossName(r.loss_kind)},
                               {"plan", PlanToJson(r.layers, o.candidates, r.plan)}}},
                             {"memory_account", AccountToJson(r.after)}};
  for (const Precision& p : o.candidates) manifest["recipe"]["candidates"].push_back(p.name);
  ASSIGN_OR_RETURN(const std::vector<ArtifactFile> files,
                   WriteArtifact(model, output, manifest, replace));
  r.artifact_bytes = r.external_bytes = 0;
  for (const ArtifactFile& f : files) {
    r.artifact_bytes += f.bytes;
    if (f.path.size() > 5 && f.path.ends_with(".data")) r.external_bytes += f.bytes;
  }
  return absl::OkStatus();
}

absl::Status RecordMetrics(const fs::path& output, const nlohmann::json& metrics) {
  std::ifstream in(output / kManifestFile);
  nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
  if (manifest.is_discarded()) return absl::DataLossError("manifest.json vanished");
  manifest["metrics"] = metrics;
  return WriteFileAtomically(output / kManifestFile, manifest.dump(2) + "\n");
}

// Runs the evaluate stage on the artifact; sets metrics and measured loss.
absl::Status Measure(const fs::path& model_path, const fs::path& output, const FitOptions& o,
                     FitResult& r) {
  if (o.eval_tokens.empty() && o.eval_data.empty()) return absl::OkStatus();
  evaluate::EvaluateOptions e{
      .reference = model_path,
      .candidates = {output / kModelFile},
      .data = o.eval_data,
      .tokens = o.eval_tokens,
      .seq_len = o.seq_len,
      .max_samples = o.eval_samples,
      .task = o.eval_tokens.empty() ? evaluate::Task::kTensor : evaluate::Task::kLm,
      .threads = o.threads};
  ASSIGN_OR_RETURN(const evaluate::EvaluateReport report, evaluate::Evaluate(e));
  const evaluate::CandidateReport& c = report.candidates.at(0);
  r.metrics = evaluate::ReportToJson(report)["candidates"][0];
  r.metrics["samples"] = report.samples;
  if (c.lm) {
    r.measured_loss = c.lm->kl_mean;
  } else if (!c.outputs.empty()) {
    double worst = std::numeric_limits<double>::infinity();
    for (const evaluate::OutputReport& out : c.outputs) worst = std::min(worst, out.error.sqnr_db);
    r.measured_loss = std::pow(10.0, -worst / 10.0);
  }
  return RecordMetrics(output, r.metrics);
}

}  // namespace

absl::StatusOr<FitResult> Fit(const fs::path& model_path, const fs::path& output,
                              const FitOptions& o) {
  std::error_code ec;
  RETURN_IF_ERROR(CheckArtifactDestination(output, o.replace, {model_path}));
  FitResult r;
  {
    ASSIGN_OR_RETURN(const Model model, LoadModel(model_path));
    ASSIGN_OR_RETURN(r.before, AccountMemory(model, o.device, o.account));
    ASSIGN_OR_RETURN(r.layers, PlannableLayers(model, o.candidates));
    ASSIGN_OR_RETURN(r.planned_budget, PlannedBudget(model, o, r));
    // Fail before the long part when nothing can fit.
    RETURN_IF_ERROR(SolvePlan(r.layers, r.planned_budget).status());
    RETURN_IF_ERROR(Sensitivity(model, o, r));
  }
  double target = std::numeric_limits<double>::infinity();
  if (o.max_kl) target = *o.max_kl;
  if (o.min_sqnr) target = std::pow(10.0, -*o.min_sqnr / 10.0);
  const double goal = target;
  for (r.iterations = 1;; ++r.iterations) {
    ASSIGN_OR_RETURN(r.plan, Choose(r, o, target));
    Log(o, absl::StrFormat("plan %d: %s for the planned layers (budget %s), predicted loss %.4g",
                           r.iterations, FormatBytes(r.plan.bytes), FormatBytes(r.planned_budget),
                           r.plan.predicted_loss));
    RETURN_IF_ERROR(Build(model_path, output, o, r, o.replace || r.iterations > 1));
    // A budget is a hard limit on the bytes written: the external data file's
    // alignment padding is not in the plan, so plan again below it.
    if (o.weight_budget && r.external_bytes > *o.weight_budget) {
      const uint64_t over = r.external_bytes - *o.weight_budget;
      Log(o, absl::StrFormat("the artifact's data is %s over the budget (alignment padding); "
                             "re-planning",
                             FormatBytes(over)));
      if (over >= r.planned_budget || r.iterations >= o.max_iterations + 4 ||
          !SolvePlan(r.layers, r.planned_budget - over).ok()) {
        fs::remove_all(output, ec);
        return absl::ResourceExhaustedError(absl::StrFormat(
            "no plan fits %s: with the external data file's alignment padding the smallest "
            "artifact needs %s",
            FormatBytes(*o.weight_budget), FormatBytes(r.external_bytes)));
      }
      r.planned_budget -= over;
      continue;
    }
    RETURN_IF_ERROR(Measure(model_path, output, o, r));
    if (!r.measured_loss || !std::isfinite(goal) || *r.measured_loss <= goal ||
        r.iterations >= o.max_iterations || r.plan.predicted_loss <= 0) {
      break;
    }
    // Losses did not add up as predicted: aim the prediction lower by the
    // ratio seen and plan again (never above the byte budget).
    const double ratio = *r.measured_loss / r.plan.predicted_loss;
    Log(o, absl::StrFormat("measured loss %.4g misses the target %.4g (%.2fx the prediction); "
                           "re-planning",
                           *r.measured_loss, goal, ratio));
    target = goal / ratio;
  }
  return r;
}

nlohmann::json FitToJson(const FitResult& r, const std::vector<Precision>& candidates) {
  nlohmann::json j = {{"loss", LossName(r.loss_kind)},
                      {"planned_budget_bytes", r.planned_budget},
                      {"plan", PlanToJson(r.layers, candidates, r.plan)},
                      {"memory_before", AccountToJson(r.before)},
                      {"memory_after", AccountToJson(r.after)},
                      {"artifact_bytes", r.artifact_bytes},
                      {"iterations", r.iterations}};
  if (r.measured_loss) j["measured_loss"] = *r.measured_loss;
  if (!r.metrics.is_null()) j["metrics"] = r.metrics;
  return j;
}

std::string FitToText(const FitResult& r, const std::vector<Precision>& candidates) {
  std::ostringstream out;
  std::map<int, std::pair<int, uint64_t>> per;  // candidate -> layers, bytes
  for (size_t i = 0; i < r.layers.size(); ++i) {
    auto& [count, bytes] = per[r.plan.choice[i]];
    ++count;
    bytes += r.layers[i].bytes[r.plan.choice[i]];
  }
  out << absl::StrFormat("plan: %d layers, %s (budget for them %s), predicted loss %.4g (%s)\n",
                         r.layers.size(), FormatBytes(r.plan.bytes), FormatBytes(r.planned_budget),
                         r.plan.predicted_loss, LossName(r.loss_kind));
  for (const auto& [c, v] : per) {
    out << absl::StrFormat("  %-10s %4d layers  %12s\n", candidates[c].name, v.first,
                           FormatBytes(v.second));
  }
  // Why: the layers whose next-smaller option would have cost the most
  // loss per byte saved are the ones the plan kept wide.
  std::vector<std::pair<double, size_t>> kept;
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const PlanLayer& l = r.layers[i];
    const int c = r.plan.choice[i];
    double best_rate = -1;
    for (size_t j = 0; j < candidates.size(); ++j) {
      if (l.bytes[j] >= l.bytes[c]) continue;
      const double rate = (l.loss[j] - l.loss[c]) / static_cast<double>(l.bytes[c] - l.bytes[j]);
      best_rate = best_rate < 0 ? rate : std::min(best_rate, rate);
    }
    if (best_rate > 0) kept.push_back({best_rate, i});
  }
  std::sort(kept.rbegin(), kept.rend());
  if (!kept.empty()) {
    out << "costliest to shrink further (loss the next smaller precision adds per MB saved):\n";
  }
  for (size_t k = 0; k < kept.size() && k < 8; ++k) {
    const PlanLayer& l = r.layers[kept[k].second];
    out << absl::StrFormat("  %-40s %-10s %.3g per MB\n", l.node,
                           candidates[r.plan.choice[kept[k].second]].name, kept[k].first * 1e6);
  }
  if (r.measured_loss) {
    out << absl::StrFormat("measured on held-out data: %.4g (predicted %.4g)\n", *r.measured_loss,
                           r.plan.predicted_loss);
  }
  out << absl::StrFormat("artifact: %s on disk; on %s: %s, %s\n", FormatBytes(r.artifact_bytes),
                         r.after.device.name, FormatBytes(r.after.total_bytes),
                         r.after.fits ? "fits" : "does NOT fit");
  return out.str();
}

}  // namespace pare::plan
