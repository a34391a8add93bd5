// A batch of tokens for one forward step, possibly from several sequences (continuous batching).
#pragma once

#include <cstdint>
#include <vector>

namespace silica {

// Within a batch, the tokens of one sequence have consecutive positions that continue the
// sequence's KV slot (pos == kv.n_pos(seq) for its first token).
struct Batch {
  std::vector<int32_t> tokens;  // [n_tok]
  std::vector<int32_t> pos;     // [n_tok] position in its sequence
  std::vector<int32_t> seq;     // [n_tok] KV cache slot
  std::vector<uint8_t> logits;  // [n_tok] 1: logits of this token are wanted

  int64_t size() const { return int64_t(tokens.size()); }
  int64_t n_outputs() const {
    int64_t n = 0;
    for (uint8_t l : logits) n += l;
    return n;
  }
  void clear() {
    tokens.clear();
    pos.clear();
    seq.clear();
    logits.clear();
  }
  void add(int32_t token, int32_t position, int32_t seq_id, bool want_logits) {
    tokens.push_back(token);
    pos.push_back(position);
    seq.push_back(seq_id);
    logits.push_back(want_logits ? 1 : 0);
  }
};

}  // namespace silica
