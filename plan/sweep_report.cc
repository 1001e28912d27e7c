// The accuracy-vs-size report of a sweep: a Markdown table, and an HTML
// page with an inline SVG chart of size against loss (log scale) with the
// Pareto frontier (no recipe both smaller and better) drawn and marked.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "absl/strings/str_format.h"
#include "analysis/device.h"
#include "plan/sweep.h"

namespace pare::plan {

using analysis::FormatBytes;

namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// Indices of the results on the Pareto frontier: by increasing size, each
// with a lower loss than everything smaller. The original (loss 0) is its
// own end point.
std::vector<size_t> Frontier(const std::vector<nlohmann::json>& r) {
  std::vector<size_t> order;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].contains("loss")) order.push_back(i);
  }
  // By size, and at equal size the better first, so a tie goes to it.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const uint64_t sa = r[a]["weight_bytes"].get<uint64_t>(),
                   sb = r[b]["weight_bytes"].get<uint64_t>();
    if (sa != sb) return sa < sb;
    return r[a]["loss"].get<double>() < r[b]["loss"].get<double>();
  });
  std::vector<size_t> front;
  double best = std::numeric_limits<double>::infinity();
  for (size_t i : order) {
    const double loss = r[i]["loss"].get<double>();
    if (loss < best) {
      front.push_back(i);
      best = loss;
    }
  }
  return front;
}

std::string LossName(const std::vector<nlohmann::json>& r) {
  for (const nlohmann::json& j : r) {
    if (j.contains("loss_name")) return j["loss_name"];
  }
  return "loss";
}

std::string Cell(const nlohmann::json& j, const char* key, const absl::FormatSpec<double>& format) {
  if (!j.contains(key) || !j[key].is_number()) return "";
  return absl::StrFormat(format, j[key].get<double>());
}

}  // namespace

std::string SweepMarkdown(const std::vector<nlohmann::json>& results) {
  const std::vector<size_t> front = Frontier(results);
  std::ostringstream out;
  out << "# Accuracy vs size\n\n";
  out << "| recipe | weights | artifact | " << LossName(results)
      << " | perplexity | SQNR (dB) | memory | fits | Pareto |\n";
  out << "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const nlohmann::json& j = results[i];
    const bool on_front = std::find(front.begin(), front.end(), i) != front.end();
    out << absl::StrFormat(
        "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", j.value("recipe", "?"),
        FormatBytes(j.value("weight_bytes", uint64_t{0})),
        j.contains("artifact_bytes") ? FormatBytes(j["artifact_bytes"].get<uint64_t>()) : "",
        Cell(j, "loss", "%.4g"), Cell(j, "ppl", "%.4f"), Cell(j, "sqnr_db", "%.1f"),
        FormatBytes(j.value("memory_total_bytes", uint64_t{0})),
        j.value("fits", false) ? "yes" : "no", on_front ? "yes" : "");
  }
  return out.str();
}

namespace {

// Where each point's label goes: to the right of the point, moved down (or
// up) in steps until it overlaps no label placed before.
struct LabelBox {
  double x0, y0, x1, y1;
};

LabelBox PlaceLabel(double x, double y, const std::string& text, std::vector<LabelBox>& placed) {
  const double width = 7.0 * static_cast<double>(text.size()), height = 13;
  for (int step = 0; step < 40; ++step) {
    const double dy = (step % 2 == 0 ? 1 : -1) * 13.0 * ((step + 1) / 2);
    LabelBox b{x + 8, y - 4 + dy - height, x + 8 + width, y - 4 + dy};
    const bool clear = std::none_of(placed.begin(), placed.end(), [&](const LabelBox& p) {
      return b.x0 < p.x1 && p.x0 < b.x1 && b.y0 < p.y1 && p.y0 < b.y1;
    });
    if (clear || step == 39) {
      placed.push_back(b);
      return b;
    }
  }
  return placed.back();
}

// The chart's geometry: a linear byte axis and a log loss axis spanning
// the recipes (the original, at loss 0, is in the table only).
struct Chart {
  double w = 820, h = 460, left = 80, right = 150, top = 30, bottom = 60;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;

