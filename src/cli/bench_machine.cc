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

// Independent accumulators: enough loads in flight that the loop is bound by memory, not by
// the add chain.
constexpr int kLanes = 8;

volatile uint64_t g_sink = 0;  // the read sums land here so the reads are not optimised away

// Software prefetch this far ahead: the decode kernels prefetch too, and on some hosts (a Zen 3
// VM) a loop without it reads 15-35% slower than they do, which would put them above "the bound".
constexpr size_t kPrefetchBytes = 2048;

uint64_t sum_words(const uint64_t* p, size_t n) {  // n: a multiple of kLanes (one 64-byte line)
  uint64_t acc[kLanes] = {};
  for (size_t i = 0; i < n; i += kLanes) {
    __builtin_prefetch(reinterpret_cast<const char*>(p + i) + kPrefetchBytes);
    for (int l = 0; l < kLanes; ++l) acc[l] += p[i + size_t(l)];
  }
  uint64_t s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

}  // namespace

double measure_span_read_gbps(ThreadPool& pool, const std::vector<MemorySpan>& spans) {
  size_t total = 0;
  for (const MemorySpan& s : spans) total += s.bytes;
  if (total == 0) return 0;
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
        sink[size_t(ith)] +=
            sum_words(reinterpret_cast<const uint64_t*>(first), words / kLanes * kLanes);
      }
      at += s.bytes;
    }
  });
  const int64_t dt = std::max<int64_t>(now_ns() - t0, 1);
  for (uint64_t s : sink) g_sink = g_sink ^ s;
  return double(total) / double(dt);
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
