// Text embeddings from a decoder model: the mean of the final-normed hidden states over the
// tokens, L2-normalized (what Ollama's /api/embed returns for generative models).
#pragma once

#include <vector>

#include "engine/session.h"

namespace silica {

// tokens: [n_tok]; returns [n_embd]. Uses its own scratch state (does not touch any KV slot
// of a running scheduler).
Expected<std::vector<float>> embed_tokens_mean(const LoadedModel& lm,
                                               const std::vector<int32_t>& tokens, int n_threads);

}  // namespace silica
