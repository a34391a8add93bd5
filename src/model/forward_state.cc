// Allocation of the forward pass's scratch and KV cache, once per context.
#include "model/forward_state.h"

#include <algorithm>
#include <new>

namespace silica {

Expected<std::unique_ptr<ForwardState>> ForwardState::create(const ModelHParams& hp,
                                                             const ForwardOptions& o) {
  auto st = std::make_unique<ForwardState>();
  st->opts_ = o;
  if (st->opts_.n_threads <= 0) st->opts_.n_threads = ThreadPool::default_threads();
  if (st->opts_.n_ctx <= 0 || st->opts_.n_batch <= 0 || st->opts_.n_seq <= 0)
    return make_error("invalid context options: ctx {}, batch {}, sequences {}", o.n_ctx, o.n_batch,
                      o.n_seq);
  const int64_t nb = st->opts_.n_batch;
  SILICA_ASSIGN_OR_RETURN(st->kv_, KvCache::create({hp.n_layer, st->opts_.n_seq, st->opts_.n_ctx,
                                                    hp.n_head_kv, hp.head_dim}));
  try {
    st->x.resize(size_t(nb * hp.n_embd));
    st->h.resize(size_t(nb * std::max(hp.n_embd, hp.n_embd_q())));
    st->q.resize(size_t(nb * hp.n_embd_q()));
    st->k.resize(size_t(nb * hp.n_embd_kv()));
    st->v.resize(size_t(nb * hp.n_embd_kv()));
    st->attn.resize(size_t(nb * hp.n_embd_q()));
    st->proj.resize(size_t(nb * hp.n_embd));
    st->gate.resize(size_t(nb * hp.n_ff));
    st->up.resize(size_t(nb * hp.n_ff));
    st->out_rows.resize(size_t(nb * hp.n_embd));
    st->next_pos.resize(size_t(st->opts_.n_seq));
    const int nt = st->opts_.n_threads;
    const size_t group = size_t(hp.n_head / hp.n_head_kv);
    const size_t chunk = size_t(std::min<int64_t>(st->opts_.n_ctx, kAttnChunk));
    const size_t n_chunks = size_t(attention_chunks(st->opts_.n_ctx));
    const size_t hd = size_t(hp.head_dim);
    st->att_scores.assign(nt, std::vector<float>(group * chunk));
    st->att_probs.assign(nt, std::vector<uint16_t>(group * chunk));
    st->att_q16.assign(nt, std::vector<uint16_t>(group * hd));
    if (n_chunks > 1) {
      const size_t shared = size_t(st->att_shared_items());
      st->att_parts.assign(nt, std::vector<float>(n_chunks * group * hd));
      st->att_stats.assign(nt, std::vector<SoftmaxStats>(n_chunks * group));
      st->att_shared_parts.resize(shared * n_chunks * group * hd);
      st->att_shared_stats.resize(shared * n_chunks * group);
    }
  } catch (const std::bad_alloc&) {
    return make_error("not enough memory for a batch of {} tokens: lower --batch", nb);
  }
  st->pool_ = std::make_unique<ThreadPool>(st->opts_.n_threads);
  return st;
}

}  // namespace silica
