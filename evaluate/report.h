// Renderings of an evaluation: text for the terminal, JSON for machines
// (schema "pare.evaluate/1", docs/evaluate-json.md), Markdown for CI job
// summaries and pull requests, a self-contained HTML page with SVG charts,
// and JUnit XML with one test per gate.
#ifndef PARE_EVALUATE_REPORT_H_
#define PARE_EVALUATE_REPORT_H_

#include <string>

#include "evaluate/evaluate.h"
#include "nlohmann/json.hpp"

namespace pare::evaluate {

nlohmann::json ReportToJson(const EvaluateReport& report);
std::string ReportToText(const EvaluateReport& report, int top_layers = 10);
std::string ReportToMarkdown(const EvaluateReport& report, int top_layers = 20);
std::string ReportToHtml(const EvaluateReport& report, int top_layers = 30);
std::string ReportToJunit(const EvaluateReport& report);

// "31.2 dB", "inf dB", "-inf dB"; numbers in reports are formatted by these.
std::string FormatDb(double db);
std::string FormatBytes(uint64_t bytes);

}  // namespace pare::evaluate

#endif  // PARE_EVALUATE_REPORT_H_
