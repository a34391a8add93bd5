// Large, long-lived buffers (packed weights, the bandwidth probe) aligned to 2 MiB so that the
// OS may back them with huge pages: a bandwidth-bound pass over gigabytes then misses the TLB
// 512 times less often (in a VM every miss is a two-level page walk).
#pragma once

#include <cstddef>

namespace silica {

// bytes rounded up to 2 MiB; nullptr when out of memory or past 2^47 bytes. Free with
// free_large.
void* alloc_large(size_t bytes);
void free_large(void* p);

}  // namespace silica
