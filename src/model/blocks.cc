// Shared transformer blocks: embedding lookup, linear layers, attention over the KV cache,
// SwiGLU feed-forward, output head.
#include "model/blocks.h"

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "kernels/packed.h"

namespace silica {

namespace {

// softmax(q K^T / sqrt(hd)) V for every token and query head of the batch over its sequence's
// cache, into st.attn. A (token, KV head) pair's group of query heads (h / group == KV head)
// reads the KV rows once. Up to kAttnChunk keys it is one work item; longer contexts are split
// in chunks (kernels/attention.h): when the batch has fewer (token, KV head) pairs than twice
// the threads (decode), each chunk is a work item of its own, so that every core helps; else one
// thread runs a pair's chunks in turn. Both give the same bits.
void attention(const Batch& batch, int il, const ModelHParams& hp, ForwardState& st) {
  const int64_t n_tok = batch.size(), hd = hp.head_dim, n_q = hp.n_embd_q();
  const int64_t group = hp.n_head / hp.n_head_kv, pairs = n_tok * hp.n_head_kv;
  const float scale = 1.0f / std::sqrt(float(hd));
  KvCache& kv = st.kv();
  int64_t max_chunks = 1;
  for (int64_t t = 0; t < n_tok; ++t)
    max_chunks = std::max(max_chunks, attention_chunks(batch.pos[t] + 1));
  const int64_t part_floats = group * hd;  // one chunk's partial output for a pair
  // Chunk c of pair i (its keys [c * kAttnChunk, ...)): partial output and stats to parts/stats.
  auto run_chunk = [&](int64_t i, int64_t c, float* parts, SoftmaxStats* stats, int ith) {
    const int64_t t = i / hp.n_head_kv, hk = i % hp.n_head_kv;
    const int64_t c0 = c * kAttnChunk, n_kv = std::min(batch.pos[t] + 1 - c0, kAttnChunk);
    const AttentionScratch scratch{st.att_scores[ith].data(), st.att_probs[ith].data(),
                                   st.att_q16[ith].data()};
    const int32_t s = batch.seq[t];
    attend_group_f16_chunk(st.q.data() + t * n_q + hk * group * hd, hd, int(group),
                           kv.k(il, s, hk) + c0 * hd, kv.v(il, s, hk) + c0 * hd, n_kv, hd, scale,
                           parts, hd, stats, scratch);
  };
  auto merge = [&](int64_t i, const float* parts, const SoftmaxStats* stats) {
    const int64_t t = i / hp.n_head_kv, hk = i % hp.n_head_kv;
    merge_attention_chunks(parts, stats, attention_chunks(batch.pos[t] + 1), int(group), hd,
                           st.attn.data() + t * n_q + hk * group * hd, hd);
  };
  if (max_chunks == 1) {
    st.pool().parallel_for(pairs, 1, [&](int64_t b, int64_t e, int ith) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t t = i / hp.n_head_kv, hk = i % hp.n_head_kv;
        run_chunk(i, 0, st.attn.data() + t * n_q + hk * group * hd, nullptr, ith);
      }
    });
  } else if (pairs >= st.att_shared_items()) {
    st.pool().parallel_for(pairs, 1, [&](int64_t b, int64_t e, int ith) {
      float* parts = st.att_parts[ith].data();
      SoftmaxStats* stats = st.att_stats[ith].data();
      for (int64_t i = b; i < e; ++i) {
        const int64_t t = i / hp.n_head_kv;
        for (int64_t c = 0; c < attention_chunks(batch.pos[t] + 1); ++c)
          run_chunk(i, c, parts + c * part_floats, stats + c * group, ith);
        merge(i, parts, stats);
      }
    });
  } else {
    const int64_t n_chunks = attention_chunks(st.options().n_ctx);  // the buffers' stride
    float* parts = st.att_shared_parts.data();
    SoftmaxStats* stats = st.att_shared_stats.data();
    st.pool().parallel_for(pairs * max_chunks, 1, [&](int64_t b, int64_t e, int ith) {
      for (int64_t j = b; j < e; ++j) {
        const int64_t i = j / max_chunks, c = j % max_chunks;
        if (c >= attention_chunks(batch.pos[i / hp.n_head_kv] + 1)) continue;
        run_chunk(i, c, parts + (i * n_chunks + c) * part_floats,
                  stats + (i * n_chunks + c) * group, ith);
      }
    });
    st.pool().parallel_for(pairs, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i)
        merge(i, parts + i * n_chunks * part_floats, stats + i * n_chunks * group);
    });
  }
}

}  // namespace

