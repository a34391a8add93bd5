// Machine figures `silica bench` reports beside the speeds: read bandwidth and peak resident
// memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace silica {

class ThreadPool;

// Memory a decode step streams: one span per weight matrix as the kernels read it.
struct MemorySpan {
  const void* data;
  size_t bytes;
};

// Plain streaming reads over the spans, split evenly (by bytes) across the pool's threads, one
// with a software prefetch and one without: the faster one's GB/s (1e9 bytes/s). Reading the
// model's own weights (the same pages, huge or not, the same threads) right beside a decode rep
// makes "weight bytes per token / this" the step's bound.
double measure_span_read_gbps(ThreadPool& pool, const std::vector<MemorySpan>& spans);

// Peak resident set size of this process in bytes: VmHWM on Linux (resettable), otherwise
// getrusage ru_maxrss (KiB on Linux, bytes on macOS).
int64_t peak_rss_bytes();

// Lowers the peak to the current resident size, so the next model's peak is its own.
// Linux only (/proc/self/clear_refs); returns false where it cannot.
bool reset_peak_rss();

}  // namespace silica
