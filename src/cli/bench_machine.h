// Machine figures `silica bench` reports beside the speeds: read bandwidth and peak resident
// memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace silica {

class ThreadPool;

// Bytes for the bandwidth buffer: 1 GiB (far beyond any last-level cache), less when
// available memory is short (at most a quarter of it, at least 64 MiB).
size_t bandwidth_buffer_bytes();

// Streaming read over `bytes` split across the pool's threads: one untimed pass (faults the
// pages in), then `passes` timed ones. Returns GB/s (1e9 bytes/s) of each timed pass; empty
// when the buffer cannot be allocated.
std::vector<double> measure_read_bandwidth(ThreadPool& pool, size_t bytes, int passes);

// Peak resident set size of this process in bytes: VmHWM on Linux (resettable), otherwise
// getrusage ru_maxrss (KiB on Linux, bytes on macOS).
int64_t peak_rss_bytes();

// Lowers the peak to the current resident size, so the next model's peak is its own.
// Linux only (/proc/self/clear_refs); returns false where it cannot.
bool reset_peak_rss();

}  // namespace silica
