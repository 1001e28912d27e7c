// Per-layer blame: where in the candidate graph the accuracy goes.
//
// Values are matched between the two graphs by name (pare's quantizers and
// pruners keep the names of the activations they touch; Q/DQ pairs,
// MatMulNBits and rewritten nodes sit between matched values). Only values
// computed from the graph inputs take part; weights never do, so a changed
// weight shows up in the layer that reads it.
//
// For every matched value two errors are measured against the reference:
//  - accumulated: the candidate run end to end (everything upstream counts);
//  - local: the candidate's nodes between the nearest matched values, fed the
//    reference's values there, so only this layer's own error counts.
// Layers are ranked by local SQNR, worst first.
#ifndef PARE_EVALUATE_PER_LAYER_H_
#define PARE_EVALUATE_PER_LAYER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "evaluate/metrics.h"

namespace pare::evaluate {

struct LayerReport {
  std::string value;    // the matched tensor
  std::string node;     // the candidate node producing it
  std::string op_type;  // of that node, domain-qualified when not ONNX
  int segment_nodes = 0;
  ErrorSummary local, accumulated;
};

class LayerAnalysis {
 public:
  // Prepares sessions for both models (no operator fusion, so every
  // intermediate is observable).
  static absl::StatusOr<std::unique_ptr<LayerAnalysis>> Create(const Model& reference,
                                                               const Model& candidate, int threads);
  ~LayerAnalysis();

  // Runs one sample through both models and every layer. Memory: the
  // reference's intermediates of this one sample.
  absl::Status AddSample(const std::vector<Tensor>& inputs);

  // Worst local SQNR first.
  std::vector<LayerReport> Layers() const;

 private:
  struct State;
  explicit LayerAnalysis(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pare::evaluate

#endif  // PARE_EVALUATE_PER_LAYER_H_
