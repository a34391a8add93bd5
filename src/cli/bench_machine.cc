// Read bandwidth and peak RSS for `silica bench` (no SIMD: a plain loop saturates memory).
#include "cli/bench_machine.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "base/large_alloc.h"
#include "base/thread_pool.h"
#include "base/timer.h"

namespace silica {
namespace {

constexpr size_t kBandwidthBytes = size_t(1) << 30;
constexpr size_t kMinBandwidthBytes = size_t(64) << 20;
// Independent accumulators: enough loads in flight that the loop is bound by memory, not by
// the add chain.
constexpr int kLanes = 8;

volatile uint64_t g_sink = 0;  // the read sums land here so the reads are not optimised away

size_t available_memory_bytes() {
#ifdef _SC_AVPHYS_PAGES
  const long pages = sysconf(_SC_AVPHYS_PAGES);
#else
  const long pages = sysconf(_SC_PHYS_PAGES);
#endif
  const long page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? size_t(pages) * size_t(page) : 0;
}

uint64_t sum_words(const uint64_t* p, size_t n) {  // n: a multiple of kLanes
  uint64_t acc[kLanes] = {};
  for (size_t i = 0; i < n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += p[i + size_t(l)];
  uint64_t s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

}  // namespace

size_t bandwidth_buffer_bytes() {
  const size_t avail = available_memory_bytes();
  if (avail == 0) return kBandwidthBytes;
  return std::max(kMinBandwidthBytes, std::min(kBandwidthBytes, avail / 4));
}

std::vector<double> measure_read_bandwidth(ThreadPool& pool, size_t bytes, int passes) {
  const size_t n_words = bytes / sizeof(uint64_t) / kLanes * kLanes;
  // Held like the packed weights (alloc_large: huge pages where the OS gives them), so the
  // probe pays the same TLB cost per byte as a decode step does: on 4 KiB pages it read 35%
  // below what the engines reach (Xeon VM, 2026-12).
  std::unique_ptr<uint64_t[], void (*)(void*)> buf(
      static_cast<uint64_t*>(alloc_large(n_words * sizeof(uint64_t))), &free_large);
  if (!buf) return {};
  const int nth = pool.size();
  // Each thread writes then reads its own slice, so first-touch places pages near it.
  auto slice = [&](int ith) {
    const size_t per = n_words / size_t(nth) / kLanes * kLanes;
    const size_t b = per * size_t(ith);
    return std::pair<size_t, size_t>{b, ith == nth - 1 ? n_words : b + per};
  };
  pool.run([&](int ith, int) {
    auto [b, e] = slice(ith);
    for (size_t i = b; i < e; ++i) buf[i] = i;
  });
  std::vector<uint64_t> sink(size_t(nth), 0);
  std::vector<double> gbps;
  for (int p = 0; p <= passes; ++p) {  // pass 0 warms up and is not counted
    const int64_t t0 = now_ns();
    pool.run([&](int ith, int) {
      auto [b, e] = slice(ith);
      sink[size_t(ith)] += sum_words(buf.get() + b, e - b);
    });
    const int64_t dt = now_ns() - t0;
    if (p > 0) gbps.push_back(double(n_words * sizeof(uint64_t)) / double(dt));
  }
  for (uint64_t s : sink) g_sink = g_sink ^ s;
  return gbps;
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
