// Structured pruning: removes whole channels. A channel group is every
// tensor that carries one channel dimension: the Conv or MatMul weights that
// produce it (several when a residual Add or a squeeze-excite Mul joins
// their outputs), the per-channel ops it flows through (BatchNormalization,
// activations, pools, depthwise convs, per-channel Add/Mul constants) and the
// Conv/MatMul/Gemm weights that consume it. Cutting channel c cuts it from
// all of them, so the dense graph shrinks and stays valid. Channels are
// ranked by the L2 norm of each producer's filter (times the following
// BatchNormalization's scale), normalised per producer and summed. A group
// that reaches a graph input or output, a Reshape, Concat or any op not
// understood channel-wise is left whole. Internal to prune/.
#ifndef PARE_PRUNE_CHANNELS_H_
#define PARE_PRUNE_CHANNELS_H_

#include "absl/status/statusor.h"
#include "core/model.h"
#include "data/calibration_data.h"
#include "prune/options.h"

namespace pare::prune {

// With calibration data, channels are ranked by what they carry into their
// readers and each reader's bias absorbs the removed channels' mean.
absl::StatusOr<PruneReport> PruneChannels(Model& model, const data::CalibrationData* data,
                                          const PruneOptions& options);

}  // namespace pare::prune

#endif  // PARE_PRUNE_CHANNELS_H_
