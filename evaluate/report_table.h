// The comparison table every report format shows (internal to evaluate/).
#ifndef PARE_EVALUATE_REPORT_TABLE_H_
#define PARE_EVALUATE_REPORT_TABLE_H_

#include <string>
#include <vector>

#include "evaluate/evaluate.h"

namespace pare::evaluate {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// One row per candidate: size, bits per weight, the task's headline
// metrics and the gate verdict.
Table SummaryTable(const EvaluateReport& report);

}  // namespace pare::evaluate

#endif  // PARE_EVALUATE_REPORT_TABLE_H_
