// SentencePiece BPE (tokenizer.ggml.model "llama"): merges the pair whose merged text is the
// highest-scoring token, with <0xAB> byte tokens for characters outside the vocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/token_index.h"
#include "tokenizer/vocab.h"

namespace silica {

// Ids of the 256 byte tokens, written "<0xAB>" in SentencePiece vocabularies; -1 where missing.
std::vector<int32_t> find_byte_tokens(const TokenIndex& index);

class SpmModel {
 public:
  // Needs scores (one per token); the byte tokens may be missing (then the unknown token is used).
  static Expected<SpmModel> create(const Vocab& vocab);

  // Appends the tokens of text, which already has spaces escaped as U+2581.
  // O(n log n): a heap of candidate pairs over a linked list of UTF-8 characters.
  void encode(std::string_view text, std::vector<int32_t>& out) const;

 private:
  int32_t find(std::string_view text) const;
  void emit_unknown(std::string_view text, std::vector<int32_t>& out) const;

  TokenIndex index_;
  std::vector<float> scores_;      // [n_vocab]
  std::vector<int32_t> byte_ids_;  // [256]
  int32_t unk_ = -1;
};

}  // namespace silica
