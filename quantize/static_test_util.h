// Helpers shared by the static int8 tests (not part of the library).
#ifndef PARE_QUANTIZE_STATIC_TEST_UTIL_H_
#define PARE_QUANTIZE_STATIC_TEST_UTIL_H_

#include <cmath>
#include <vector>

#include "core/model.h"
#include "data/inputs.h"
#include "quantize/static_options.h"

namespace pare::quantize::testing {

// `count` samples of random inputs, sample i seeded first_seed + i.
inline CalibrationData RandomCalibration(const Model& model, int64_t count,
                                         uint64_t first_seed = 100) {
  return {count,
          [&model, first_seed](int64_t i) { return data::RandomInputs(model, first_seed + i, {}); },
          "random"};
}

inline double SqnrDb(const std::vector<float>& ref, const std::vector<float>& got) {
  double s = 0, n = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    s += ref[i] * ref[i];
    n += (got[i] - ref[i]) * (got[i] - ref[i]);
  }
  return 10 * std::log10(s / n);
}

}  // namespace pare::quantize::testing

#endif  // PARE_QUANTIZE_STATIC_TEST_UTIL_H_
