#include "runtime/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PARE_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define PARE_CPU_RELAX() asm volatile("yield")
#else
#define PARE_CPU_RELAX() ((void)0)
#endif

namespace pare::runtime {
namespace {

// About 50-100 microseconds of polling before a worker sleeps: long enough
// to bridge the gap between one operator's loop and the next.
constexpr int kSpinIterations = 4000;

thread_local bool inside_chunk = false;

}  // namespace

ThreadPool::ThreadPool(int threads)
    : threads_(threads > 0 ? threads
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::RunChunk(int64_t chunk) {
  const int64_t begin = chunk * job_.step;
  const int64_t end = std::min(job_.n, begin + job_.step);
  if (begin >= end) return;
  inside_chunk = true;
  (*job_.fn)(begin, end);
  inside_chunk = false;
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  while (true) {
    for (int spin = 0; spin < kSpinIterations && generation_.load() == seen; ++spin) {
      PARE_CPU_RELAX();
    }
    if (generation_.load() == seen) {
      std::unique_lock<std::mutex> lock(sleep_mu_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1);
    }
    seen = generation_.load();
    if (stop_.load()) return;
    if (index < job_.chunks) RunChunk(index);
    checked_in_.fetch_add(1);
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t min_chunk,
                             const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(1, min_chunk);
  const int64_t chunks = std::min<int64_t>(threads_, (n + min_chunk - 1) / min_chunk);
  std::unique_lock<std::mutex> dispatch(dispatch_, std::try_to_lock);
  if (chunks <= 1 || workers_.empty() || inside_chunk || !dispatch.owns_lock()) {
    fn(0, n);
    return;
  }
  job_ = {&fn, n, (n + chunks - 1) / chunks, chunks};
  checked_in_.store(0);
  generation_.fetch_add(1);  // publishes job_ (sequentially consistent)
  if (sleepers_.load() > 0) {
    // Taking the lock orders this wake-up after a sleeper's check.
    { std::lock_guard<std::mutex> lock(sleep_mu_); }
    wake_.notify_all();
  }
  RunChunk(0);
  const int workers = static_cast<int>(workers_.size());
  for (int spin = 0; checked_in_.load() < workers; ++spin) {
    if (spin < kSpinIterations) {
      PARE_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace pare::runtime
