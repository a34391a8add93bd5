// Vocab: the plain data a tokenizer is built from (GGUF tokenizer.ggml.* or a HF tokenizer.json).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

// The merge algorithms Vocab::model names.
inline constexpr std::string_view kModelByteLevelBpe = "gpt2";  // GPT-2 byte-level BPE
inline constexpr std::string_view kModelSpm = "llama";          // SentencePiece BPE by score
inline constexpr std::string_view kModelGemma4 = "gemma4";      // BPE over UTF-8, <0xAB> fallback
// The same as gemma4 without its pre name: SentencePiece-style BPE from a tokenizer.json.
inline constexpr std::string_view kModelUtf8Bpe = "bpe-utf8";

struct Vocab {
  std::string model;  // tokenizer.ggml.model: one of the kModel* names above
  std::string pre;    // tokenizer.ggml.pre: "llama-bpe", "qwen2", "gpt-2", ...
  // Split regexes given verbatim (a tokenizer.json pre_tokenizer); when set, pre names none.
  std::optional<std::vector<std::string>> pre_regexes;
  bool ignore_merges = false;      // tokenizer.json model.ignore_merges (or implied by pre)
  bool escape_whitespace = false;  // spaces become U+2581 before merging (SPM and its kin)
  bool add_space_prefix =
      false;                   // a space before each run of text (tokenizer.ggml.add_space_prefix)
  bool normalize_nfc = false;  // Unicode NFC before pre-tokenizing (tokenizer.json normalizer)
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
