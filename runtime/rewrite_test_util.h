// The before/after check every rewrite pass's test makes: the pass list
// changes the model, and the rewritten model computes what the original
// did (both run unfused, so the session adds no rewrites of its own).
#ifndef PARE_RUNTIME_REWRITE_TEST_UTIL_H_
#define PARE_RUNTIME_REWRITE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <vector>

#include "core/rewrite.h"
#include "runtime/session.h"

namespace pare::testing {

inline std::vector<std::vector<float>> RunUnfused(const Model& model,
                                                  const std::vector<Tensor>& inputs) {
  auto session = runtime::Session::Create(model, {.threads = 1, .fuse = false});
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return {};
  auto out = (*session)->Run(inputs);
  EXPECT_TRUE(out.ok()) << out.status();
  std::vector<std::vector<float>> values;
  if (out.ok()) {
    for (const Tensor& t : *out) values.push_back(t.ToFloat32().value());
  }
  return values;
}

// Applies `passes` to a copy of `model`; expects each pass to report a
// change, and the outputs to agree within `tolerance`. Returns the copy.
inline Model ExpectRewriteKeepsOutputs(const Model& model, const RewritePasses& passes,
                                       const std::vector<Tensor>& inputs, float tolerance = 1e-6f) {
  Model after = model;
  auto done = ApplyRewrites(after, passes);
  EXPECT_TRUE(done.ok()) << done.status();
  if (done.ok()) {
    for (const RewriteOutcome& o : *done) EXPECT_TRUE(o.changed) << o.pass << " changed nothing";
  }
  const auto before_out = RunUnfused(model, inputs), after_out = RunUnfused(after, inputs);
  EXPECT_EQ(before_out.size(), after_out.size());
  for (size_t i = 0; i < before_out.size() && i < after_out.size(); ++i) {
    EXPECT_EQ(before_out[i].size(), after_out[i].size()) << "output " << i;
    if (before_out[i].size() != after_out[i].size()) continue;
    for (size_t j = 0; j < before_out[i].size(); ++j) {
      EXPECT_NEAR(before_out[i][j], after_out[i][j], tolerance)
          << "output " << i << "[" << j << "]";
    }
  }
  return after;
}

}  // namespace pare::testing

#endif  // PARE_RUNTIME_REWRITE_TEST_UTIL_H_
