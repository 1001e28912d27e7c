// NumPy .npy files (format versions 1.0-3.0, little-endian, C order), the
// exchange format for tensors going into and out of pare's CLI.
//
//   ASSIGN_OR_RETURN(Tensor t, LoadNpy("input.npy", "x"));
//   RETURN_IF_ERROR(SaveNpy(t, "out/y.npy"));
#ifndef PARE_CORE_NPY_H_
#define PARE_CORE_NPY_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace pare {

// Reads a .npy file into a tensor named `name`. Fortran order, big-endian
// data and object arrays are refused with InvalidArgument.
absl::StatusOr<Tensor> LoadNpy(const std::filesystem::path& path, const std::string& name);

// Writes a tensor as .npy (version 1.0), atomically. Unsupported for string,
// 4-bit and float8 tensors.
absl::Status SaveNpy(const Tensor& tensor, const std::filesystem::path& path);

}  // namespace pare

#endif  // PARE_CORE_NPY_H_
