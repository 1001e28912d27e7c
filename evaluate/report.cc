#include "evaluate/report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "evaluate/report_table.h"

namespace pare::evaluate {
namespace {

using nlohmann::json;

// Finite numbers as numbers; infinities and NaN as "inf", "-inf", "nan".
json Number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

json ErrorJson(const ErrorSummary& e) {
  return {{"elements", e.elements},       {"non_finite", e.non_finite},
          {"max_abs", Number(e.max_abs)}, {"mean_abs", Number(e.mean_abs)},
          {"rmse", Number(e.rmse)},       {"cosine", Number(e.cosine)},
          {"sqnr_db", Number(e.sqnr_db)}, {"rel_error", Number(e.rel_error)}};
}

json SizeJson(const ModelSize& s) {
  return {
      {"file_bytes", s.file_bytes}, {"weight_bytes", s.weight_bytes}, {"parameters", s.parameters}};
}

json LmJson(const LmSummary& lm) {
  json bars = json::array();
  for (const auto& b : lm.kl_bars) bars.push_back({Number(b.lo), Number(b.hi), b.count});
  return {{"positions", lm.positions},
          {"reference_ppl", Number(lm.reference_ppl)},
          {"candidate_ppl", Number(lm.candidate_ppl)},
          {"ppl_ratio", Number(lm.ppl_ratio)},
          {"kl",
           {{"mean", Number(lm.kl_mean)},
            {"median", Number(lm.kl_median)},
            {"p90", Number(lm.kl_p90)},
            {"p99", Number(lm.kl_p99)},
            {"p99_9", Number(lm.kl_p999)},
            {"max", Number(lm.kl_max)},
            {"histogram", bars}}},
          {"top1_agreement", Number(lm.top1_agreement)},
          {"delta_p",
           {{"mean", Number(lm.dp_mean)},
            {"rms", Number(lm.dp_rms)},
            {"min", Number(lm.dp_min)},
            {"p1", Number(lm.dp_p1)},
            {"p5", Number(lm.dp_p5)},
            {"median", Number(lm.dp_median)},
            {"p95", Number(lm.dp_p95)},
            {"p99", Number(lm.dp_p99)},
            {"max", Number(lm.dp_max)}}}};
}

json CandidateJson(const CandidateReport& c) {
  json outputs = json::array();
  for (const OutputReport& o : c.outputs) {
    json out = {{"name", o.name}, {"shape", o.shape}, {"error", ErrorJson(o.error)}};
    if (o.topk) {
      out["classification"] = {{"rows", o.topk->rows},
                               {"top1_agreement", o.topk->top1_agreement},
                               {"top5_agreement", o.topk->top5_agreement}};
      if (o.topk->candidate_accuracy) {
        out["classification"]["reference_accuracy"] = *o.topk->reference_accuracy;
        out["classification"]["candidate_accuracy"] = *o.topk->candidate_accuracy;
      }
    }
    outputs.push_back(out);
  }
  json layers = json::array();
  for (const LayerReport& l : c.layers) {
    layers.push_back({{"value", l.value},
                      {"node", l.node},
                      {"op_type", l.op_type},
                      {"segment_nodes", l.segment_nodes},
                      {"local", ErrorJson(l.local)},
                      {"accumulated", ErrorJson(l.accumulated)}});
  }
  json gates = json::array();
  for (const GateResult& g : c.gates) {
    gates.push_back({{"name", g.name},
                     {"threshold", Number(g.threshold)},
                     {"value", Number(g.value)},
                     {"passed", g.passed}});
  }
  json j = {{"path", c.path},   {"size", SizeJson(c.size)}, {"outputs", outputs},
            {"layers", layers}, {"gates", gates},           {"passed", c.passed()}};
  j["bits_per_weight"] = c.bits_per_weight ? Number(*c.bits_per_weight) : json(nullptr);
  j["lm"] = c.lm ? LmJson(*c.lm) : json(nullptr);
  return j;
}

std::string Fixed(double v, int digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.*f", digits, v);
}

std::string Sci(double v) {
  if (!std::isfinite(v)) return Fixed(v, 0);
  return absl::StrFormat("%.3g", v);
}

}  // namespace

Table SummaryTable(const EvaluateReport& r) {
  Table t;
  t.header = {"candidate", "size", "bits/weight"};
  const bool lm = r.task == Task::kLm;
  const bool classify = r.task == Task::kClassify;
  if (lm) {
    t.header.insert(t.header.end(), {"PPL ref", "PPL cand", "PPL ratio", "mean KL", "p99 KL",
                                     "top-1 agree", "RMS dp"});
  } else {
    t.header.insert(t.header.end(), {"worst SQNR", "worst cosine", "max abs err"});
    if (classify) t.header.insert(t.header.end(), {"top-1 agree", "top-5 agree"});
  }
  t.header.push_back("gates");
  for (const CandidateReport& c : r.candidates) {
    std::vector<std::string> row = {c.path, FormatBytes(c.size.file_bytes),
                                    c.bits_per_weight ? Fixed(*c.bits_per_weight, 2) : "-"};
    if (lm && c.lm) {
      row.insert(row.end(), {Fixed(c.lm->reference_ppl, 3), Fixed(c.lm->candidate_ppl, 3),
                             Fixed(c.lm->ppl_ratio, 4), Sci(c.lm->kl_mean), Sci(c.lm->kl_p99),
                             Fixed(100 * c.lm->top1_agreement, 2) + "%", Sci(c.lm->dp_rms)});
    } else if (!lm) {
      double sqnr = INFINITY, cosine = INFINITY, max_abs = 0, top1 = INFINITY, top5 = INFINITY;
      for (const OutputReport& o : c.outputs) {
        sqnr = std::min(sqnr, o.error.sqnr_db);
        cosine = std::min(cosine, o.error.cosine);
        max_abs = std::max(max_abs, o.error.max_abs);
        if (o.topk) {
          top1 = std::min(top1, o.topk->top1_agreement);
          top5 = std::min(top5, o.topk->top5_agreement);
        }
      }
      row.insert(row.end(), {FormatDb(sqnr), Fixed(cosine, 6), Sci(max_abs)});
      if (classify) {
        row.push_back(std::isinf(top1) ? "-" : Fixed(100 * top1, 2) + "%");
        row.push_back(std::isinf(top5) ? "-" : Fixed(100 * top5, 2) + "%");
      }
    }
    std::vector<std::string> failed;
    for (const GateResult& g : c.gates) {
      if (!g.passed) failed.push_back(g.name);
    }
    row.push_back(c.gates.empty()  ? "-"
                  : failed.empty() ? "pass"
                                   : "FAIL: " + absl::StrJoin(failed, ", "));
    t.rows.push_back(std::move(row));
  }
  return t;
}

namespace {

std::string MarkdownTable(const Table& t) {
  std::string out = "| " + absl::StrJoin(t.header, " | ") + " |\n|";
  for (size_t i = 0; i < t.header.size(); ++i) out += " --- |";
  out += "\n";
  for (const auto& row : t.rows) {
    std::vector<std::string> cells;
    for (const std::string& c : row) cells.push_back(absl::StrReplaceAll(c, {{"|", "\\|"}}));
    out += "| " + absl::StrJoin(cells, " | ") + " |\n";
  }
  return out;
}

std::string TextTable(const Table& t) {
  std::vector<size_t> width(t.header.size(), 0);
  auto fit = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  fit(t.header);
  for (const auto& row : t.rows) fit(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out = " ";
    for (size_t i = 0; i < row.size(); ++i) {
      out += " " + row[i] + std::string(width[i] - row[i].size(), ' ');
    }
    return out + "\n";
  };
  std::string out = line(t.header);
  for (const auto& row : t.rows) out += line(row);
  return out;
}

Table LayerTable(const CandidateReport& c, int top) {
  Table t{{"#", "value", "op", "local SQNR", "local rel err", "accumulated SQNR"}, {}};
  for (size_t i = 0; i < c.layers.size() && static_cast<int>(i) < top; ++i) {
    const LayerReport& l = c.layers[i];
    t.rows.push_back({std::to_string(i + 1), l.value, l.op_type, FormatDb(l.local.sqnr_db),
                      Sci(l.local.rel_error), FormatDb(l.accumulated.sqnr_db)});
  }
  return t;
}

Table SensitivityTable(const EvaluateReport& r, int top) {
  Table t{{"#", "layer (alone in int8)", "op", "output SQNR", "output rel err"}, {}};
  for (size_t i = 0; i < r.sensitivity.size() && static_cast<int>(i) < top; ++i) {
    const SensitivityEntry& e = r.sensitivity[i];
    t.rows.push_back({std::to_string(i + 1), e.node, e.op_type, FormatDb(e.error.sqnr_db),
                      Sci(e.error.rel_error)});
  }
  return t;
}

std::string GateLines(const CandidateReport& c, const char* bullet) {
  std::string out;
  for (const GateResult& g : c.gates) {
    out += absl::StrCat(bullet, g.passed ? "pass" : "FAIL", " ", g.name, ": ", Sci(g.value),
                        g.name.rfind("max", 0) == 0 ? " <= " : " >= ", Sci(g.threshold), "\n");
  }
  return out;
}

std::string LmLines(const LmSummary& lm, const char* bullet) {
  return absl::StrCat(bullet, "perplexity: reference ", Fixed(lm.reference_ppl, 4), ", candidate ",
                      Fixed(lm.candidate_ppl, 4), " (ratio ", Fixed(lm.ppl_ratio, 4), ") over ",
                      lm.positions, " positions\n", bullet, "KL divergence: mean ", Sci(lm.kl_mean),
                      ", median ", Sci(lm.kl_median), ", p90 ", Sci(lm.kl_p90), ", p99 ",
                      Sci(lm.kl_p99), ", p99.9 ", Sci(lm.kl_p999), ", max ", Sci(lm.kl_max), "\n",
                      bullet, "same top token: ", Fixed(100 * lm.top1_agreement, 2), "%\n", bullet,
                      "dp (candidate - reference probability of the next token): mean ",
                      Sci(lm.dp_mean), ", RMS ", Sci(lm.dp_rms), ", min ", Sci(lm.dp_min), ", p1 ",
                      Sci(lm.dp_p1), ", median ", Sci(lm.dp_median), ", p99 ", Sci(lm.dp_p99),
                      ", max ", Sci(lm.dp_max), "\n");
}

}  // namespace

std::string FormatDb(double db) { return Fixed(db, 1) + " dB"; }

std::string FormatBytes(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1 << 30) return absl::StrFormat("%.2f GiB", b / (1 << 30));
  if (b >= 1 << 20) return absl::StrFormat("%.2f MiB", b / (1 << 20));
  if (b >= 1 << 10) return absl::StrFormat("%.1f KiB", b / (1 << 10));
  return absl::StrCat(bytes, " B");
}

