// A fixed pool of worker threads with a blocking parallel-for.
//
//   ThreadPool pool(2);
//   pool.ParallelFor(rows, /*min_chunk=*/16, [&](int64_t begin, int64_t end) { ... });
//
// ParallelFor splits [0, n) into at most one chunk per thread (never smaller
// than min_chunk) and runs them on the workers and the calling thread; it
// returns when all are done. With one thread everything runs inline.
//
// A model runs hundreds of short parallel loops, so dispatch latency
// matters more than throughput: workers spin briefly on a generation
// counter after each loop before sleeping, which keeps a dispatch to a few
// microseconds while a model runs and costs nothing once it is idle. A
// ParallelFor called from inside a chunk (or while another thread is
// dispatching) runs inline rather than deadlocking.
#ifndef PARE_RUNTIME_THREAD_POOL_H_
#define PARE_RUNTIME_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pare::runtime {

class ThreadPool {
 public:
  // threads <= 0 means one per hardware core.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  void ParallelFor(int64_t n, int64_t min_chunk,
                   const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  // The loop being dispatched; stable until every worker has checked in.
  struct Job {
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    int64_t n = 0, step = 0, chunks = 0;
  };

  void WorkerLoop(int index);
  void RunChunk(int64_t chunk);

  int threads_;
  std::vector<std::thread> workers_;
  Job job_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> checked_in_{0};  // workers done with the current job
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex dispatch_;  // one dispatcher at a time
  std::mutex sleep_mu_;
  std::condition_variable wake_;
};

}  // namespace pare::runtime

#endif  // PARE_RUNTIME_THREAD_POOL_H_
