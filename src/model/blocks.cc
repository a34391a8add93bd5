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

Status validate_batch(const Batch& b, const ModelHParams& hp, ForwardState& st) {
  const int64_t n = b.size();
  if (n == 0) return make_error("empty batch");
  if (int64_t(b.pos.size()) != n || int64_t(b.seq.size()) != n || int64_t(b.logits.size()) != n)
    return make_error("batch arrays have different lengths");
  if (n > st.options().n_batch)
    return make_error("batch of {} tokens exceeds the batch size {}", n, st.options().n_batch);
  KvCache& kv = st.kv();
  std::vector<int64_t> next(size_t(kv.shape().n_seq), -1);
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

void linear(const TensorRef& w, const TensorRef* bias, const float* x, int64_t n_tok, float* y,
            ForwardState& st) {
  const int64_t n_in = w.ne[0], n_out = w.ne[1];
  if (w.packed)
    matmul_packed(*w.packed, x, n_tok, y, n_out, st.pool(), st.mm);
  else
    matmul(w.data, w.type, n_out, n_in, x, n_tok, y, n_out, st.pool(), st.mm);
  if (bias && *bias) {
    const float* b = static_cast<const float*>(bias->data);
    for (int64_t t = 0; t < n_tok; ++t) add(y + t * n_out, b, y + t * n_out, n_out);
  }
}

void rms_norm_rows(const float* x, const TensorRef& w, float* y, int64_t n_tok, int64_t n,
                   float eps, ForwardState& st) {
  const float* wf = static_cast<const float*>(w.data);
  st.pool().parallel_for(n_tok, 8, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t) rms_norm(x + t * n, wf, y + t * n, n, eps);
  });
}

namespace {

// Converts the batch's new keys and values to fp16 and stores them at their positions.
void store_kv(const Batch& batch, int64_t il, const ModelHParams& hp, const float* k,
              const float* v, ForwardState& st) {
  const TypeKernels& f16 = type_kernels(DType::kF16);
  const int64_t hd = hp.head_dim, n_kv = hp.n_embd_kv();
  KvCache& kv = st.kv();
  for (int64_t t = 0; t < batch.size(); ++t)
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
  float* h = st.h.data();
  rms_norm_rows(x, lw.attn_norm, h, n_tok, n_embd, hp.rms_eps, st);
  linear(lw.wq, flags.qkv_bias ? &lw.bq : nullptr, h, n_tok, st.q.data(), st);
  linear(lw.wk, flags.qkv_bias ? &lw.bk : nullptr, h, n_tok, st.k.data(), st);
  linear(lw.wv, flags.qkv_bias ? &lw.bv : nullptr, h, n_tok, st.v.data(), st);

  RopeConfig rc;
  rc.n_dims = int(hp.rope_n_dims);
  rc.freq_base = hp.rope_freq_base;
  rc.freq_scale = hp.rope_freq_scale;
  rc.neox = flags.rope_type == RopeType::kNeox;
  rc.freq_factors = rope_freqs ? static_cast<const float*>(rope_freqs.data) : nullptr;
  for (int64_t t = 0; t < n_tok; ++t) {
    rope(st.q.data() + t * n_q, int(hp.n_head), int(hd), batch.pos[t], rc);
    rope(st.k.data() + t * n_kv, int(hp.n_head_kv), int(hd), batch.pos[t], rc);
  }
  store_kv(batch, il, hp, st.k.data(), st.v.data(), st);

  // One work item per (token, KV head): its group of query heads h (h / group == KV head) reads
  // the KV rows once.
  const int64_t group = hp.n_head / hp.n_head_kv;
  const float scale = 1.0f / std::sqrt(float(hd));
  KvCache& kv = st.kv();
  st.pool().parallel_for(n_tok * hp.n_head_kv, 1, [&](int64_t b, int64_t e, int ith) {
    AttentionScratch scratch{st.att_scores[ith].data(), st.att_probs[ith].data(),
                             st.att_q16[ith].data()};
    for (int64_t i = b; i < e; ++i) {
      const int64_t t = i / hp.n_head_kv, hk = i % hp.n_head_kv;
      const int32_t s = batch.seq[t];
      const int64_t off = t * n_q + hk * group * hd;
      attend_group_f16(st.q.data() + off, hd, int(group), kv.k(il, s, hk), kv.v(il, s, hk),
                       batch.pos[t] + 1, hd, scale, st.attn.data() + off, hd, scratch);
    }
  });
  linear(lw.wo, nullptr, st.attn.data(), n_tok, st.proj.data(), st);
  for (int64_t t = 0; t < n_tok; ++t)
    add(x + t * n_embd, st.proj.data() + t * n_embd, x + t * n_embd, n_embd);
  return {};
}

void ffn_swiglu_block(const LayerWeights& lw, const ModelHParams& hp, int64_t n_tok, float* x,
                      ForwardState& st) {
  const int64_t n_embd = hp.n_embd, n_ff = hp.n_ff;
  float* h = st.h.data();
  rms_norm_rows(x, lw.ffn_norm, h, n_tok, n_embd, hp.rms_eps, st);
  linear(lw.w_gate, nullptr, h, n_tok, st.gate.data(), st);
  linear(lw.w_up, nullptr, h, n_tok, st.up.data(), st);
  swiglu(st.gate.data(), st.up.data(), st.gate.data(), n_tok * n_ff);
  linear(lw.w_down, nullptr, st.gate.data(), n_tok, st.proj.data(), st);
  for (int64_t t = 0; t < n_tok; ++t)
    add(x + t * n_embd, st.proj.data() + t * n_embd, x + t * n_embd, n_embd);
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
