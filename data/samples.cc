#include "data/samples.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/graph_edit.h"
#include "core/npy.h"
#include "core/status_macros.h"
#include "data/inputs.h"

namespace pare::data {
namespace fs = std::filesystem;
namespace {

class DataSource : public SampleSource {
 public:
  DataSource(const Model& model, fs::path dir, std::vector<fs::path> sets)
      : model_(model), dir_(std::move(dir)), sets_(std::move(sets)) {}
  int64_t size() const override { return static_cast<int64_t>(sets_.size()); }
  absl::StatusOr<Sample> Get(int64_t i) const override {
    ASSIGN_OR_RETURN(std::vector<Tensor> inputs, LoadDataSet(model_, sets_[i]));
    return Sample{std::move(inputs), {}};
  }
  std::string Describe() const override {
    return absl::StrCat(sets_.size(), " sample(s) from ", dir_.string());
  }

 private:
  const Model& model_;
  fs::path dir_;
  std::vector<fs::path> sets_;
};

class RandomSource : public SampleSource {
 public:
  RandomSource(const Model& model, int64_t count, uint64_t seed,
               std::map<std::string, int64_t> dims)
      : model_(model), count_(count), seed_(seed), dims_(std::move(dims)) {}
  int64_t size() const override { return count_; }
  absl::StatusOr<Sample> Get(int64_t i) const override {
    ASSIGN_OR_RETURN(std::vector<Tensor> inputs,
                     RandomInputs(model_, seed_ + static_cast<uint64_t>(i), dims_));
    return Sample{std::move(inputs), {}};
  }
  std::string Describe() const override {
    return absl::StrCat(count_, " random sample(s), seed ", seed_);
  }

 private:
  const Model& model_;
  int64_t count_;
  uint64_t seed_;
  std::map<std::string, int64_t> dims_;
};

bool IsInteger(DataType t) { return t == DataType::kInt64 || t == DataType::kInt32; }

bool IsAuxiliaryInput(const std::string& name) {
  return absl::StrContains(name, "mask") || absl::StrContains(name, "position");
}

// The input that takes the token ids: the first integer one that is not a
// mask or positions (TokenSource::Get feeds it the same way).
const ValueInfo* TokenInput(const Model& model) {
  for (const ValueInfo* v : FeedableInputs(model)) {
    if (!IsAuxiliaryInput(v->name) && IsInteger(v->elem_type)) return v;
  }
  return nullptr;
}

// How many ids the model's vocabulary holds, with where that is read from:
// the rows of the constant table a Gather looks the tokens up in, else the
// last dimension of a "logits" output. Nothing when neither is known.
std::optional<std::pair<int64_t, std::string>> VocabularySize(const Model& model) {
  const ValueInfo* tokens = TokenInput(model);
  if (tokens == nullptr) return std::nullopt;
  const Constants constants(model.graph);
  for (const Node& node : model.graph.nodes) {
    if (node.op_type != "Gather" || node.inputs.size() < 2 || node.inputs[1] != tokens->name) {
      continue;
    }
    const Tensor* table = constants.Find(node.inputs[0]);
    if (table != nullptr && !table->dims().empty()) {
      return std::pair{table->dims()[0], absl::StrCat("the embedding ", node.inputs[0])};
    }
  }
  for (const ValueInfo& out : model.graph.outputs) {
    if (!absl::StrContains(out.name, "logits") || !out.shape || out.shape->empty()) continue;
    const std::optional<int64_t> last = out.shape->back().value;
    if (last && *last > 0) return std::pair{*last, absl::StrCat("the output ", out.name)};
  }
  return std::nullopt;
}

// Every id is one the model can look up: a negative or out-of-vocabulary id
// would read outside the embedding table (or be silently clamped by a
// runtime), so it is refused with its position in the file.
absl::Status CheckTokenIds(const Model& model, const fs::path& file,
                           const std::vector<int64_t>& tokens) {
  const auto vocab = VocabularySize(model);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(file.string(), ": token ", i, " is ",
                                                     tokens[i], ", not a token id (negative)"));
    }
    if (vocab && tokens[i] >= vocab->first) {
      return absl::InvalidArgumentError(absl::StrCat(file.string(), ": token ", i, " is ",
                                                     tokens[i], ", outside the vocabulary of ",
                                                     vocab->first, " ids (", vocab->second, ")"));
    }
  }
  return absl::OkStatus();
}

Tensor IntTensor(const std::string& name, DataType dtype, std::vector<int64_t> values) {
  const std::vector<int64_t> dims = {1, static_cast<int64_t>(values.size())};
  if (dtype == DataType::kInt32) {
    return Tensor::FromVector<int32_t>(name, dims,
                                       std::vector<int32_t>(values.begin(), values.end()));
  }
  return Tensor::FromVector<int64_t>(name, dims, values);
}

