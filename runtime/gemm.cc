#include "runtime/gemm.h"

#include <Eigen/Core>

namespace pare::runtime {
namespace {

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;

// Multiplies rows [r0, r1) and columns [c0, c1) of C.
template <typename T>
void Block(const T* a, const T* b, T* c, int64_t m, int64_t n, int64_t k, bool trans_a,
           bool trans_b, T alpha, T beta, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t rows = r1 - r0, cols = c1 - c0;
  Eigen::Map<Matrix<T>, 0, Stride> out(c + r0 * n + c0, rows, cols, Stride(n));
  auto compute = [&](const auto& lhs, const auto& rhs) {
    if (beta == T{0}) {
      out.noalias() = alpha * (lhs * rhs);
    } else {
      out = beta * out;
      out.noalias() += alpha * (lhs * rhs);
    }
  };
  auto rhs_of = [&](auto&& fn) {
    if (trans_b) {  // B stored [n, k]: rows c0..c1 transposed
      Eigen::Map<const Matrix<T>> bt(b + c0 * k, cols, k);
      fn(bt.transpose());
    } else {
      Eigen::Map<const Matrix<T>, 0, Stride> bb(b + c0, k, cols, Stride(n));
      fn(bb);
    }
  };
  if (trans_a) {  // A stored [k, m]: columns r0..r1 transposed
    Eigen::Map<const Matrix<T>, 0, Stride> at(a + r0, k, rows, Stride(m));
    rhs_of([&](const auto& rhs) { compute(at.transpose(), rhs); });
  } else {
    Eigen::Map<const Matrix<T>> aa(a + r0 * k, rows, k);
    rhs_of([&](const auto& rhs) { compute(aa, rhs); });
  }
}

}  // namespace

template <typename T>
void Gemm(const T* a, const T* b, T* c, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
          T alpha, T beta, ThreadPool& pool) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m * n; ++i) c[i] = beta == T{0} ? T{0} : beta * c[i];
    return;
  }
  // Split the larger output dimension, so that each thread packs only its
  // share of the big operand; small problems stay on one thread.
  const int64_t work = m * n * k;
  const int64_t grain_rows = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, n * k / 64));
  if (work < (1 << 18) || pool.threads() == 1) {
    Block(a, b, c, m, n, k, trans_a, trans_b, alpha, beta, 0, m, 0, n);
  } else if (m >= n) {
    pool.ParallelFor(m, std::min<int64_t>(grain_rows, m), [&](int64_t lo, int64_t hi) {
      Block(a, b, c, m, n, k, trans_a, trans_b, alpha, beta, lo, hi, 0, n);
    });
  } else {
    pool.ParallelFor(n, 64, [&](int64_t lo, int64_t hi) {
      Block(a, b, c, m, n, k, trans_a, trans_b, alpha, beta, 0, m, lo, hi);
    });
  }
}

template void Gemm<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, bool, bool,
                          float, float, ThreadPool&);
template void Gemm<int32_t>(const int32_t*, const int32_t*, int32_t*, int64_t, int64_t, int64_t,
                            bool, bool, int32_t, int32_t, ThreadPool&);
template void Gemm<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, bool,
                           bool, double, double, ThreadPool&);

}  // namespace pare::runtime
