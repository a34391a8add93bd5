// Model hyper-parameters read from GGUF metadata, in one place (the fit planner and memory
// estimates use the same numbers).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace silica {

class GgufFile;

enum class RopeType { kNorm, kNeox };

struct ModelHParams {
  std::string arch;  // general.architecture
  std::string name;  // general.name (may be empty)
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t n_ff = 0;
  int64_t head_dim = 0;  // n_embd / n_head unless the file says otherwise
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;
  int64_t rope_n_dims = 0;
  RopeType rope_type = RopeType::kNorm;

  int64_t n_embd_q() const { return n_head * head_dim; }
  int64_t n_embd_kv() const { return n_head_kv * head_dim; }
};

// Reads the keys every decoder-only architecture shares ("<arch>.embedding_length" ...), and
// checks them for consistency. n_vocab comes from the token embedding, so the caller sets it.
Expected<ModelHParams> read_common_hparams(const GgufFile& file);

}  // namespace silica
