// Shared building blocks of decoder-only transformers. Architecture files compose these;
// differences between families are flags, not copies.
#pragma once

#include <initializer_list>

#include "model/batch.h"
#include "model/forward_state.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace silica {

// x[t] = row tokens[t] of the embedding table.  (x: [n_tok, n_embd])
Status embed_tokens(const TensorRef& tok_embd, const Batch& batch, float* x);

// y = x @ W^T (+ b).  (x: [n_tok, n_in], y: [n_tok, n_out]; W: [n_in, n_out] GGUF order)
void linear(const TensorRef& w, const TensorRef* bias, const float* x, int64_t n_tok, float* y,
            ForwardState& st);

// One linear layer of a linear_shared call: y = x w^T (+ bias), y rows w.ne[1] apart.
struct LinearOut {
  const TensorRef* w;
  const TensorRef* bias;  // or null
  float* y;
};
// Linear layers over the same input x (Q, K and V; gate and up): the packed ones whose kernels
// read the same activations run in one matmul_packed_shared dispatch, the rest one by one.
// Each result is the bits linear() gives. With a prologue the input is what it makes of x's rows
// (an RMSNorm, a SwiGLU): fused into the dispatch when every layer is in it, else made into
// `made` first ([n_tok] rows as long as x's; may be x itself for a SwiGLU).
void linear_shared(std::initializer_list<LinearOut> outs, const float* x, int64_t n_tok,
                   ForwardState& st, const RowPrologue& prologue = {}, float* made = nullptr);

struct AttentionFlags {
  RopeType rope_type = RopeType::kNorm;
  bool qkv_bias = false;
};

// Self-attention with RoPE and grouped-query heads over the KV cache; adds its output to x.
// (x: [n_tok, n_embd])
Status attention_block(const LayerWeights& lw, int64_t il, const ModelHParams& hp,
                       const TensorRef& rope_freqs, const AttentionFlags& flags, const Batch& batch,
                       float* x, ForwardState& st);

// SwiGLU feed-forward: x += down(silu(gate(n(x))) * up(n(x))).  (x: [n_tok, n_embd])
void ffn_swiglu_block(const LayerWeights& lw, const ModelHParams& hp, int64_t n_tok, float* x,
                      ForwardState& st);

// Final norm and output projection for the tokens that want logits.
// (logits: [n_outputs, n_vocab])
void output_head(const TensorRef& norm, const TensorRef& output, const ModelHParams& hp,
                 const Batch& batch, const float* x, float* logits, ForwardState& st);

// Checks a batch against the cache before anything is written.
Status validate_batch(const Batch& batch, const ModelHParams& hp, ForwardState& st);

}  // namespace silica
