#include "quantize/report.h"

#include <cmath>

namespace pare::quantize {

double BitsPerWeight(const QuantizeReport& r) {
  uint64_t elements = 0;
  for (const QuantizedTensor& q : r.tensors) {
    if (q.kind == "weight") elements += q.elements > 0 ? q.elements : q.bytes_before / 4;
  }
  return elements > 0
             ? 8.0 * static_cast<double>(r.weight_bytes_after) / static_cast<double>(elements)
             : 0.0;
}

nlohmann::json QuantizeReportToJson(const QuantizeReport& r) {
  auto number = [](double v) -> nlohmann::json {
    if (std::isfinite(v)) return v;
    return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  };
  nlohmann::json tensors = nlohmann::json::array();
  for (const QuantizedTensor& q : r.tensors) {
    nlohmann::json j = {
        {"name", q.name}, {"kind", q.kind}, {"scales", q.scales}, {"zero_points", q.zero_points}};
    if (q.kind == "activation") {
      j["observed"] = {q.observed.min, q.observed.max};
      j["range"] = {q.chosen.min, q.chosen.max};
      j["method"] = r.method;
      if (!q.code_type.empty()) j["type"] = q.code_type;
      if (!q.range_method.empty()) j["range_method"] = q.range_method;
    } else {
      if (q.block_size > 0) {
        j["algorithm"] = q.algorithm;
        j["bits"] = q.bits;
        j["block_size"] = q.block_size;
      }
      j["bytes_before"] = q.bytes_before;
      j["bytes_after"] = q.bytes_after;
      if (q.kind == "weight") j["sqnr_db"] = number(q.sqnr_db);
    }
    tensors.push_back(j);
  }
  return {{"schema", "pare.quantize/1"},
          {"format", r.format},
          {"method", r.method},
          {"calibration", r.calibration},
          {"samples", r.samples},
          {"calibration_seconds", r.calibration_seconds},
          {"quantized_nodes", r.quantized_nodes},
          {"skipped", r.skipped},
          {"weight_bytes_before", r.weight_bytes_before},
          {"weight_bytes_after", r.weight_bytes_after},
          {"bits_per_weight", BitsPerWeight(r)},
          {"tensors", tensors}};
}

}  // namespace pare::quantize