class TokenSource : public SampleSource {
 public:
  TokenSource(const Model& model, fs::path file, std::vector<int64_t> tokens, int64_t seq_len)
      : model_(model), file_(std::move(file)), tokens_(std::move(tokens)), seq_len_(seq_len) {}
  int64_t size() const override { return static_cast<int64_t>(tokens_.size()) / seq_len_; }
  absl::StatusOr<Sample> Get(int64_t i) const override {
    const int64_t start = i * seq_len_;
    std::vector<int64_t> chunk(tokens_.begin() + start, tokens_.begin() + start + seq_len_);
    Sample sample;
    bool fed_tokens = false;
    for (const ValueInfo* v : FeedableInputs(model_)) {
      std::vector<int64_t> values;
      if (absl::StrContains(v->name, "mask")) {
        values.assign(seq_len_, 1);
      } else if (absl::StrContains(v->name, "position")) {
        for (int64_t p = 0; p < seq_len_; ++p) values.push_back(p);
      } else if (!fed_tokens && IsInteger(v->elem_type)) {
        values = chunk;
        fed_tokens = true;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", v->name, "' is neither the token ids, an attention mask nor position ids"));
      }
      sample.inputs.push_back(IntTensor(v->name, v->elem_type, std::move(values)));
    }
    if (!fed_tokens) return absl::InvalidArgumentError("the model has no integer token input");
    for (int64_t p = 0; p < seq_len_; ++p) {
      const int64_t at = start + p + 1;
      sample.next_tokens.push_back(at < static_cast<int64_t>(tokens_.size()) ? tokens_[at] : -1);
    }
    return sample;
  }
  std::string Describe() const override {
    return absl::StrCat(size(), " chunk(s) of ", seq_len_, " tokens from ", file_.string());
  }

 private:
  const Model& model_;
  fs::path file_;
  std::vector<int64_t> tokens_;
  int64_t seq_len_;
};

absl::StatusOr<std::vector<int64_t>> ReadTokens(const fs::path& file) {
  if (file.extension() == ".npy") {
    ASSIGN_OR_RETURN(Tensor t, LoadNpy(file, "tokens"));
    std::vector<int64_t> out;
    if (t.dtype() == DataType::kInt64) {
      out.assign(t.data<int64_t>(), t.data<int64_t>() + t.element_count());
    } else if (t.dtype() == DataType::kInt32) {
      out.assign(t.data<int32_t>(), t.data<int32_t>() + t.element_count());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(file.string(), ": tokens must be integers"));
    }
    return out;
  }
  if (file.extension() == ".bin") {
    std::ifstream in(file, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat(file.string(), ": cannot open"));
    std::vector<int64_t> out;
    int32_t v;
    while (in.read(reinterpret_cast<char*>(&v), sizeof v)) out.push_back(v);
    return out;
  }
  return ReadIntegers(file);
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> ReadIntegers(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return absl::NotFoundError(absl::StrCat(file.string(), ": cannot open"));
  std::vector<int64_t> out;
  std::string word;
  while (in >> word) {
    try {
      size_t used = 0;
      out.push_back(std::stoll(word, &used));
      if (used != word.size()) throw std::invalid_argument(word);
    } catch (const std::exception&) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.string(), ": '", word, "' is not an integer"));
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<SampleSource>> DataSamples(const Model& model, const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    return absl::NotFoundError(absl::StrCat(dir.string(), ": not a folder"));
  }
  std::vector<fs::path> sets = DataSets(dir);
  if (sets.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir.string(), ": no test_data_set_* folders or input files"));
  }
  return std::unique_ptr<SampleSource>(new DataSource(model, dir, std::move(sets)));
}

std::unique_ptr<SampleSource> RandomSamples(const Model& model, int64_t count, uint64_t seed,
                                            std::map<std::string, int64_t> dims) {
  return std::make_unique<RandomSource>(model, count, seed, std::move(dims));
}

absl::StatusOr<std::unique_ptr<SampleSource>> TokenSamples(const Model& model, const fs::path& file,
                                                           int64_t seq_len) {
  if (seq_len < 2) return absl::InvalidArgumentError("--seq-len must be at least 2");
  ASSIGN_OR_RETURN(std::vector<int64_t> tokens, ReadTokens(file));
  RETURN_IF_ERROR(CheckTokenIds(model, file, tokens));
  if (static_cast<int64_t>(tokens.size()) < seq_len) {
    return absl::InvalidArgumentError(absl::StrCat(file.string(), ": ", tokens.size(),
                                                   " tokens, fewer than --seq-len ", seq_len));
  }
  return std::unique_ptr<SampleSource>(new TokenSource(model, file, std::move(tokens), seq_len));
}

}  // namespace pare::data
