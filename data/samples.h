// Where evaluation samples come from: a data folder, seeded random inputs,
// or a token file cut into fixed-length language-model samples. Samples are
// produced one at a time, on demand.
#ifndef PARE_DATA_SAMPLES_H_
#define PARE_DATA_SAMPLES_H_

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"

namespace pare::data {

struct Sample {
  std::vector<Tensor> inputs;
  std::vector<int64_t> next_tokens;  // lm: the token after each position, or -1
};

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual int64_t size() const = 0;
  virtual absl::StatusOr<Sample> Get(int64_t index) const = 0;
  virtual std::string Describe() const = 0;
};

// test_data_set_*/input_N.pb (or NAME.npy / NAME.pb per input) under `dir`.
absl::StatusOr<std::unique_ptr<SampleSource>> DataSamples(const Model& model,
                                                          const std::filesystem::path& dir);
// `count` samples; sample i uses seed + i.
std::unique_ptr<SampleSource> RandomSamples(const Model& model, int64_t count, uint64_t seed,
                                            std::map<std::string, int64_t> dims);
// Token ids from `file` (whitespace-separated text, an integer .npy, or raw
// little-endian int32 .bin) in non-overlapping chunks of seq_len. The model's
// first integer input takes the chunk [1, seq_len]; inputs named like
// attention_mask / position_ids are filled with ones / 0..seq_len-1.
absl::StatusOr<std::unique_ptr<SampleSource>> TokenSamples(const Model& model,
                                                           const std::filesystem::path& file,
                                                           int64_t seq_len);

// Whitespace-separated integers (labels, text token files).
absl::StatusOr<std::vector<int64_t>> ReadIntegers(const std::filesystem::path& file);

}  // namespace pare::data

#endif  // PARE_DATA_SAMPLES_H_
