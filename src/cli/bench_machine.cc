// Read bandwidth and peak RSS for `silica bench` (no SIMD: a plain loop with prefetch saturates
// memory).
#include "cli/bench_machine.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "base/thread_pool.h"
#include "base/timer.h"

namespace silica {
namespace {

volatile uint64_t g_sink = 0;  // the read sums land here so the reads are not optimised away

// A 64-byte line at a time into eight independent sums, named so that they live in registers:
// as an array, inlined into the pool's job, GCC kept them on the stack and the loop did a
// load-add-store per word, a CPU-bound 12.5 GB/s per thread on a Zen 4 core where the decode
// itself streamed 19-27 ("reached" up to 2.3). kAhead: software prefetch this many bytes
// ahead, or none.
template <size_t kAhead>
uint64_t sum_words(const uint64_t* p, size_t n) {  // n: a multiple of 8 (one line)
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (size_t i = 0; i < n; i += 8) {
    if constexpr (kAhead > 0) __builtin_prefetch(reinterpret_cast<const char*>(p + i) + kAhead);
    a0 += p[i];
    a1 += p[i + 1];
    a2 += p[i + 2];
    a3 += p[i + 3];
    a4 += p[i + 4];
    a5 += p[i + 5];
    a6 += p[i + 6];
    a7 += p[i + 7];
  }
  return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

using SumFn = uint64_t (*)(const uint64_t*, size_t);

// One read of the spans with `sum`: GB/s.
double read_spans_gbps(ThreadPool& pool, const std::vector<MemorySpan>& spans, size_t total,
                       SumFn sum) {
  const int nth = pool.size();
  std::vector<uint64_t> sink(size_t(nth), 0);
  const int64_t t0 = now_ns();
  pool.run([&](int ith, int) {
    // This thread's share [b, e) of the spans laid end to end; whole 8-word runs of each piece
    // (a few bytes at the edges of a piece are not read: nothing next to megabytes).
    const size_t b = total / size_t(nth) * size_t(ith);
    const size_t e = ith == nth - 1 ? total : b + total / size_t(nth);
    size_t at = 0;
    for (const MemorySpan& s : spans) {
      const size_t lo = std::max(b, at), hi = std::min(e, at + s.bytes);
      if (lo < hi) {
        const uintptr_t p0 = reinterpret_cast<uintptr_t>(s.data) + (lo - at), p1 = p0 + (hi - lo);
        const uintptr_t first = (p0 + 7) / 8 * 8;
        const size_t words = p1 > first ? (p1 - first) / 8 : 0;
        sink[size_t(ith)] += sum(reinterpret_cast<const uint64_t*>(first), words / 8 * 8);
      }
      at += s.bytes;
    }
  });
  const int64_t dt = std::max<int64_t>(now_ns() - t0, 1);
  for (uint64_t s : sink) g_sink = g_sink ^ s;
  return double(total) / double(dt);
}

}  // namespace

// The faster of two reads, one with a software prefetch 2 KiB ahead and one without: on a Zen 3
// VM the loop without it read 15-35% below silica's decode, which put the decode above "the
// bound"; on a Zen 4 host the prefetch cost the loop 15-20% (standalone, 1 GiB, one core: 27 vs
// 34 GB/s with huge pages, 24.5 vs 28.5 without), and the decode reached up to 1.4 of it.
double measure_span_read_gbps(ThreadPool& pool, const std::vector<MemorySpan>& spans) {
  size_t total = 0;
  for (const MemorySpan& s : spans) total += s.bytes;
  if (total == 0) return 0;
  return std::max(read_spans_gbps(pool, spans, total, &sum_words<2048>),
                  read_spans_gbps(pool, spans, total, &sum_words<0>));
}

int64_t peak_rss_bytes() {
#ifdef __linux__
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "N kB"
#endif
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
#ifdef __APPLE__
  return int64_t(ru.ru_maxrss);  // bytes on macOS
#else
  return int64_t(ru.ru_maxrss) * 1024;  // KiB on Linux and the BSDs
#endif
}

bool reset_peak_rss() {
#ifdef __linux__
  // "5" resets the peak RSS (VmHWM) to the current RSS (Linux 4.0 and later).
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
#else
  return false;
#endif
}

}  // namespace silica
