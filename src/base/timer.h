// Monotonic wall-clock timing for the statistics the engine reports.
#pragma once

#include <chrono>
#include <cstdint>

namespace silica {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace silica
