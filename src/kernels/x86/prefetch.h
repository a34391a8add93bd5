// Software prefetch for the packed tiles that stream a matrix from DRAM (decode), shared by the
// AVX2 and AVX-512 tiles.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace silica::kernels_internal {

// The lines of [p + ahead, p + ahead + bytes).
inline void prefetch_lines(const uint8_t* p, size_t bytes, size_t ahead) {
  for (size_t line = 0; line < bytes; line += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + ahead + line), _MM_HINT_T0);
}

// Step i of kSteps of prefetching the kBytes at p: a line or two per step, so that a decode's
// prefetches are spread through the work. Issued all at once, they fill the core's miss buffers
// and the instructions behind them wait in the reorder buffer, so DRAM and the arithmetic take
// turns (AVX2 Q4_K decode tile on Zen 3: packed_stream one core 8.4 -> 12.1 GB/s, two cores
// 15.0 -> 17.5; median of 9-12, interleaved; further ahead than one super-block was no better).
// kHint: an int, as clang's headers define the hints (GCC's are the enum _mm_hint).
template <size_t kBytes, int kSteps, int kHint = int(_MM_HINT_T0)>
[[gnu::always_inline]] inline void spread_prefetch(const uint8_t* p, int i) {
  constexpr int kLines = int(kBytes / 64);
  for (int line = kLines * i / kSteps; line < kLines * (i + 1) / kSteps; ++line)
    _mm_prefetch(reinterpret_cast<const char*>(p + 64 * line),
                 static_cast<decltype(_MM_HINT_T0)>(kHint));
}

// A decode streams each packed matrix from DRAM once per token. Prefetched into L1 a block
// ahead (prefetcht0), each line held one of the core's few L1 miss buffers until it arrived from
// DRAM, and so few lines were in flight that a fast tile waited on memory. Prefetched into L2
// (prefetcht1) this far ahead, more misses are in flight (L2 tracks more) and the L1 then fills
// from L2. Zen 4, packed_stream, medians of 4, interleaved with the old prefetch, one core / two:
// AVX-512 q4_0 14.4 -> 18.7 / 24.9 -> 27.3 GB/s, q8_0 17.1 -> 18.9 / 26.9 -> 28.1; AVX2 q4_0
// 12.6 -> 18.3 / 21.8 -> 25.6, q8_0 15.0 -> 18.2 / 25.5 -> 25.8 (8 and 16 KiB ahead about
// equal, 4 KiB less). The 16-row Q6_K tile streams this way too (spread_stream; Zen 4, one
// core / two, medians of 5: 15.8 -> 23.2 / 27.5 -> 32.3 GB/s); for the 16-row Q4_K tile it was
// slower on one core (25 -> 21), and the AVX2 K-quant tiles keep spread_prefetch (the change
// was inside the host's noise there, +-20% between identical runs).
constexpr size_t kStreamAheadBytes = 16384;

// The stream a Q4_0 / Q8_0 tile reads, in the order it reads it: a group laid out as its nb
// blocks' values, then their scales (kernels/packed.h), block b reading its values and its
// scales, the groups after it next. Each step prefetches into L2 the lines of the block kAhead
// blocks on (about kStreamAheadBytes of reading ahead; past the group's end, the next group's),
// its values and its scales. Taken as plain bytes (block b's share of the group's bytes, 16 KiB
// on), the scales at a group's end were reached only halfway through the group that read them:
// the first half of every group read its scales from DRAM unprefetched.
template <int64_t kValueBytes, int64_t kScaleBytes>
class GroupStream {
 public:
  GroupStream(const uint8_t* g, int64_t nb)
      : nb_(nb), group_bytes_(nb * (kValueBytes + kScaleBytes)) {
    constexpr int64_t kAhead = int64_t(kStreamAheadBytes) / (kValueBytes + kScaleBytes);
    group_ = g + kAhead / nb * group_bytes_;
    n_ = kAhead % nb;
  }

  [[gnu::always_inline]] void step() {
    const uint8_t* v = group_ + n_ * kValueBytes;
    for (int64_t line = 0; line < kValueBytes; line += 64)
      _mm_prefetch(reinterpret_cast<const char*>(v + line), _MM_HINT_T1);
    _mm_prefetch(reinterpret_cast<const char*>(group_ + nb_ * kValueBytes + n_ * kScaleBytes),
                 _MM_HINT_T1);
    if (++n_ == nb_) {
      n_ = 0;
      group_ += group_bytes_;
    }
  }

 private:
  int64_t nb_, group_bytes_, n_;
  const uint8_t* group_;
};

// Step i of kSteps through the kBytes at p as a decode's stream: the lines kStreamAheadBytes
// on, into L2.
template <size_t kBytes, int kSteps>
[[gnu::always_inline]] inline void spread_stream(const uint8_t* p, int i) {
  spread_prefetch<kBytes, kSteps, int(_MM_HINT_T1)>(p + kStreamAheadBytes, i);
}

}  // namespace silica::kernels_internal
