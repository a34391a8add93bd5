// A model's vocabulary: GGUF tokenizer.ggml.* metadata (with llama.cpp's defaults for missing
// keys) or a Hugging Face folder's tokenizer.json.
#pragma once

#include "base/status.h"
#include "format/gguf.h"
#include "tokenizer/vocab.h"

namespace silica {

// Reads the vocabulary of a GGUF file (a full model or a vocab-only file). Errors name the file
// and key. Missing special ids / add_bos follow llama.cpp's defaults for the tokenizer model.
Expected<Vocab> vocab_from_gguf(const GgufFile& f);

class Model;
// The vocabulary of a loaded model, from its GGUF file or its folder's tokenizer files.
Expected<Vocab> load_vocab(const Model& m);

}  // namespace silica
