// Hugging Face tokenizer.json (+ tokenizer_config.json) -> Vocab, for BPE tokenizers: byte-level
// (Llama 3, Qwen 2/3) and SentencePiece-style with byte fallback (Gemma 3).
#pragma once

#include <string_view>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace silica {

// tokenizer_json: the text of tokenizer.json; tokenizer_config: the text of
// tokenizer_config.json, or "" (bos/eos names, add_bos_token). Errors name the unsupported
// normalizer / pre-tokenizer / model part and what was found. Added tokens become control
// tokens when "special", user-defined otherwise (both are matched in text like HF does when
// encode is called with special-token parsing on).
Expected<Vocab> vocab_from_hf_json(std::string_view tokenizer_json,
                                   std::string_view tokenizer_config = {});

}  // namespace silica
