// Portable random numbers for sampling: xoshiro256** seeded by splitmix64, bit-identical on every
// platform and standard library (std:: distributions are not).
#pragma once

#include <cstdint>

namespace silica {

// One step of splitmix64: advances state and returns the next output. Used to expand a 64-bit
// seed into xoshiro's 256-bit state, as the xoshiro authors recommend.
uint64_t splitmix64_next(uint64_t& state);

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  // Sets the raw 256-bit state (for reference test vectors); must not be all zero.
  static Rng from_state(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3) {
    Rng r;
    r.s_[0] = s0, r.s_[1] = s1, r.s_[2] = s2, r.s_[3] = s3;
    return r;
  }
  void reseed(uint64_t seed);
  uint64_t next_u64();  // xoshiro256**
  // Uniform in [0, 1): the top 53 bits scaled by 2^-53, so every value is exactly representable.
  double uniform();

 private:
  uint64_t s_[4];
};

}  // namespace silica
