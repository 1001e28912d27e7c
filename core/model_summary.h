// What `pare inspect` reports about a model: operators, parameters by dtype,
// inputs and outputs, opsets, external data files and the largest tensors.
// The JSON form is documented in docs/inspect-json.md and kept stable.
//
//   ModelSummary summary = Summarize(model);
//   std::cout << SummaryToText(summary);
//
// Parameters are the elements of every initializer and every Constant-node
// tensor, in the main graph and all subgraphs (exports keep weights in both).
#ifndef PARE_CORE_MODEL_SUMMARY_H_
#define PARE_CORE_MODEL_SUMMARY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "nlohmann/json.hpp"

namespace pare {

struct WeightEntry {
  std::string name;
  std::string kind;  // "initializer" or "constant"
  DataType dtype = DataType::kUndefined;
  std::vector<int64_t> dims;
  uint64_t elements = 0;
  uint64_t bytes = 0;
  std::string external_location;  // empty when stored inline
};

struct DtypeTotals {
  uint64_t tensors = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

struct ExternalFileTotals {
  std::string location;
  uint64_t tensors = 0;
  uint64_t bytes = 0;                  // bytes its tensors reference
  std::optional<uint64_t> file_bytes;  // size on disk, when the file is found
};

struct ModelSummary {
  std::string path;
  std::optional<uint64_t> file_bytes;
  int64_t ir_version = 0;
  std::string producer;
  std::vector<OpsetImport> opsets;
  uint64_t node_count = 0;                       // all graphs
  uint64_t subgraph_count = 0;                   // graphs other than the main one
  std::map<std::string, uint64_t> op_histogram;  // "Conv", "com.microsoft.MatMulNBits"
  uint64_t parameter_count = 0;
  uint64_t parameter_bytes = 0;
  uint64_t sparse_initializer_count = 0;
  std::map<std::string, DtypeTotals> by_dtype;
  std::vector<ValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::vector<ExternalFileTotals> external_files;
  std::vector<WeightEntry> largest;  // by bytes, descending
};

ModelSummary Summarize(const Model& model, size_t largest_count = 10);

nlohmann::json SummaryToJson(const ModelSummary& summary);
std::string SummaryToText(const ModelSummary& summary);

// "float[N,3,224,224]"-style text for a value's type and shape.
std::string DescribeValue(const ValueInfo& value);

}  // namespace pare

#endif  // PARE_CORE_MODEL_SUMMARY_H_