Status validate_batch(const Batch& b, const ModelHParams& hp, ForwardState& st) {
  const int64_t n = b.size();
  if (n == 0) return make_error("empty batch");
  if (int64_t(b.pos.size()) != n || int64_t(b.seq.size()) != n || int64_t(b.logits.size()) != n)
    return make_error("batch arrays have different lengths");
  if (n > st.options().n_batch)
    return make_error("batch of {} tokens exceeds the batch size {}", n, st.options().n_batch);
  KvCache& kv = st.kv();
  std::vector<int64_t>& next = st.next_pos;  // sized once: a decode step allocates nothing
  std::fill(next.begin(), next.end(), -1);
  for (int64_t t = 0; t < n; ++t) {
    if (b.tokens[t] < 0 || b.tokens[t] >= hp.n_vocab)
      return make_error("token id {} is outside the vocabulary (0..{})", b.tokens[t],
                        hp.n_vocab - 1);
    const int32_t s = b.seq[t];
    if (s < 0 || s >= kv.shape().n_seq)
      return make_error("sequence slot {} out of range (0..{})", s, kv.shape().n_seq - 1);
    if (b.pos[t] >= kv.shape().n_ctx)
      return make_error("position {} exceeds the context size {}: raise --ctx", b.pos[t],
                        kv.shape().n_ctx);
    const int64_t expect = next[s] < 0 ? kv.n_pos(s) : next[s];
    if (b.pos[t] != expect)
      return make_error("sequence {}: position {} given where {} was expected", s, b.pos[t],
                        expect);
    next[s] = expect + 1;
  }
  return {};
}

Status embed_tokens(const TensorRef& tok_embd, const Batch& batch, float* x) {
  const int64_t n_embd = tok_embd.ne[0];
  if (tok_embd.packed) {
    for (int64_t t = 0; t < batch.size(); ++t)
      tok_embd.packed->row_to_float(batch.tokens[t], x + t * n_embd);
    return {};
  }
  const TypeKernels& k = type_kernels(tok_embd.type);
  for (int64_t t = 0; t < batch.size(); ++t)
    k.to_float(tok_embd.row(batch.tokens[t]), x + t * n_embd, n_embd);
  return {};
}

namespace {

// fn(t0, t1) over the batch's tokens on the pool, in runs of about 32k floats of a token's
// `width`: the per-token work between the matmuls (residual adds, SwiGLU, RoPE, the K / V
// stores), left on one thread, was 3-4% of a two-thread prefill and grows with the threads
// (Amdahl). A decode step's one token runs inline, without waking the pool.
template <class Fn>
void for_token_runs(ForwardState& st, int64_t n_tok, int64_t width, Fn&& fn) {
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(width, 1));
  st.pool().parallel_for(n_tok, grain, [&](int64_t t0, int64_t t1, int) { fn(t0, t1); });
}

// y[t] += bias for every token, when there is a bias.
void add_bias(const TensorRef* bias, int64_t n_tok, int64_t n_out, float* y, ForwardState& st) {
  if (!bias || !*bias) return;
  const float* b = static_cast<const float*>(bias->data);
  for_token_runs(st, n_tok, n_out, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) add(y + t * n_out, b, y + t * n_out, n_out);
  });
}

// x[t] += y[t], rows of n.
void add_rows(float* x, const float* y, int64_t n_tok, int64_t n, ForwardState& st) {
  for_token_runs(st, n_tok, n, [&](int64_t t0, int64_t t1) {
    add(x + t0 * n, y + t0 * n, x + t0 * n, (t1 - t0) * n);
  });
}

// RMSNorm with a layer's norm weight (float32, checked at load), as a matmul's prologue.
RowPrologue norm_prologue(const TensorRef& norm, const ModelHParams& hp) {
  return RowPrologue::rms_norm(static_cast<const float*>(norm.data), hp.rms_eps);
}

}  // namespace

void linear(const TensorRef& w, const TensorRef* bias, const float* x, int64_t n_tok, float* y,
            ForwardState& st) {
  const int64_t n_in = w.ne[0], n_out = w.ne[1];
  if (w.packed)
    matmul_packed(*w.packed, x, n_tok, y, n_out, st.pool(), st.mm);
  else
    matmul(w.data, w.type, n_out, n_in, x, n_tok, y, n_out, st.pool(), st.mm);
  add_bias(bias, n_tok, n_out, y, st);
}

void linear_shared(std::initializer_list<LinearOut> outs, const float* x, int64_t n_tok,
                   ForwardState& st, const RowPrologue& prologue, float* made) {
  PackedProduct shared[kMaxSharedProducts];
  const LinearOut* shared_outs[kMaxSharedProducts];
  int n_shared = 0;
  for (const LinearOut& o : outs) {
    const PackedMatrix* p = o.w->packed;
    if (p && n_shared < kMaxSharedProducts &&
        (n_shared == 0 || shares_activations(*shared[0].w, *p))) {
      shared_outs[n_shared] = &o;
      shared[n_shared++] = {p, o.y, o.w->ne[1]};
    }
  }
  const auto in_shared = [&](const LinearOut& o) {
    return std::find(shared_outs, shared_outs + n_shared, &o) != shared_outs + n_shared;
  };
  RowPrologue fused = prologue;
  if (prologue.kind != RowPrologue::Kind::kNone && n_shared < int(outs.size())) {
    const int64_t n = outs.begin()->w->ne[0];
    for_token_runs(st, n_tok, n, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) make_row(prologue, x, t, n, made + t * n);
    });
    x = made;
    fused = {};
  }
  for (const LinearOut& o : outs)
    if (!in_shared(o)) linear(*o.w, o.bias, x, n_tok, o.y, st);
  if (n_shared > 0) matmul_packed_shared(shared, n_shared, x, n_tok, st.pool(), st.mm, fused);
  for (int i = 0; i < n_shared; ++i)
    add_bias(shared_outs[i]->bias, n_tok, shared_outs[i]->w->ne[1], shared_outs[i]->y, st);
}

