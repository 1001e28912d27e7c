// A fixed pool of worker threads with a blocking parallel-for.
//
//   ThreadPool pool(2);
//   pool.ParallelFor(rows, /*min_chunk=*/16, [&](int64_t begin, int64_t end) { ... });
//
// ParallelFor splits [0, n) into at most one chunk per thread (never smaller
// than min_chunk) and runs them on the workers and the calling thread; it
// returns when all are done. With one thread everything runs inline.
#ifndef PARE_RUNTIME_THREAD_POOL_H_
#define PARE_RUNTIME_THREAD_POOL_H_

#include <cstdint>
#include <functional>
#include <memory>

namespace Eigen {
class ThreadPoolInterface;
}

namespace pare::runtime {

class ThreadPool {
 public:
  // threads <= 0 means one per hardware core.
  explicit ThreadPool(int threads);
  ~ThreadPool();

  int threads() const { return threads_; }
  void ParallelFor(int64_t n, int64_t min_chunk,
                   const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  int threads_;
  std::unique_ptr<Eigen::ThreadPoolInterface> pool_;
};

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_THREAD_POOL_H_
