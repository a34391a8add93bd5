// NFC: decompose fully, sort combining marks by class, recompose primary composites.
#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <span>
#include <tuple>
#include <vector>

#include "tokenizer/utf8.h"

namespace silica {
namespace {

// Hangul syllables compose and decompose by arithmetic (Unicode ch. 3.12), not by table.
constexpr uint32_t kHangulS = 0xAC00, kHangulL = 0x1100, kHangulV = 0x1161, kHangulT = 0x11A7;
constexpr uint32_t kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28;
constexpr uint32_t kHangulNCount = kHangulVCount * kHangulTCount;
constexpr uint32_t kHangulSCount = kHangulLCount * kHangulNCount;

uint8_t ccc_of(uint32_t cp) {
  if (cp < 0x300) return 0;
  const std::span<const NfcCombiningClass> t(kNfcCombiningClasses, kNfcCombiningClassCount);
  // The first range that does not end before cp.
  const auto it = std::lower_bound(
      t.begin(), t.end(), cp, [](const NfcCombiningClass& e, uint32_t c) { return e.last < c; });
  return it != t.end() && it->first <= cp ? it->ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kHangulS && cp < kHangulS + kHangulSCount) {
    const uint32_t s = cp - kHangulS;
    out.push_back(kHangulL + s / kHangulNCount);
    out.push_back(kHangulV + (s % kHangulNCount) / kHangulTCount);
    if (s % kHangulTCount) out.push_back(kHangulT + s % kHangulTCount);
    return;
  }
  const std::span<const NfcDecomposition> t(kNfcDecompositions, kNfcDecompositionCount);
  const auto it = std::lower_bound(t.begin(), t.end(), cp,
                                   [](const NfcDecomposition& e, uint32_t c) { return e.cp < c; });
  if (it == t.end() || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  for (uint32_t c : it->to) {
    if (c) out.push_back(c);
  }
}

// The primary composite of a + b, or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kHangulL && a < kHangulL + kHangulLCount && b >= kHangulV &&
      b < kHangulV + kHangulVCount) {
    return kHangulS + ((a - kHangulL) * kHangulVCount + (b - kHangulV)) * kHangulTCount;
  }
  if (a >= kHangulS && a < kHangulS + kHangulSCount && (a - kHangulS) % kHangulTCount == 0 &&
      b > kHangulT && b < kHangulT + kHangulTCount) {
    return a + (b - kHangulT);
  }
  const std::span<const NfcComposition> t(kNfcCompositions, kNfcCompositionCount);
  const auto it = std::lower_bound(t.begin(), t.end(), std::pair(a, b),
                                   [](const NfcComposition& e, std::pair<uint32_t, uint32_t> k) {
                                     return std::pair(e.first, e.second) < k;
                                   });
  return it != t.end() && it->first == a && it->second == b ? it->composed : 0;
}

uint32_t decode_at(std::string_view s, size_t pos, size_t len) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[pos + i]); };
  switch (len) {
    case 1:
      return b(0);
    case 2:
      return (b(0) & 0x1Fu) << 6 | (b(1) & 0x3Fu);
    case 3:
      return (b(0) & 0x0Fu) << 12 | (b(1) & 0x3Fu) << 6 | (b(2) & 0x3Fu);
    default:
      return (b(0) & 0x07u) << 18 | (b(1) & 0x3Fu) << 12 | (b(2) & 0x3Fu) << 6 | (b(3) & 0x3Fu);
  }
}

}  // namespace

std::string normalize_nfc(std::string_view text) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; })) {
    return std::string(text);
  }
  std::vector<uint32_t> cps;  // [n_cpts] fully decomposed
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = utf8_sequence_length(text, pos);
    if (len == 0) {  // invalid byte (callers sanitize first): U+FFFD
      cps.push_back(0xFFFD);
      ++pos;
      continue;
    }
    decompose(decode_at(text, pos, len), cps);
    pos += len;
  }
  // Canonical ordering: each run of non-starters sorted by class, stably.
  std::vector<uint8_t> cls(cps.size());  // [n_cpts]
  for (size_t i = 0; i < cps.size(); ++i) cls[i] = ccc_of(cps[i]);
  for (size_t i = 0; i < cps.size();) {
    if (cls[i] == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && cls[j] != 0) ++j;
    std::vector<std::pair<uint8_t, uint32_t>> run;
    for (size_t k = i; k < j; ++k) run.emplace_back(cls[k], cps[k]);
    std::stable_sort(run.begin(), run.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t k = i; k < j; ++k) std::tie(cls[k], cps[k]) = run[k - i];
    i = j;
  }
  // Composition: a mark joins the last starter unless a mark of equal or higher class (or a
  // starter) stands between them.
  std::string out;
  out.reserve(text.size());
  std::vector<uint32_t> res;  // [n_out]
  int64_t starter = -1;
  uint8_t prev_cls = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint8_t c = cls[i];
    if (starter >= 0) {
      const bool adjacent = res.size() == static_cast<size_t>(starter) + 1;
      if (adjacent || (prev_cls != 0 && prev_cls < c)) {
        if (const uint32_t comp = compose(res[starter], cps[i]); comp != 0) {
          res[starter] = comp;
          continue;
        }
      }
    }
    if (c == 0) starter = static_cast<int64_t>(res.size());
    res.push_back(cps[i]);
    prev_cls = c;
  }
  for (uint32_t cp : res) append_utf8(out, cp);
  return out;
}

}  // namespace silica
