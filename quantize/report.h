// What a quantize stage did, tensor by tensor: the report every quantizer
// (static, dynamic, weight-only) returns, and its JSON form
// (schema pare.quantize/1).
#ifndef PARE_QUANTIZE_REPORT_H_
#define PARE_QUANTIZE_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "quantize/int8.h"  // Range

namespace pare::quantize {

struct QuantizedTensor {
  std::string name;
  std::string kind;  // "activation", "weight" or "bias"
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  Range observed;      // activations: the calibrated extremes (min/max)
  Range chosen;        // activations: the range the method chose
  double sqnr_db = 0;  // weights: of the dequantized weight
  uint64_t bytes_before = 0, bytes_after = 0;
  std::string code_type;     // activations: "uint8", "uint16"...
  std::string range_method;  // activations, when a range search chose it
  // Weight-only (block-wise) weights: how each was quantized.
  std::string algorithm;
  int bits = 0;
  int64_t block_size = 0;
  uint64_t elements = 0;  // weights: how many values
};

struct QuantizeReport {
  std::string format = "qdq";  // "qdq", "qoperator" or "dynamic"
  std::string method;
  std::string calibration;
  int64_t samples = 0;
  std::vector<QuantizedTensor> tensors;
  std::vector<std::string> quantized_nodes;
  std::vector<std::string> skipped;  // "node: why"
  uint64_t weight_bytes_before = 0, weight_bytes_after = 0;
  double calibration_seconds = 0;
};

nlohmann::json QuantizeReportToJson(const QuantizeReport& report);

// Bytes after quantization (weights, scales, zero points, biases) per weight
// value, in bits.
double BitsPerWeight(const QuantizeReport& report);

}  // namespace pare::quantize

#endif  // PARE_QUANTIZE_REPORT_H_
