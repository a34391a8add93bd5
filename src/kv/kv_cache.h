// KV cache: per layer, per sequence slot, keys and values stored as fp16 (as llama.cpp does by
// default, which keeps our attention numerics equal to its).
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"

namespace silica {

struct KvCacheShape {
  int64_t n_layer = 0;
  int64_t n_seq = 1;  // sequence slots
  int64_t n_ctx = 0;  // positions per slot
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
};

class KvCache {
 public:
  KvCache() = default;
  static Expected<KvCache> create(const KvCacheShape& shape);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;
  KvCache(KvCache&&) = default;
  KvCache& operator=(KvCache&&) = default;

  const KvCacheShape& shape() const { return shape_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(uint16_t); }

  // Rows of one head of one sequence slot in one layer: [n_ctx, head_dim] fp16.
  uint16_t* k(int64_t layer, int64_t seq, int64_t head) {
    return k_.data() + offset(layer, seq, head);
  }
  uint16_t* v(int64_t layer, int64_t seq, int64_t head) {
    return v_.data() + offset(layer, seq, head);
  }
  const uint16_t* k(int64_t layer, int64_t seq, int64_t head) const {
    return k_.data() + offset(layer, seq, head);
  }
  const uint16_t* v(int64_t layer, int64_t seq, int64_t head) const {
    return v_.data() + offset(layer, seq, head);
  }

  // Number of positions filled in a slot: positions [0, n_pos) are valid.
  int64_t n_pos(int64_t seq) const { return n_pos_[seq]; }
  void set_n_pos(int64_t seq, int64_t n) { n_pos_[seq] = n; }
  // Forgets positions >= pos of a slot (pos 0 clears it).
  void truncate(int64_t seq, int64_t pos);
  // Copies positions [0, n) of slot src into slot dst (shared prompt prefix reuse).
  void copy_prefix(int64_t src, int64_t dst, int64_t n);

 private:
  size_t offset(int64_t layer, int64_t seq, int64_t head) const {
    return size_t(((layer * shape_.n_seq + seq) * shape_.n_head_kv + head) * shape_.n_ctx *
                  shape_.head_dim);
  }
  KvCacheShape shape_;
  std::vector<uint16_t> k_;     // [n_layer, n_seq, n_head_kv, n_ctx, head_dim]
  std::vector<uint16_t> v_;     // [n_layer, n_seq, n_head_kv, n_ctx, head_dim]
  std::vector<int64_t> n_pos_;  // [n_seq]
};

}  // namespace silica
