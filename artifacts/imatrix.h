// llama.cpp's importance matrix ("imatrix"): for each weight, named as in
// the GGUF file, the sum over calibration tokens of each input's square,
// and the number of tokens. llama.cpp's quantizer weighs each weight's
// rounding error by the mean (sum / count); pare writes these from its
// own calibration, and reads the files llama.cpp's llama-imatrix writes:
// the GGUF form (general.type = imatrix, NAME.in_sum2 and NAME.counts
// tensors) and the legacy .dat form.
//
//   ASSIGN_OR_RETURN(ImportanceMatrix m, ReadImatrix("model.imatrix"));
//   std::vector<float> w = m.Mean("blk.0.attn_q.weight");
#ifndef PARE_ARTIFACTS_IMATRIX_H_
#define PARE_ARTIFACTS_IMATRIX_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pare::artifacts {

struct ImportanceMatrix {
  struct Entry {
    std::vector<float> sum_squares;  // one per input
    float count = 0;                 // tokens summed
  };
  std::map<std::string, Entry> entries;  // by GGUF weight name
  std::vector<std::string> datasets;
  uint32_t chunk_count = 0, chunk_size = 0;

  // The mean square per input (what llama.cpp's quantizer is given); empty
  // when `name` has no entry.
  std::vector<float> Mean(const std::string& name) const;
};

// The GGUF form, written atomically.
absl::Status WriteImatrix(const ImportanceMatrix& m, const std::filesystem::path& path);

// Either form, told apart by the GGUF magic; errors name the file and what
// is wrong with it.
absl::StatusOr<ImportanceMatrix> ReadImatrix(const std::filesystem::path& path);

}  // namespace pare::artifacts

#endif  // PARE_ARTIFACTS_IMATRIX_H_