namespace {

// Converts the new keys and values of tokens [t0, t1) to fp16 and stores them at their
// positions.
void store_kv(const Batch& batch, int64_t t0, int64_t t1, int64_t il, const ModelHParams& hp,
              const float* k, const float* v, KvCache& kv) {
  const TypeKernels& f16 = type_kernels(DType::kF16);
  const int64_t hd = hp.head_dim, n_kv = hp.n_embd_kv();
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t h = 0; h < hp.n_head_kv; ++h) {
      const int64_t off = batch.pos[t] * hd;
      f16.from_float(k + t * n_kv + h * hd, kv.k(il, batch.seq[t], h) + off, hd);
      f16.from_float(v + t * n_kv + h * hd, kv.v(il, batch.seq[t], h) + off, hd);
    }
}

}  // namespace

Status attention_block(const LayerWeights& lw, int64_t il, const ModelHParams& hp,
                       const TensorRef& rope_freqs, const AttentionFlags& flags, const Batch& batch,
                       float* x, ForwardState& st) {
  const int64_t n_tok = batch.size(), n_embd = hp.n_embd, hd = hp.head_dim;
  const int64_t n_q = hp.n_embd_q(), n_kv = hp.n_embd_kv();
  linear_shared({{&lw.wq, flags.qkv_bias ? &lw.bq : nullptr, st.q.data()},
                 {&lw.wk, flags.qkv_bias ? &lw.bk : nullptr, st.k.data()},
                 {&lw.wv, flags.qkv_bias ? &lw.bv : nullptr, st.v.data()}},
                x, n_tok, st, norm_prologue(lw.attn_norm, hp), st.h.data());

  RopeConfig rc;
  rc.n_dims = int(hp.rope_n_dims);
  rc.freq_base = hp.rope_freq_base;
  rc.freq_scale = hp.rope_freq_scale;
  rc.neox = flags.rope_type == RopeType::kNeox;
  rc.freq_factors = rope_freqs ? static_cast<const float*>(rope_freqs.data) : nullptr;
  for_token_runs(st, n_tok, n_q + 2 * n_kv, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      rope(st.q.data() + t * n_q, int(hp.n_head), int(hd), batch.pos[t], rc);
      rope(st.k.data() + t * n_kv, int(hp.n_head_kv), int(hd), batch.pos[t], rc);
    }
    store_kv(batch, t0, t1, il, hp, st.k.data(), st.v.data(), st.kv());
  });

  attention(batch, il, hp, st);
  linear(lw.wo, nullptr, st.attn.data(), n_tok, st.proj.data(), st);
  add_rows(x, st.proj.data(), n_tok, n_embd, st);
  return {};
}

void ffn_swiglu_block(const LayerWeights& lw, const ModelHParams& hp, int64_t n_tok, float* x,
                      ForwardState& st) {
  const int64_t n_embd = hp.n_embd;
  linear_shared({{&lw.w_gate, nullptr, st.gate.data()}, {&lw.w_up, nullptr, st.up.data()}}, x,
                n_tok, st, norm_prologue(lw.ffn_norm, hp), st.h.data());
  // The SwiGLU made as down's input rows (in gate's place when down cannot take it fused).
  linear_shared({{&lw.w_down, nullptr, st.proj.data()}}, st.gate.data(), n_tok, st,
                RowPrologue::swiglu(st.up.data()), st.gate.data());
  add_rows(x, st.proj.data(), n_tok, n_embd, st);
}

void output_head(const TensorRef& norm, const TensorRef& output, const ModelHParams& hp,
                 const Batch& batch, const float* x, float* logits, ForwardState& st) {
  const int64_t n_embd = hp.n_embd;
  int64_t n_out = 0;
  const float* wf = static_cast<const float*>(norm.data);
  for (int64_t t = 0; t < batch.size(); ++t)
    if (batch.logits[t]) {
      rms_norm(x + t * n_embd, wf, st.out_rows.data() + n_out * n_embd, n_embd, hp.rms_eps);
      ++n_out;
    }
  if (n_out > 0 && !st.hidden_only) linear(output, nullptr, st.out_rows.data(), n_out, logits, st);
}

}  // namespace silica
