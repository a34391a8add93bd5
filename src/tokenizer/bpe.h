// BPE by merge rank over a pre-tokenized word: byte-level (GPT-2 style, every byte a token) or
// over UTF-8 characters with <0xAB> byte fallback (SentencePiece-style BPE: Gemma 3/4).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/token_index.h"
#include "tokenizer/vocab.h"

namespace silica {

// How a word becomes the symbols merging starts from.
enum class BpeSymbols {
  kByteLevel,  // each byte, as its GPT-2 byte-level character (tokens store encoded text)
  kUtf8,       // each UTF-8 character as written; one without a token falls back to <0xAB> bytes
};

struct BpeOptions {
  BpeSymbols symbols = BpeSymbols::kByteLevel;
  bool ignore_merges = false;        // a word that is itself a token is emitted whole (HF)
  bool whole_newline_words = false;  // a word of only '\n' that is a token is emitted whole
};

class BpeModel {
 public:
  // Builds the rank table from vocab.merges ("left right", rank = index) and the byte tokens.
  static Expected<BpeModel> create(const Vocab& vocab, BpeOptions options);

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
  const Merge* find_merge(int32_t left, int32_t right) const;
  int32_t whole_word_id(std::string_view word) const;
  int32_t symbol_id(std::string_view text) const;
  void emit_unknown(std::string_view text, std::vector<int32_t>& out) const;

  BpeOptions options_;
  int32_t unk_ = -1;
  std::array<int32_t, 256> byte_to_id_{};  // raw byte -> its single-byte (or ASCII char) token
  std::vector<int32_t> fallback_ids_;      // [256] <0xAB> tokens (kUtf8), -1 where missing
  TokenIndex text_to_id_;                  // encoded token text -> id
  PairTable<Merge> merges_;                // (left id, right id) -> merge
};

}  // namespace silica
