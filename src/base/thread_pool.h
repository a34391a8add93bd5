// A persistent pool of worker threads for data-parallel kernels. The caller is thread 0.
// Dispatch costs no allocation: workers spin briefly on a generation counter, then sleep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace silica {

// One step of a spin-wait: a pause, and after a few thousand a yield (whoever we wait on may
// have been descheduled on a busy machine). `spins` counts the steps taken.
void spin_pause(int& spins);

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(ith, nth) once on each of nth = size() threads and returns when all are done.
  template <typename Fn>
  void run(Fn&& fn) {
    run_raw(&call<std::remove_reference_t<Fn>>, const_cast<void*>(static_cast<const void*>(&fn)),
            true);
  }

  // Runs fn(ith, nth) on the caller and on the workers that join before the caller's own call
  // returns; a worker not yet running by then (asleep, descheduled on a busy machine) is not
  // waited for and skips the job. For bodies that share their work out dynamically.
  template <typename Fn>
  void run_any(Fn&& fn) {
    run_raw(&call<std::remove_reference_t<Fn>>, const_cast<void*>(static_cast<const void*>(&fn)),
            false);
  }

  // Splits [0, n) into chunks of `grain` handed out dynamically; fn(begin, end, ith).
  template <typename Fn>
  void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (n_threads_ == 1 || n <= grain) {
      fn(int64_t(0), n, 0);
      return;
    }
    std::atomic<int64_t> next{0};
    run_any([&](int ith, int) {
      for (;;) {
        int64_t b = next.fetch_add(grain, std::memory_order_relaxed);
        if (b >= n) break;
        fn(b, std::min(n, b + grain), ith);
      }
    });
  }

  // Threads worth using by default: the physical cores this process may use (cpu_topology.h).
  static int default_threads();

 private:
  using RawFn = void (*)(void*, int, int);
  template <typename F>
  static void call(void* ctx, int ith, int nth) {
    (*static_cast<F*>(ctx))(ith, nth);
  }
  void run_raw(RawFn fn, void* ctx, bool all);
  void worker(int ith);
  void join_job(uint64_t generation, int ith);

  int n_threads_;
  std::vector<std::thread> workers_;
  RawFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  // Job admission: bits 32-63 the job's generation (low half), kJobAll for run() jobs, kJobClosed
  // once a run_any() caller is done, bits 0-29 the workers inside a run_any() job.
  std::atomic<uint64_t> gate_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

}  // namespace silica