json ReportToJson(const EvaluateReport& r) {
  json candidates = json::array();
  for (const CandidateReport& c : r.candidates) candidates.push_back(CandidateJson(c));
  json j = {{"schema", "pare.evaluate/1"}, {"reference", r.reference},
            {"task", TaskName(r.task)},    {"inputs", r.inputs},
            {"samples", r.samples},        {"seconds", Number(r.seconds)},
            {"candidates", candidates},    {"passed", r.passed()}};
  j["reference_size"] = r.reference_size ? SizeJson(*r.reference_size) : json(nullptr);
  json sensitivity = json::array();
  for (const SensitivityEntry& e : r.sensitivity) {
    sensitivity.push_back(
        {{"node", e.node}, {"op_type", e.op_type}, {"error", ErrorJson(e.error)}});
  }
  j["sensitivity"] = sensitivity;
  return j;
}

std::string ReportToText(const EvaluateReport& r, int top_layers) {
  std::string out =
      absl::StrCat("reference: ", r.reference, "\ninputs:    ", r.inputs,
                   "\ntask:      ", TaskName(r.task), "\n\n", TextTable(SummaryTable(r)));
  for (const CandidateReport& c : r.candidates) {
    out += absl::StrCat("\n", c.path, "\n");
    for (const OutputReport& o : c.outputs) {
      out += absl::StrCat("  output ", o.name, ": SQNR ", FormatDb(o.error.sqnr_db), ", cosine ",
                          Fixed(o.error.cosine, 6), ", max abs ", Sci(o.error.max_abs),
                          ", mean abs ", Sci(o.error.mean_abs), ", RMSE ", Sci(o.error.rmse));
      if (o.error.non_finite) out += absl::StrCat(", ", o.error.non_finite, " NaN/inf values");
      if (o.topk) {
        out += absl::StrCat(", top-1 ", Fixed(100 * o.topk->top1_agreement, 2), "%, top-5 ",
                            Fixed(100 * o.topk->top5_agreement, 2), "%");
        if (o.topk->candidate_accuracy) {
          out += absl::StrCat(", accuracy ", Fixed(100 * *o.topk->reference_accuracy, 2), "% -> ",
                              Fixed(100 * *o.topk->candidate_accuracy, 2), "%");
        }
      }
      out += "\n";
    }
    if (c.lm) out += LmLines(*c.lm, "  ");
    if (!c.layers.empty()) {
      out += absl::StrCat("  layers, worst first (", c.layers.size(), " matched):\n");
      out += TextTable(LayerTable(c, top_layers));
    }
    out += GateLines(c, "  ");
  }
  if (!r.sensitivity.empty()) {
    out += absl::StrCat("\nint8 sensitivity, most sensitive first (", r.sensitivity.size(),
                        " layers, each quantized alone):\n",
                        TextTable(SensitivityTable(r, top_layers)));
  }
  return out;
}

