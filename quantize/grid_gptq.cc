#include "quantize/grid_gptq.h"

#include <Eigen/Core>
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace pare::quantize {
namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using DoubleMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The block [b0, b0 + block) of one row: packed from the row as updated so
// far (fixing the grid), then coded input by input with the error spread
// over the block's later inputs; records each input's scaled error.
void CodeBlock(const QuantFormat& f, const Matrix& u, const std::vector<float>& importance,
               int64_t b0, float* row, float* errors, uint8_t* packed) {
  const int64_t block = f.block;
  // The grid: weighted by each input's importance (its Hessian diagonal)
  // where the format has a weighted search, else the format's own fit.
  if (f.pack_weighted) {
    f.pack_weighted(row + b0, importance.data() + b0, packed);
  } else {
    f.pack(row + b0, packed);
  }
  BlockGrid grid;
  f.grid(packed, &grid);
  std::vector<uint8_t> codes(static_cast<size_t>(block));
  for (int64_t j = 0; j < block; ++j) {
    const int64_t col = b0 + j;
    const int sub = static_cast<int>(j / grid.sub);
    const int code = grid.Nearest(sub, row[col]);
    codes[j] = static_cast<uint8_t>(code);
    const float error = (row[col] - grid.Value(sub, code)) / u(col, col);
    errors[j] = error;
    for (int64_t t = j + 1; t < block; ++t) row[b0 + t] -= error * u(col, b0 + t);
  }
  f.set_codes(codes.data(), packed);
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> QuantizeGptqIntoBlocks(const float* rows, int64_t out,
                                                            int64_t in,
                                                            const data::HessianAccumulator& h,
                                                            const QuantFormat& f,
                                                            const GridGptqOptions& o) {
  if (!f.fixed_block() || f.block <= 1 || !f.grid || !f.set_codes) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(f.name), " is not a quantized block format"));
  }
  if (in % f.block != 0 || h.k() != in) {
    return absl::InvalidArgumentError(absl::StrCat("a weight of ", in, " inputs and a Hessian of ",
                                                   h.k(), " for ", std::string(f.name),
                                                   " blocks of ", f.block));
  }
  // Inputs never seen get 1 on the diagonal: rounded to nearest, not zeroed
  // (GGUF files are run on text calibration never covered).
  std::vector<bool> dead;
  const std::vector<double> mean = data::MeanHessian(h, &dead);
  ASSIGN_OR_RETURN(const std::vector<double> u_values,
                   data::InverseCholeskyUpper(mean, in, o.damp));
  const Matrix u = Eigen::Map<const DoubleMatrix>(u_values.data(), in, in).cast<float>();
  Matrix w = Eigen::Map<const Matrix>(rows, out, in);
  std::vector<float> importance(static_cast<size_t>(in));
  for (int64_t i = 0; i < in; ++i) importance[i] = static_cast<float>(mean[i * in + i]);
  const int64_t blocks = in / f.block, block = f.block;
  std::vector<uint8_t> bytes(static_cast<size_t>(out * blocks * f.bytes_per_block));
  Matrix errors(out, block);
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t b0 = b * block;
    auto code_rows = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        uint8_t* packed = bytes.data() + (r * blocks + b) * f.bytes_per_block;
        CodeBlock(f, u, importance, b0, w.row(r).data(), errors.row(r).data(), packed);
      }
    };
    if (o.pool) {
      o.pool->ParallelFor(out, 8, code_rows);
    } else {
      code_rows(0, out);
    }
    // The block's errors reach every later input at once (GPTQ's lazy batch).
    const int64_t rest = in - b0 - block;
    if (rest > 0) w.rightCols(rest).noalias() -= errors * u.block(b0, b0 + block, block, rest);
  }
  return bytes;
}

std::vector<uint8_t> PackRowsWeighted(const float* rows, int64_t out, int64_t in,
                                      const QuantFormat& f, runtime::ThreadPool* pool,
                                      const float* importance) {
  const int64_t blocks = in / f.block;
  std::vector<uint8_t> bytes(static_cast<size_t>(out * blocks * f.bytes_per_block));
  const std::vector<float> uniform(static_cast<size_t>(in), 1.0f);
  const float* w = importance ? importance : uniform.data();
  auto pack_rows = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      f.pack_weighted(rows + i * f.block, w + (i % blocks) * f.block,
                      bytes.data() + i * f.bytes_per_block);
    }
  };
  if (pool) {
    pool->ParallelFor(out * blocks, 64, pack_rows);
  } else {
    pack_rows(0, out * blocks);
  }
  return bytes;
}

}  // namespace pare::quantize
