// Worker loop: spin on the generation counter for a short while (per-token dispatches come
// microseconds apart), then sleep on a condition variable so idle pools cost no CPU.
#include "base/thread_pool.h"

#include <algorithm>

#include "base/cpu_topology.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define SILICA_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define SILICA_PAUSE() asm volatile("yield")
#else
#define SILICA_PAUSE() \
  do {                 \
  } while (0)
#endif

namespace silica {
namespace {
// About 0.1-0.5 ms of spinning: per-token dispatches come microseconds apart, while a
// longer spin only burns a core that another process (or an oversubscribed pool) needs.
constexpr int kSpinIterations = 1 << 13;
constexpr uint64_t kJobAll = uint64_t(1) << 31;
constexpr uint64_t kJobClosed = uint64_t(1) << 30;
constexpr uint64_t kJobInside = kJobClosed - 1;
}  // namespace

void spin_pause(int& spins) {
  if (spins++ < kSpinIterations)
    SILICA_PAUSE();
  else
    std::this_thread::yield();
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

int ThreadPool::default_threads() {
  return default_compute_threads();
}

void ThreadPool::run_raw(RawFn fn, void* ctx, bool all) {
  if (n_threads_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  fn_ = fn;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  // Only this thread (and the destructor) moves the generation, so the next value is known.
  const uint64_t g = generation_.load(std::memory_order_relaxed) + 1;
  gate_.store(uint64_t(uint32_t(g)) << 32 | (all ? kJobAll : 0), std::memory_order_relaxed);
  {
    // Publishing under the mutex pairs with sleepers checking the generation under it.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.store(g, std::memory_order_release);
  }
  if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
  fn(ctx, 0, n_threads_);
  int spins = 0;
  if (all) {
    while (pending_.load(std::memory_order_acquire) != 0) spin_pause(spins);
    return;
  }
  // Close the job, then wait only for the workers already inside it.
  uint64_t v = gate_.fetch_or(kJobClosed, std::memory_order_acq_rel);
  while ((v & kJobInside) != 0) {
    spin_pause(spins);
    v = gate_.load(std::memory_order_acquire);
  }
}

// A worker that saw generation g: a run() job it must run; a run_any() job it may enter while
// the job is still open (and still job g: a late worker must not enter a later job's gate).
void ThreadPool::join_job(uint64_t g, int ith) {
  const uint64_t job = uint64_t(uint32_t(g)) << 32;
  uint64_t v = gate_.load(std::memory_order_acquire);
  if ((v >> 32) << 32 != job) return;  // a later job: the next generation check finds it
  if (v & kJobAll) {
    fn_(ctx_, ith, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    return;
  }
  while ((v >> 32) << 32 == job && !(v & kJobClosed)) {
    if (gate_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
      fn_(ctx_, ith, n_threads_);
      gate_.fetch_sub(1, std::memory_order_release);
      return;
    }
  }
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
      SILICA_PAUSE();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      sleepers_.fetch_sub(1);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load()) return;
    join_job(g, ith);
  }
}

}  // namespace silica
