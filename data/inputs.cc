#include "data/inputs.h"

#include <algorithm>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/float16.h"
#include "core/npy.h"
#include "core/onnx_io.h"
#include "core/status_macros.h"

namespace pare::data {
namespace fs = std::filesystem;

std::vector<const ValueInfo*> FeedableInputs(const Model& model) {
  absl::flat_hash_set<std::string> initializers;
  for (const Tensor& t : model.graph.initializers) initializers.insert(t.name());
  std::vector<const ValueInfo*> out;
  for (const ValueInfo& v : model.graph.inputs) {
    if (!initializers.contains(v.name)) out.push_back(&v);
  }
  return out;
}

absl::StatusOr<Tensor> LoadTensorFile(const fs::path& path, const std::string& name) {
  if (path.extension() == ".npy") return LoadNpy(path, name);
  ASSIGN_OR_RETURN(Tensor t, LoadTensorProto(path));
  t.set_name(name);
  return t;
}

std::vector<fs::path> DataSets(const fs::path& dir) {
  std::vector<fs::path> sets;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(e.path());
    }
  }
  auto number = [](const fs::path& p) {
    return std::atoi(p.filename().string().substr(14).c_str());
  };
  std::sort(sets.begin(), sets.end(),
            [&](const fs::path& a, const fs::path& b) { return number(a) < number(b); });
  if (!sets.empty()) return sets;
  // The folder itself as one sample: input_0.pb, or NAME.npy / NAME.pb files.
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".pb" || ext == ".npy")) {
      sets.push_back(dir);
      break;
    }
  }
  return sets;
}

absl::StatusOr<std::vector<Tensor>> LoadDataSet(const Model& model, const fs::path& dir) {
  std::vector<Tensor> inputs;
  const auto feed = FeedableInputs(model);
  for (size_t i = 0; i < feed.size(); ++i) {
    // input_<i>.pb as the ONNX test layout has it, else a file named after the input.
    fs::path file = dir / absl::StrCat("input_", i, ".pb");
    for (const char* ext : {".npy", ".pb"}) {
      if (!fs::exists(file)) file = dir / (feed[i]->name + ext);
    }
    if (!fs::exists(file)) {
      return absl::NotFoundError(absl::StrCat(dir.string(), ": no input_", i, ".pb, ",
                                              feed[i]->name, ".npy or ", feed[i]->name,
                                              ".pb for input '", feed[i]->name, "'"));
    }
    ASSIGN_OR_RETURN(Tensor t, LoadTensorFile(file, feed[i]->name));
    inputs.push_back(std::move(t));
  }
  return inputs;
}

absl::StatusOr<std::vector<Tensor>> RandomInputs(const Model& model, uint64_t seed,
                                                 const std::map<std::string, int64_t>& dims) {
  std::mt19937_64 rng(seed);
  std::vector<Tensor> inputs;
  for (const ValueInfo* v : FeedableInputs(model)) {
    if (!v->is_tensor || !v->shape) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", v->name, "' has no declared tensor shape; pass it with --input"));
    }
    std::vector<int64_t> shape;
    for (const Dim& d : *v->shape) {
      auto it = dims.find(d.param);
      shape.push_back(d.value ? *d.value : it != dims.end() ? it->second : 1);
    }
    ASSIGN_OR_RETURN(uint64_t count, ElementCount(shape));
    const uint64_t bytes = StorageBytes(v->elem_type, count).value_or(count);
    RETURN_IF_ERROR(CheckAllocation(
        absl::StrCat("input '", v->name, "' [", absl::StrJoin(shape, ","), "] (see --dim)"),
        // int32 inputs are generated as int64 first
        v->elem_type == DataType::kInt32 ? 2 * bytes : bytes));
    std::uniform_real_distribution<float> real(-1.0f, 1.0f);
    switch (v->elem_type) {
      case DataType::kFloat32: {
        std::vector<float> values(count);
        for (auto& x : values) x = real(rng);
        inputs.push_back(Tensor::FromVector<float>(v->name, shape, values));
        break;
      }
      case DataType::kFloat16: {
        std::vector<uint8_t> bytes(count * 2);
        for (uint64_t i = 0; i < count; ++i) {
          const uint16_t h = Float32ToFloat16(real(rng));
          std::memcpy(&bytes[i * 2], &h, 2);
        }
        inputs.push_back(Tensor::FromBytes(v->name, DataType::kFloat16, shape, bytes));
        break;
      }
      case DataType::kInt64:
      case DataType::kInt32: {
        std::vector<int64_t> values(count);
        for (auto& x : values) x = static_cast<int64_t>(rng() % 10);
        if (v->elem_type == DataType::kInt64) {
          inputs.push_back(Tensor::FromVector<int64_t>(v->name, shape, values));
        } else {
          inputs.push_back(Tensor::FromVector<int32_t>(
              v->name, shape, std::vector<int32_t>(values.begin(), values.end())));
        }
        break;
      }
      case DataType::kBool: {
        std::vector<uint8_t> bytes(count);
        for (auto& b : bytes) b = rng() & 1;
        inputs.push_back(Tensor::FromBytes(v->name, DataType::kBool, shape, bytes));
        break;
      }
      default:
        return absl::UnimplementedError(absl::StrCat("input '", v->name, "': cannot synthesize ",
                                                     DataTypeName(v->elem_type), " values"));
    }
  }
  return inputs;
}

}  // namespace pare::data
