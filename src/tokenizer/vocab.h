// Vocab: the plain data a tokenizer is built from (GGUF tokenizer.ggml.* or a HF tokenizer.json).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace silica {

// GGUF tokenizer.ggml.token_type values (the same numbering llama.cpp and gguf-py write).
enum TokenType : int32_t {
  kTokenUndefined = 0,
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

struct Vocab {
  std::string model;  // tokenizer.ggml.model: "gpt2" (byte-level BPE) / "llama" (SPM, later)
  std::string pre;    // tokenizer.ggml.pre: "llama-bpe", "qwen2", "gpt-2", ...
  std::vector<std::string> tokens;   // [n_vocab] token text as stored (byte-level encoded)
  std::vector<float> scores;         // [n_vocab] or empty
  std::vector<int32_t> token_types;  // [n_vocab] TokenType, or empty (all normal)
  std::vector<std::string> merges;   // [n_merges] "a b", rank = index
  int32_t bos = -1, eos = -1, eot = -1, eom = -1, pad = -1, unk = -1;
  bool add_bos = false, add_eos = false;
  std::vector<int32_t> eog_ids;  // end-of-generation set (eos, eot, eom, <|im_end|>, ...)
};

// Fills vocab.eog_ids the way llama.cpp does: eos, eot, eom, extra_ids (FIM pad / repo / sep)
// and tokens whose text names an end of turn, which are then typed control (see vocab.cc).
void fill_eog_ids(Vocab& vocab, std::span<const int32_t> extra_ids = {});

}  // namespace silica
