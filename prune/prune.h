// The prune stage: zeroes (or removes) weights so a model gets smaller or
// faster, and reports what it did per layer.
//
//   PruneOptions o{.method = PruneMethod::kWanda, .sparsity = 0.5};
//   ASSIGN_OR_RETURN(PruneReport r, Prune(model, &calibration, o));
//
// Methods:
//   magnitude  the smallest |w| go, per layer or (global) under one threshold;
//   wanda      the smallest |w| x ||x|| go, per output (Sun et al., 2023);
//              needs calibration data;
//   sparsegpt  Hessian-based masks with weight updates that compensate the
//              pruned weights (Frantar & Alistarh, 2023); needs calibration;
//   channels   structured: whole output channels of Conv and MatMul weights
//              go (FFN neurons in transformer blocks), with every tensor that
//              carries those channels cut to match, so the dense model shrinks.
// The first three make unstructured or N:M ("2:4": at most 2 non-zeros in
// every 4 consecutive weights along the input dimension) sparsity in MatMul,
// Gemm and Conv weights (wanda and sparsegpt: MatMul and Gemm only). The
// output head (a MatMul producing a graph output) stays dense unless asked.
#ifndef PARE_PRUNE_PRUNE_H_
#define PARE_PRUNE_PRUNE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model.h"
#include "data/calibration_data.h"
#include "prune/options.h"

namespace pare::prune {

// `calibration` may be null unless a layer's method needs data.
// On any error `model` is unchanged (core/stage.h: the stage works on a copy
// and commits only when everything succeeded).
absl::StatusOr<PruneReport> Prune(Model& model, const data::CalibrationData* calibration,
                                  const PruneOptions& options);

// Stores every sparse float weight of the main graph (MatMul, Gemm, Conv
// inputs with at least a quarter zeros) as its values plus a bitmask,
// decoded by standard operators (see PruneOptions::compact_storage); for
// convert's artifacts of already-pruned models. Returns how many weights
// were packed. Needs opset 11 or later. On any error `model` is unchanged.
absl::StatusOr<int64_t> StoreSparseWeightsCompact(Model& model);

// The fraction of exact zeros over the weights Prune would reach in the main
// graph (MatMul/Gemm/Conv constants, the head included).
absl::StatusOr<double> WeightSparsity(const Model& model);

}  // namespace pare::prune

#endif  // PARE_PRUNE_PRUNE_H_
