// Flat hash tables for the tokenizers: token text -> id, and (left id, right id) -> merge.
// Open addressing over one array each (no node per entry): building them for a 128k-token
// vocabulary with 280k merges is a few cache misses per entry instead of an allocation and
// three scattered reads, which made loading the tokenizer take a third of a second.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace silica {

// 64-bit hash of a byte string (multiply-xorshift over 8-byte words).
uint64_t hash_bytes(std::string_view s);

// Token text -> id over a whole vocabulary; of two equal texts the later id wins (llama.cpp).
// Holds its own copy of the texts, so it does not depend on the vocabulary staying alive.
class TokenIndex {
 public:
  TokenIndex() = default;
  explicit TokenIndex(const std::vector<std::string>& tokens);

  // The id whose text is exactly `text`, or -1.
  int32_t find(std::string_view text) const;

  // ids[i] = find(texts[i]) for i < n, with the table's cache misses taken a group at a time
  // instead of one after another (the vocabulary's table is megabytes: each miss is DRAM).
  void find_batch(const std::string_view* texts, size_t n, int32_t* ids) const;

 private:
  std::string_view text_of(int32_t id) const {
    return {chars_.data() + offsets_[size_t(id)], offsets_[size_t(id) + 1] - offsets_[size_t(id)]};
  }

  std::string chars_;            // every token's text, one after another
  std::vector<size_t> offsets_;  // [n + 1]: token i is chars_[offsets_[i], offsets_[i + 1])
  // The first 8 bytes and the length of the text sit in the slot: a lookup of a short text
  // (most tokens) reads the slot alone, a longer one the rest of its text in chars_.
  struct Slot {
    uint64_t head;  // text[0, min(len, 8)), zero-padded
    uint32_t len;
    int32_t id;  // -1: empty
  };
  static uint64_t head_of(std::string_view s);
  bool holds(const Slot& s, std::string_view text, uint64_t head) const;
  int32_t find_from(size_t slot, std::string_view text) const;
  void insert(size_t slot, std::string_view text, int32_t id);
  std::vector<Slot> slots_;  // power-of-two size, at most half full
};

// (int32 left, int32 right) -> V, both ids >= 0; the first value stored for a pair stays.
// At most three quarters full.
template <typename V>
class PairTable {
 public:
  explicit PairTable(size_t expected = 0) {
    size_t n = 16;
    while (3 * n < 4 * expected) n *= 2;
    slots_.resize(n);
  }

  // Fetches the pair's slot into the cache ahead of an insert or find.
  void prefetch(int32_t left, int32_t right) const {
    __builtin_prefetch(&slots_[home(key_of(left, right))]);
  }

  // Stores v for the pair unless it is there already; returns whether it was stored.
  bool insert(int32_t left, int32_t right, const V& v) {
    if (4 * (count_ + 1) > 3 * slots_.size()) grow();
    Slot& s = slots_[probe(key_of(left, right))];
    if (s.key != kEmpty) return false;
    s = {key_of(left, right), v};
    ++count_;
    return true;
  }

  const V* find(int32_t left, int32_t right) const {
    if (left < 0 || right < 0) return nullptr;
    const Slot& s = slots_[probe(key_of(left, right))];
    return s.key == kEmpty ? nullptr : &s.value;
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // no valid pair has both ids -1
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };
  static uint64_t key_of(int32_t left, int32_t right) {
    return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  }
  size_t home(uint64_t key) const {
    return size_t((key * 0x9e3779b97f4a7c15ull) >> 32) & (slots_.size() - 1);
  }
  // The slot holding `key`, or the empty one where it would go (linear probing).
  size_t probe(uint64_t key) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = home(key);; i = (i + 1) & mask)
      if (slots_[i].key == key || slots_[i].key == kEmpty) return i;
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old)
      if (s.key != kEmpty) slots_[probe(s.key)] = s;
  }

  std::vector<Slot> slots_;
  size_t count_ = 0;
};

}  // namespace silica
