// KV cache storage and slot bookkeeping.
#include "kv/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace silica {

Expected<KvCache> KvCache::create(const KvCacheShape& s) {
  if (s.n_layer <= 0 || s.n_seq <= 0 || s.n_ctx <= 0 || s.n_head_kv <= 0 || s.head_dim <= 0)
    return make_error(
        "KV cache: invalid shape (layers {}, seqs {}, ctx {}, kv heads {}, head dim {})", s.n_layer,
        s.n_seq, s.n_ctx, s.n_head_kv, s.head_dim);
  const double elems = double(s.n_layer) * s.n_seq * s.n_ctx * s.n_head_kv * s.head_dim;
  KvCache c;
  c.shape_ = s;
  try {
    c.k_.assign(size_t(elems), 0);
    c.v_.assign(size_t(elems), 0);
  } catch (const std::bad_alloc&) {
    return make_error("KV cache of {:.1f} MiB does not fit in memory: lower the context (--ctx)",
                      2 * elems * 2 / 1048576.0);
  }
  c.n_pos_.assign(size_t(s.n_seq), 0);
  return c;
}

void KvCache::truncate(int64_t seq, int64_t pos) {
  n_pos_[seq] = std::min(n_pos_[seq], pos);
}

void KvCache::copy_prefix(int64_t src, int64_t dst, int64_t n) {
  if (src == dst) return;
  n = std::min(n, n_pos_[src]);
  for (int64_t l = 0; l < shape_.n_layer; ++l)
    for (int64_t h = 0; h < shape_.n_head_kv; ++h) {
      std::memcpy(k(l, dst, h), k(l, src, h), size_t(n * shape_.head_dim) * 2);
      std::memcpy(v(l, dst, h), v(l, src, h), size_t(n * shape_.head_dim) * 2);
    }
  n_pos_[dst] = n;
}

}  // namespace silica
