// Run-time CPU feature detection (cpuid + xgetbv on x86, hwcaps / sysctl on ARM) and the choice
// of ISA, which SILICA_ISA can cap (and SILICA_CPU_HIDE narrow) for tests and benchmarks.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

namespace silica {
namespace {

#if defined(__x86_64__) || defined(_M_X64)
// XCR0: which register states the OS saves on context switch. Using AVX without the OS saving
// YMM (or AVX-512 without opmask/ZMM state) corrupts registers across thread switches.
uint64_t read_xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28);
  const bool fma = c & (1u << 12), f16c = c & (1u << 29);
  const unsigned base_family = (a >> 8) & 0xf;  // family 0xf adds the extended family
  const unsigned family = base_family + (base_family == 0xf ? (a >> 20) & 0xff : 0);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  constexpr uint64_t kYmmState = 0x6;   // SSE + AVX upper halves
  constexpr uint64_t kZmmState = 0xe0;  // opmask + ZMM0-15 upper + ZMM16-31
  if ((xcr0 & kYmmState) != kYmmState) return f;
  f.fma = fma;
  f.f16c = f16c;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = b & (1u << 5);
  f.bmi2 = b & (1u << 8);
  if ((xcr0 & kZmmState) == kZmmState) {
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
    f.avx512vnni = c & (1u << 11);
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    f.avx512bf16 = a1 & (1u << 5);
    // AMD family 19h with AVX-512 is Zen 4, whose 512-bit datapath is two 256-bit halves
    // (Zen 5, family 1Ah, has full-width units).
    unsigned v0, vb, vc, vd;
    __cpuid(0, v0, vb, vc, vd);
    const bool amd = vb == 0x68747541 && vd == 0x69746e65 && vc == 0x444d4163;  // "AuthenticAMD"
    f.avx512_split = amd && family == 0x19 && f.avx512f;
  }
  constexpr uint64_t kTileState = uint64_t(3) << 17;  // XTILECFG + XTILEDATA
  f.amx_int8 = (d & (1u << 24)) && (d & (1u << 25)) && (xcr0 & kTileState) == kTileState;
  return f;
}
#elif defined(__aarch64__)
CpuFeatures detect() {
  CpuFeatures f;
  f.neon = true;  // Advanced SIMD is part of the AArch64 baseline.
#if defined(__APPLE__)
  int v = 0;
  size_t len = sizeof(v);
  if (sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &len, nullptr, 0) == 0) f.dotprod = v != 0;
#elif defined(__linux__)
  f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
  return f;
}
#else
CpuFeatures detect() {
  return {};
}
#endif

bool isa_usable(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kScalar:
      return true;
#if defined(SILICA_HAVE_X86)
    case Isa::kAvx2:
      return f.avx2 && f.fma && f.f16c && f.bmi2;
    // The AVX-512 files are built with VNNI enabled, so they need it; CPUs with AVX-512 but
    // without it (Skylake-X) run the AVX2 kernels. BF16 is optional (x86/avx512bf16_dot.cc).
    case Isa::kAvx512:
      return isa_usable(Isa::kAvx2) && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq &&
             f.avx512vnni;
#endif
#if defined(SILICA_HAVE_NEON)
    case Isa::kNeon:
      return f.neon;
#endif
    default:
      return false;
  }
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kNeon:
      return "neon";
  }
  return "unknown";
}

namespace {

// SILICA_CPU_HIDE=name,... clears features the CPU has, so that tests reach the paths of CPUs
// without them (avx512bf16: Cascade Lake / Ice Lake's AVX-512 without BF16).
CpuFeatures hide_from_env(CpuFeatures f) {
  const char* env = std::getenv("SILICA_CPU_HIDE");
  if (!env) return f;
  const struct {
    const char* name;
    bool CpuFeatures::*flag;
  } kNames[] = {{"avx512bf16", &CpuFeatures::avx512bf16},
                {"avx512vnni", &CpuFeatures::avx512vnni},
                {"amx_int8", &CpuFeatures::amx_int8},
                {"avx512_split", &CpuFeatures::avx512_split},
                {"dotprod", &CpuFeatures::dotprod}};
  for (const char* p = env; *p;) {
    const char* end = std::strchr(p, ',');
    const size_t len = end ? size_t(end - p) : std::strlen(p);
    bool known = false;
    for (const auto& n : kNames)
      if (std::strlen(n.name) == len && std::strncmp(n.name, p, len) == 0)
        f.*n.flag = false, known = true;
    if (!known && len > 0)
      std::fprintf(stderr,
                   "warning: SILICA_CPU_HIDE: unknown feature '%.*s' (known: avx512bf16, "
                   "avx512vnni, amx_int8, avx512_split, dotprod)\n",
                   int(len), p);
    p += len + (end ? 1 : 0);
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = hide_from_env(detect());
  return features;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon})
    if (isa_usable(isa)) out.push_back(isa);
  return out;
}

Isa best_isa() {
  static const Isa best = [] {
    // available_isas() is ordered from weakest to strongest within each architecture.
    const std::vector<Isa> isas = available_isas();
    Isa pick = isas.back();
    const char* env = std::getenv("SILICA_ISA");
    if (env == nullptr) return pick;
    for (Isa cap : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
      if (std::strcmp(env, isa_name(cap)) != 0) continue;
      // The strongest available ISA not above the cap (enum values order x86 ISAs by strength).
      pick = Isa::kScalar;
      for (Isa isa : isas)
        if (int(isa) <= int(cap)) pick = isa;
    }
    return pick;
  }();
  return best;
}

}  // namespace silica