  explicit Chart(const std::vector<nlohmann::json>& results) {
    double xmin = 1e300, xmax = 0, lmin = 1e300, lmax = 0;
    for (const nlohmann::json& j : results) {
      if (j.value("reference", false) || !j.contains("loss")) continue;
      const double bytes = static_cast<double>(j.value("weight_bytes", uint64_t{0}));
      xmin = std::min(xmin, bytes);
      xmax = std::max(xmax, bytes);
      const double loss = j["loss"].get<double>();
      if (loss > 0) {
        lmin = std::min(lmin, loss);
        lmax = std::max(lmax, loss);
      }
    }
    if (xmax <= 0) xmin = 0, xmax = 1;
    if (lmax <= 0) lmin = 1e-6, lmax = 1;
    const double span = std::max(xmax - xmin, xmax * 0.05);
    x0 = std::max(0.0, xmin - 0.08 * span);
    x1 = xmax + 0.08 * span;
    y0 = std::floor(std::log10(lmin)) - 0.3;
    y1 = std::ceil(std::log10(lmax)) + 0.1;
  }
  double X(double bytes) const { return left + (w - left - right) * (bytes - x0) / (x1 - x0); }
  double Y(double loss) const {
    const double l = std::log10(std::max(loss, std::pow(10.0, y0)));
    return top + (h - top - bottom) * (y1 - l) / (y1 - y0);
  }
};

// The plot area, the decade grid lines and both axes' labels.
void DrawFrame(const Chart& c, const std::string& loss_name, std::ostringstream& svg) {
  svg << absl::StrFormat(
      "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='#fafafa' "
      "stroke='#ccc'/>\n",
      c.left, c.top, c.w - c.left - c.right, c.h - c.top - c.bottom);
  for (double e = std::ceil(c.y0); e <= c.y1; e += 1) {
    const double y = c.Y(std::pow(10.0, e));
    svg << absl::StrFormat(
        "<line x1='%.0f' x2='%.0f' y1='%.1f' y2='%.1f' stroke='#e3e3e3'/>"
        "<text x='%.0f' y='%.1f' text-anchor='end'>1e%d</text>\n",
        c.left, c.w - c.right, y, y, c.left - 6, y + 4, static_cast<int>(e));
  }
  for (int t = 0; t <= 4; ++t) {
    const double bytes = c.x0 + (c.x1 - c.x0) * t / 4;
    svg << absl::StrFormat("<text x='%.1f' y='%.0f' text-anchor='middle'>%s</text>\n", c.X(bytes),
                           c.h - c.bottom + 18, Escape(FormatBytes(static_cast<uint64_t>(bytes))));
  }
  svg << absl::StrFormat("<text x='%.0f' y='%.0f' text-anchor='middle'>weights (bytes)</text>\n",
                         (c.left + c.w - c.right) / 2, c.h - 12);
  svg << absl::StrFormat(
      "<text transform='translate(16,%.0f) rotate(-90)' text-anchor='middle'>"
      "%s (log scale, lower is better)</text>\n",
      (c.top + c.h - c.bottom) / 2, Escape(loss_name));
}

// The frontier's line, then every recipe as a labelled point.
void DrawPoints(const Chart& c, const std::vector<nlohmann::json>& results,
                const std::vector<size_t>& front, std::ostringstream& svg) {
  std::string path;
  for (size_t i : front) {
    if (results[i].value("reference", false)) continue;
    absl::StrAppendFormat(&path, "%.1f,%.1f ", c.X(results[i]["weight_bytes"].get<double>()),
                          c.Y(results[i]["loss"].get<double>()));
  }
  svg << "<polyline points='" << path << "' fill='none' stroke='#d62728' stroke-width='2'/>\n";
  std::vector<LabelBox> labels;
  for (size_t i = 0; i < results.size(); ++i) {
    const nlohmann::json& j = results[i];
    if (!j.contains("loss") || j.value("reference", false)) continue;
    const bool on_front = std::find(front.begin(), front.end(), i) != front.end();
    const double x = c.X(j["weight_bytes"].get<double>()), y = c.Y(j["loss"].get<double>());
    const std::string name = j.value("recipe", "");
    const LabelBox b = PlaceLabel(x, y, name, labels);
    svg << absl::StrFormat(
        "<circle cx='%.1f' cy='%.1f' r='%d' fill='%s' stroke='#333'><title>%s</title></circle>"
        "<text x='%.1f' y='%.1f' fill='%s'>%s</text>\n",
        x, y, on_front ? 6 : 4, on_front ? "#d62728" : "#1f77b4", Escape(name), b.x0, b.y1 - 2,
        on_front ? "#a01010" : "#333", Escape(name));
  }
}

std::string ResultsTable(const std::vector<nlohmann::json>& results) {
  std::ostringstream table;
  table << "<table><tr><th>recipe</th><th>weights</th><th>" << Escape(LossName(results))
        << "</th><th>perplexity</th><th>memory</th><th>fits</th></tr>\n";
  for (const nlohmann::json& j : results) {
    table << absl::StrFormat(
        "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
        "<td>%s</td></tr>\n",
        Escape(j.value("recipe", "")), FormatBytes(j.value("weight_bytes", uint64_t{0})),
        Cell(j, "loss", "%.4g"), Cell(j, "ppl", "%.4f"),
        FormatBytes(j.value("memory_total_bytes", uint64_t{0})),
        j.value("fits", false) ? "yes" : "no");
  }
  table << "</table>\n";
  return table.str();
}

}  // namespace

std::string SweepHtml(const std::vector<nlohmann::json>& results) {
  const Chart chart(results);
  std::ostringstream svg;
  svg << absl::StrFormat(
      "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
      "font-family='sans-serif' font-size='12'>\n",
      chart.w, chart.h);
  DrawFrame(chart, LossName(results), svg);
  DrawPoints(chart, results, Frontier(results), svg);
  svg << "</svg>\n";
  std::ostringstream page;
  page << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>pare sweep: accuracy vs "
          "size</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
          "text-align:right}td:first-child{text-align:left}</style></head><body>\n";
  page << "<h1>Accuracy vs size</h1>\n<p>Each point is a recipe built through pare's stages "
          "and evaluated against the original. Red: the Pareto frontier (no other recipe is "
          "both smaller and better); the original, at zero loss, is in the table.</p>\n";
  page << svg.str() << ResultsTable(results) << "</body></html>\n";
  return page.str();
}

}  // namespace pare::plan
