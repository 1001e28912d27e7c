// The contract every stage (quantize, prune, float16 storage) keeps with its
// caller: on any error the caller's model is unchanged.
//
//   absl::StatusOr<Report> MyStage(Model& model, const Options& o) {
//     return CommitOnSuccess(model, [&](Model& work) { return MyStageOn(work, o); });
//   }
//
// The stage plans (validates options and inputs), computes (new tensors) and
// rewrites `work`, a copy of the model; the copy replaces the model only when
// all of that succeeded. A copy is cheap: tensors share their storage
// (tensor.h), so it duplicates the graph's nodes and names, never weights.
#ifndef PARE_CORE_STAGE_H_
#define PARE_CORE_STAGE_H_

#include <utility>

#include "core/model.h"

namespace pare {

// `stage(Model&)` returns absl::Status or absl::StatusOr<T>.
template <typename Stage>
auto CommitOnSuccess(Model& model, Stage&& stage) {
  Model work = model;
  auto result = std::forward<Stage>(stage)(work);
  if (result.ok()) model = std::move(work);
  return result;
}

}  // namespace pare

#endif  // PARE_CORE_STAGE_H_
