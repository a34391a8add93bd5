// Pre-tokenizer: splits text into words with a model family's regexes (PCRE2, Unicode mode)
// before BPE runs on each word.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace silica {

// What a tokenizer.ggml.pre name implies for a byte-level BPE vocabulary.
struct PreTokenizerSpec {
  std::vector<std::string> regexes;  // applied in turn; each splits the pieces of the last
  bool ignore_merges = false;  // a word that is itself a token is emitted whole (HF ignore_merges)
  bool default_add_bos = false;  // llama.cpp's add_bos when GGUF lacks tokenizer.ggml.add_bos_token
  bool whole_newline_words = false;  // Gemma 4: a newline run that is a token is not merged
};

// The spec for a pre name, or an error naming the unsupported pre.
Expected<PreTokenizerSpec> pre_tokenizer_spec(std::string_view pre);

class PreTokenizer {
 public:
  static Expected<PreTokenizer> create(std::string_view pre);
  // From regexes as given (a tokenizer.json Split pattern); none: the text is one word.
  static Expected<PreTokenizer> create(PreTokenizerSpec spec, std::string_view name);
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Appends the words of text (valid UTF-8) to out, as views into text, in order. Each regex
  // isolates its matches; the text between matches is kept as pieces of its own.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

  const PreTokenizerSpec& spec() const { return spec_; }

 private:
  struct Compiled;
  PreTokenizer() = default;
  PreTokenizerSpec spec_;
  std::vector<std::unique_ptr<Compiled>> compiled_;  // [regexes.size()]
};

}  // namespace silica
