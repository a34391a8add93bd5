// GGUF tokenizer.ggml.* metadata -> Vocab, with llama.cpp's defaults for missing keys.
#pragma once

#include "base/status.h"
#include "format/gguf.h"
#include "tokenizer/vocab.h"

namespace silica {

// Reads the vocabulary of a GGUF file (a full model or a vocab-only file). Errors name the file
// and key. Missing special ids / add_bos follow llama.cpp's defaults for the tokenizer model.
Expected<Vocab> vocab_from_gguf(const GgufFile& f);

}  // namespace silica
