// The HTML report: one self-contained page (no scripts, no external files),
// charts drawn as inline SVG.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "evaluate/report.h"
#include "evaluate/report_table.h"

namespace pare::evaluate {
namespace {

std::string Escape(const std::string& s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string Short(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string Num(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.3g", v);
}

// Colour by SQNR: red below 20 dB, amber below 30, green above.
const char* QualityColour(double db) {
  return db < 20 ? "#d9534f" : db < 30 ? "#f0ad4e" : "#5cb85c";
}

// Horizontal bars of per-layer local SQNR (dB), worst first.
std::string LayerChart(const CandidateReport& c, int top) {
  const int n = std::min<int>(top, static_cast<int>(c.layers.size()));
  if (n == 0) return "";
  double max_db = 10;
  for (int i = 0; i < n; ++i) {
    const double db = c.layers[i].local.sqnr_db;
    if (std::isfinite(db)) max_db = std::max(max_db, db);
  }
  const int label_w = 260, bar_w = 420, row_h = 18, top_pad = 24;
  const int height = top_pad + n * row_h + 10;
  std::string svg = absl::StrFormat(
      "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' "
      "font-size='11'>\n<text x='0' y='14' font-weight='bold'>Local SQNR per layer (dB, "
      "shorter is worse)</text>\n",
      label_w + bar_w + 80, height);
  for (int i = 0; i < n; ++i) {
    const LayerReport& l = c.layers[i];
    const double db = l.local.sqnr_db;
    const int y = top_pad + i * row_h;
    const double frac = std::isfinite(db) ? std::clamp(db / max_db, 0.0, 1.0) : 1.0;
    const std::string label =
        l.value.size() > 40 ? "..." + l.value.substr(l.value.size() - 37) : l.value;
    absl::StrAppendFormat(&svg,
                          "<text x='%d' y='%d' text-anchor='end'>%s (%s)</text>\n"
                          "<rect x='%d' y='%d' width='%.1f' height='%d' fill='%s'/>\n"
                          "<text x='%.1f' y='%d'>%s</text>\n",
                          label_w - 6, y + 12, Escape(label), Escape(l.op_type), label_w, y + 2,
                          std::max(1.0, frac * bar_w), row_h - 4,
                          std::isfinite(db) ? QualityColour(db) : "#cccccc",
                          label_w + std::max(1.0, frac * bar_w) + 4, y + 12,
                          std::isinf(db) && db > 0 ? "exact" : FormatDb(db));
  }
  return svg + "</svg>\n";
}

// Histogram of per-position KL divergence on a log axis.
std::string KlChart(const LmSummary& lm) {
  if (lm.kl_bars.empty()) return "";
  uint64_t peak = 1;
  for (const auto& b : lm.kl_bars) peak = std::max(peak, b.count);
  const int w = 600, h = 200, pad = 30;
  const double bar = static_cast<double>(w - 2 * pad) / lm.kl_bars.size();
  std::string svg = absl::StrFormat(
      "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' "
      "font-size='11'>\n<text x='0' y='14' font-weight='bold'>KL divergence per position "
      "(log bins; count)</text>\n",
      w, h + 40);
  for (size_t i = 0; i < lm.kl_bars.size(); ++i) {
    const double bh = static_cast<double>(lm.kl_bars[i].count) / peak * (h - pad);
    absl::StrAppendFormat(&svg,
                          "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#4a7bd0'>"
                          "<title>%s..%s: %d</title></rect>\n",
                          pad + i * bar, h - bh, std::max(1.0, bar - 1), bh, Num(lm.kl_bars[i].lo),
                          Num(lm.kl_bars[i].hi), lm.kl_bars[i].count);
  }
  absl::StrAppendFormat(&svg,
                        "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n"
                        "<text x='%d' y='%d'>%s</text><text x='%d' y='%d' "
                        "text-anchor='end'>%s</text>\n",
                        pad, h, w - pad, h, pad, h + 16, Num(lm.kl_bars.front().lo), w - pad,
                        h + 16, Num(lm.kl_bars.back().hi));
  return svg + "</svg>\n";
}

// Size against accuracy, one point per candidate.
std::string SizeChart(const EvaluateReport& r) {
  if (r.candidates.size() < 2) return "";
  const bool lm = r.task == Task::kLm;
  std::vector<std::pair<double, double>> pts;
  for (const CandidateReport& c : r.candidates) {
    double y = INFINITY;
    if (lm && c.lm) {
      y = c.lm->kl_mean;
    } else {
      for (const OutputReport& o : c.outputs) y = std::min(y, o.error.sqnr_db);
    }
    pts.emplace_back(c.size.file_bytes / 1048576.0, y);
  }
  double x_max = 0, y_min = INFINITY, y_max = -INFINITY;
  for (auto [x, y] : pts) {
    x_max = std::max(x_max, x);
    if (std::isfinite(y)) y_min = std::min(y_min, y), y_max = std::max(y_max, y);
  }
  if (!std::isfinite(y_min)) y_min = 0, y_max = 1;
  if (y_max - y_min < 1e-12) y_max = y_min + 1;
  const int w = 600, h = 300, pad = 50;
  std::string svg = absl::StrFormat(
      "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' "
      "font-size='11'>\n<text x='0' y='14' font-weight='bold'>Size (MiB) against %s</text>\n"
      "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>"
      "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n",
      w, h,
      lm ? "mean KL divergence (lower is better)" : "worst-output SQNR (dB, higher is better)", pad,
      h - pad, w - pad, h - pad, pad, pad, pad, h - pad);
  for (size_t i = 0; i < pts.size(); ++i) {
    const double fx = pad + pts[i].first / std::max(x_max, 1e-9) * (w - 2 * pad);
    const double yv = std::isfinite(pts[i].second) ? pts[i].second : y_max;
    const double fy = h - pad - (yv - y_min) / (y_max - y_min) * (h - 2 * pad);
    absl::StrAppendFormat(&svg,
                          "<circle cx='%.1f' cy='%.1f' r='5' fill='#4a7bd0'/>"
                          "<text x='%.1f' y='%.1f'>%s</text>\n",
                          fx, fy, fx + 7, fy - 7, Escape(Short(r.candidates[i].path)));
  }
  absl::StrAppendFormat(
      &svg,
      "<text x='%d' y='%d'>0</text><text x='%d' y='%d' "
      "text-anchor='end'>%s MiB</text><text x='%d' y='%d' "
      "text-anchor='end'>%s</text><text x='%d' y='%d' text-anchor='end'>%s</text>\n",
      pad, h - pad + 14, w - pad, h - pad + 14, Num(x_max), pad - 4, pad + 4, Num(y_max), pad - 4,
      h - pad, Num(y_min));
  return svg + "</svg>\n";
}

}  // namespace

std::string ReportToHtml(const EvaluateReport& r, int top_layers) {
  std::string body = absl::StrCat("<h1>pare evaluate: ", r.passed() ? "passed" : "FAILED",
                                  "</h1>\n<p>Reference <code>", Escape(r.reference), "</code>, ",
                                  Escape(r.inputs), ", task <code>", TaskName(r.task), "</code>, ",
                                  absl::StrFormat("%.1f", r.seconds), " s.</p>\n<table>\n<tr>");
  const Table table = SummaryTable(r);
  for (const std::string& h : table.header) body += absl::StrCat("<th>", Escape(h), "</th>");
  body += "</tr>\n";
  for (const auto& row : table.rows) {
    body += "<tr>";
    for (const std::string& cell : row) {
      const bool fail = cell.rfind("FAIL", 0) == 0;
      body += absl::StrCat(fail ? "<td class='fail'>" : "<td>", Escape(cell), "</td>");
    }
    body += "</tr>\n";
  }
  body += "</table>\n";
  body += SizeChart(r);
  for (const CandidateReport& c : r.candidates) {
    body += absl::StrCat("<h2>", Escape(c.path), "</h2>\n<ul>\n");
    for (const GateResult& g : c.gates) {
      body += absl::StrCat("<li class='", g.passed ? "pass" : "fail", "'>",
                           g.passed ? "pass" : "FAIL", " ", Escape(g.name), ": ", Num(g.value),
                           " (threshold ", Num(g.threshold), ")</li>\n");
    }
    for (const OutputReport& o : c.outputs) {
      body += absl::StrCat("<li>output <code>", Escape(o.name), "</code>: SQNR ",
                           FormatDb(o.error.sqnr_db), ", cosine ", Num(o.error.cosine),
                           ", max abs ", Num(o.error.max_abs), "</li>\n");
    }
    if (c.lm) {
      body += absl::StrCat("<li>perplexity ", Num(c.lm->reference_ppl), " &rarr; ",
                           Num(c.lm->candidate_ppl), ", mean KL ", Num(c.lm->kl_mean),
                           ", same top token ", Num(100 * c.lm->top1_agreement), "%</li>\n");
    }
    body += "</ul>\n";
    if (c.lm) body += KlChart(*c.lm);
    body += LayerChart(c, top_layers);
  }
  return absl::StrCat(
      "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>pare evaluate</title>\n"
      "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
      "font-size:13px}th{background:#eee}.fail{color:#c00;font-weight:bold}.pass{color:#080}"
      "svg{display:block;margin:1em 0}</style></head>\n<body>\n",
      body, "</body></html>\n");
}

}  // namespace pare::evaluate
