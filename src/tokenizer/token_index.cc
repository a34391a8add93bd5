// TokenIndex: token texts in one buffer, a linear-probing table of (hash tag, id) over them.
#include "tokenizer/token_index.h"

#include <algorithm>
#include <cstring>

namespace silica {

uint64_t hash_bytes(std::string_view s) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  uint64_t h = uint64_t(s.size()) * kMul;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * kMul;
  }
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  return h ^ (h >> 32);
}

uint64_t TokenIndex::head_of(std::string_view s) {
  uint64_t w = 0;
  std::memcpy(&w, s.data(), s.size() < 8 ? s.size() : 8);
  return w;
}

bool TokenIndex::holds(const Slot& s, std::string_view text, uint64_t head) const {
  if (s.head != head || s.len != text.size()) return false;
  return text.size() <= 8 || text_of(s.id).substr(8) == text.substr(8);
}

TokenIndex::TokenIndex(const std::vector<std::string>& tokens) {
  size_t total = 0;
  for (const auto& t : tokens) total += t.size();
  chars_.reserve(total);
  offsets_.reserve(tokens.size() + 1);
  offsets_.push_back(0);
  for (const auto& t : tokens) {
    chars_ += t;
    offsets_.push_back(chars_.size());
  }
  size_t n = 16;
  while (n < 2 * tokens.size()) n *= 2;
  slots_.assign(n, Slot{0, 0, -1});
  const size_t mask = n - 1;
  constexpr size_t kGroup = 16;  // slots fetched ahead together, as in find_batch
  size_t home[kGroup];
  for (size_t g = 0; g < tokens.size(); g += kGroup) {
    const size_t m = std::min(kGroup, tokens.size() - g);
    for (size_t k = 0; k < m; ++k) {
      home[k] = size_t(hash_bytes(tokens[g + k])) & mask;
      __builtin_prefetch(&slots_[home[k]]);
    }
    for (size_t k = 0; k < m; ++k) insert(home[k], tokens[g + k], int32_t(g + k));
  }
}

void TokenIndex::insert(size_t slot, std::string_view text, int32_t id) {
  const uint64_t head = head_of(text);
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.id < 0) {
      s = {head, uint32_t(text.size()), id};
      return;
    }
    if (holds(s, text, head)) {
      s.id = id;  // a later duplicate replaces the earlier one
      return;
    }
  }
}

int32_t TokenIndex::find_from(size_t slot, std::string_view text) const {
  const uint64_t head = head_of(text);
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id < 0) return -1;
    if (holds(s, text, head)) return s.id;
  }
}

int32_t TokenIndex::find(std::string_view text) const {
  if (slots_.empty()) return -1;
  return find_from(size_t(hash_bytes(text)) & (slots_.size() - 1), text);
}

void TokenIndex::find_batch(const std::string_view* texts, size_t n, int32_t* ids) const {
  if (slots_.empty()) {
    std::fill(ids, ids + n, -1);
    return;
  }
  constexpr size_t kGroup = 16;  // misses in flight at once; more than the core tracks is waste
  const size_t mask = slots_.size() - 1;
  size_t home[kGroup];
  for (size_t g = 0; g < n; g += kGroup) {
    const size_t m = std::min(kGroup, n - g);
    for (size_t i = 0; i < m; ++i) {
      home[i] = size_t(hash_bytes(texts[g + i])) & mask;
      __builtin_prefetch(&slots_[home[i]]);
    }
    for (size_t i = 0; i < m; ++i) ids[g + i] = find_from(home[i], texts[g + i]);
  }
}

}  // namespace silica
