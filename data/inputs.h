// Where model inputs come from: files (.npy or ONNX TensorProto .pb), a
// folder in the ONNX test layout, or synthesized from the declared types.
//
//   ASSIGN_OR_RETURN(auto inputs, RandomInputs(model, /*seed=*/1, {{"batch", 4}}));
//   ASSIGN_OR_RETURN(Tensor x, LoadTensorFile("x.npy", "x"));
#ifndef PARE_DATA_INPUTS_H_
#define PARE_DATA_INPUTS_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare::data {

// Graph inputs that must be fed (not initializers), in declaration order.
std::vector<const ValueInfo*> FeedableInputs(const Model& model);

// Reads .npy or .pb (by extension) and names the tensor `name`.
absl::StatusOr<Tensor> LoadTensorFile(const std::filesystem::path& path, const std::string& name);

// Inputs of one test_data_set folder: input_0.pb, input_1.pb, ... bound to
// the feedable inputs in order; where input_<i>.pb is missing, NAME.npy or
// NAME.pb named after the input.
absl::StatusOr<std::vector<Tensor>> LoadDataSet(const Model& model,
                                                const std::filesystem::path& dir);

// The test_data_set_* folders of a data directory, in numeric order; the
// directory itself when it holds .pb or .npy files directly.
std::vector<std::filesystem::path> DataSets(const std::filesystem::path& dir);

// Synthesizes inputs from declared types and shapes with a seeded generator:
// floats uniform in [-1, 1), integers in [0, 10), bools fair. Symbolic or
// unknown dimensions take `dims[name]`, or 1 when not given.
absl::StatusOr<std::vector<Tensor>> RandomInputs(const Model& model, uint64_t seed,
                                                 const std::map<std::string, int64_t>& dims);

}  // namespace pare::data

#endif  // PARE_DATA_INPUTS_H_
