// Tokenizer: text <-> token ids for a Vocab (byte-level BPE, SentencePiece, SentencePiece-style
// BPE), plus streaming detokenization that never splits a UTF-8 character.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/spm.h"
#include "tokenizer/vocab.h"

namespace silica {

class Tokenizer {
 public:
  // Builds lookup tables. Errors name an unsupported model / pre or inconsistent arrays.
  static Expected<Tokenizer> create(Vocab vocab);

  Tokenizer(Tokenizer&&) noexcept = default;
  Tokenizer& operator=(Tokenizer&&) noexcept = default;
  Tokenizer(const Tokenizer&) = delete;  // tables are large: share by reference
  Tokenizer& operator=(const Tokenizer&) = delete;

  // add_special: BOS / EOS as vocab.add_bos / add_eos say. parse_special: control tokens written
  // in the text ("<|eot_id|>") become their ids; user-defined tokens are always matched.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // Decoded bytes of one token. Control and unknown tokens decode to "" unless special is true
  // (llama.cpp's default rendering), user-defined tokens to their text.
  const std::string& token_to_piece(int32_t id, bool special = false) const;

  // Concatenated pieces, raw bytes (no space clean-up, so decode(encode(x)) == x). When the
  // vocabulary adds a space prefix, the first token loses one leading space (as in llama.cpp).
  std::string decode(std::span<const int32_t> ids, bool special = false) const;

  bool is_eog(int32_t id) const;
  bool is_control(int32_t id) const;
  int32_t bos() const { return vocab_.bos; }
  int32_t eos() const { return vocab_.eos; }
  int32_t n_vocab() const { return static_cast<int32_t>(vocab_.tokens.size()); }
  const Vocab& vocab() const { return vocab_; }

 private:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  Status init_models();
  void build_tables();
  std::string piece_of_normal(int32_t id) const;
  int32_t type_of(int32_t id) const;
  void encode_raw(std::string_view text, std::vector<int32_t>& out) const;
  void encode_words(std::string_view text, std::vector<int32_t>& out) const;

  Vocab vocab_;
  std::optional<PreTokenizer> pre_;          // BPE models
  std::optional<BpeModel> bpe_;              // BPE models
  std::optional<SpmModel> spm_;              // SentencePiece
  std::vector<std::string> pieces_;          // [n_vocab] token_to_piece(id, false)
  std::vector<std::string> special_pieces_;  // [n_vocab] token_to_piece(id, true)
  std::vector<uint8_t> eog_;                 // [n_vocab] 1 if end-of-generation
  std::vector<int32_t> specials_;  // control / user-defined / unknown ids, longest text first
};

// Streaming detokenization: holds back the bytes of a UTF-8 character until it is complete.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool special = false)
      : tokenizer_(&tokenizer), special_(special) {}
  std::string push(int32_t id);  // the complete UTF-8 text now available
  std::string flush();           // whatever is left (invalid bytes as U+FFFD)

 private:
  const Tokenizer* tokenizer_;
  bool special_;
  std::string pending_;  // bytes of an unfinished character
};

}  // namespace silica
