#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

namespace pare::runtime {
namespace {

// Every index is visited exactly once, across pool sizes and loop lengths,
// including after the workers have gone to sleep.
TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 7, 64, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      pool.ParallelFor(n, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[i].load(), 1) << threads << " " << n << " " << i;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // workers sleep
    std::atomic<int64_t> sum{0};
    pool.ParallelFor(100, 1, [&](int64_t lo, int64_t hi) { sum += hi - lo; });
    EXPECT_EQ(sum.load(), 100);
  }
}

TEST(ThreadPool, NestedLoopsRunInlineInsteadOfDeadlocking) {
  ThreadPool pool(3);
  std::atomic<int64_t> inner{0};
  pool.ParallelFor(3, 1, [&](int64_t, int64_t) {
    pool.ParallelFor(10, 1, [&](int64_t lo, int64_t hi) { inner += hi - lo; });
  });
  EXPECT_EQ(inner.load(), 30);
}

TEST(ThreadPool, RespectsTheMinimumChunk) {
  ThreadPool pool(4);
  std::atomic<int> chunks{0};
  pool.ParallelFor(100, 60, [&](int64_t, int64_t) { chunks++; });
  EXPECT_EQ(chunks.load(), 2);
}

}  // namespace
}  // namespace pare::runtime