std::string ReportToMarkdown(const EvaluateReport& r, int top_layers) {
  std::string out = absl::StrCat("## pare evaluate: ", r.passed() ? "passed" : "FAILED", "\n\n",
                                 "Reference `", r.reference, "`, ", r.inputs, ", task `",
                                 TaskName(r.task), "`.\n\n", MarkdownTable(SummaryTable(r)));
  for (const CandidateReport& c : r.candidates) {
    out += absl::StrCat("\n### `", c.path, "`\n\n");
    out += GateLines(c, "- ");
    if (c.lm) out += LmLines(*c.lm, "- ");
    if (!c.layers.empty()) {
      out += absl::StrCat(
          "\nLayers that cost the most (local error: the layer fed the "
          "reference's inputs), ",
          std::min<size_t>(c.layers.size(), top_layers), " of ", c.layers.size(), ":\n\n",
          MarkdownTable(LayerTable(c, top_layers)));
    }
  }
  if (!r.sensitivity.empty()) {
    out += absl::StrCat(
        "\n### int8 sensitivity\n\nEach layer quantized alone; the output error it causes, "
        "most sensitive first:\n\n",
        MarkdownTable(SensitivityTable(r, top_layers)));
  }
  return out;
}

std::string ReportToJunit(const EvaluateReport& r) {
  auto escape = [](const std::string& s) {
    return absl::StrReplaceAll(
        s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&apos;"}});
  };
  int tests = 0, failures = 0;
  std::string cases;
  for (const CandidateReport& c : r.candidates) {
    for (const GateResult& g : c.gates) {
      ++tests;
      const std::string detail =
          absl::StrCat(g.name, ": ", Sci(g.value),
                       g.name.rfind("max", 0) == 0 ? " <= " : " >= ", Sci(g.threshold));
      cases += absl::StrCat("    <testcase classname=\"", escape(c.path), "\" name=\"",
                            escape(g.name), "\">");
      if (!g.passed) {
        ++failures;
        cases += absl::StrCat("<failure message=\"", escape(detail), "\"/>");
      }
      cases += absl::StrCat("<system-out>", escape(detail), "</system-out></testcase>\n");
    }
  }
  return absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n",
                      "  <testsuite name=\"pare evaluate\" tests=\"", tests, "\" failures=\"",
                      failures, "\" time=\"", Fixed(r.seconds, 3), "\">\n", cases,
                      "  </testsuite>\n</testsuites>\n");
}

}  // namespace pare::evaluate
