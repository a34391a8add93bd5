// Byte-level BPE: merges a pre-tokenized word's bytes into tokens by merge rank.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace silica {

class BpeModel {
 public:
  // Builds the rank table from vocab.merges ("left right", rank = index) and the byte tokens.
  static Expected<BpeModel> create(const Vocab& vocab, bool ignore_merges);

  // Appends the tokens of one word (raw bytes, not byte-level encoded) to out.
  // O(n log n) in the word length: a heap of candidate pairs over a linked list of symbols.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  // The id whose stored (byte-level encoded) text is exactly text, or -1.
  int32_t text_to_id(std::string_view text) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t id;  // token the pair merges into
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  const Merge* find_merge(int32_t left, int32_t right) const;

  bool ignore_merges_ = false;
  std::array<int32_t, 256> byte_to_id_{};                // raw byte -> its single-byte token, or -1
  std::unordered_map<std::string, int32_t> text_to_id_;  // encoded token text -> id
  std::unordered_map<uint64_t, Merge> merges_;           // (left id, right id) -> merge
};

}  // namespace silica
