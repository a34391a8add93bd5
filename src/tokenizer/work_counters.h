// What encoding did on the calling thread, counted so tests can bound the work of degenerate
// input (no quadratic blowup) without timing anything.
#pragma once

#include <cstdint>

namespace silica {

struct TokenizerWork {
  uint64_t regex_matches = 0;  // pcre2_match calls of the pre-tokenizer
  uint64_t merge_lookups = 0;  // BPE (left, right) pair-table lookups
};

// This thread's counters; reset them by assigning TokenizerWork{}.
inline TokenizerWork& tokenizer_work() {
  thread_local TokenizerWork work;
  return work;
}

}  // namespace silica
