// Float matrix multiply for the runtime: C = alpha * op(A) * op(B) + beta * C,
// row-major, through Eigen, split across the thread pool.
//
//   Gemm<float>(a, b, c, m, n, k, false, false, 1.0f, 0.0f, pool);
#ifndef PARE_RUNTIME_GEMM_H_
#define PARE_RUNTIME_GEMM_H_

#include <cstdint>

#include "runtime/thread_pool.h"

namespace pare::runtime {

// A is [m, k] (or [k, m] when trans_a), B is [k, n] (or [n, k] when
// trans_b), C is [m, n]. With beta == 0, C's prior contents are ignored.
template <typename T>
void Gemm(const T* a, const T* b, T* c, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
          T alpha, T beta, ThreadPool& pool);

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_GEMM_H_
