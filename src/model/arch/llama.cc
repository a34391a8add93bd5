// Llama: RMSNorm, RoPE (with Llama 3.1 rope_freqs), grouped-query attention, SwiGLU,
// tied or separate output. Covers Llama 2, Llama 3.x and Mistral GGUF files and HF folders.
#include "model/arch/llama.h"

#include <fmt/format.h>

#include <algorithm>

#include "model/arch/registry.h"

namespace silica {
namespace {

class LlamaModel final : public Model {
 public:
  LlamaModel(TensorSource src, ModelHParams hp, const LlamaVariant& v)
      : Model(std::move(src), std::move(hp)), variant_(v) {}

  Status bind() {
    TensorBinder b(src_);
    const int64_t n_embd = hp_.n_embd, n_q = hp_.n_embd_q(), n_kv = hp_.n_embd_kv();
    const SourceTensor* emb = src_.find("token_embd.weight");
    if (!emb || emb->ne.size() < 2)
      return make_error("{}: tensor 'token_embd.weight' is missing or not a matrix", src_.path());
    hp_.n_vocab = emb->ne[1];
    SILICA_RETURN_IF_ERROR(b.require("token_embd.weight", {n_embd, hp_.n_vocab}, w_.tok_embd));
    SILICA_RETURN_IF_ERROR(b.require_f32("output_norm.weight", {n_embd}, w_.output_norm));
    SILICA_RETURN_IF_ERROR(b.optional("output.weight", {n_embd, hp_.n_vocab}, w_.output));
    if (!w_.output) w_.output = w_.tok_embd;  // tied embeddings
    SILICA_RETURN_IF_ERROR(
        b.optional_f32("rope_freqs.weight", {hp_.rope_n_dims / 2}, w_.rope_freqs));
    w_.layers.resize(size_t(hp_.n_layer));
    for (int64_t i = 0; i < hp_.n_layer; ++i) {
      LayerWeights& l = w_.layers[size_t(i)];
      const std::string p = fmt::format("blk.{}.", i);
      SILICA_RETURN_IF_ERROR(b.require_f32(p + "attn_norm.weight", {n_embd}, l.attn_norm));
      SILICA_RETURN_IF_ERROR(b.require(p + "attn_q.weight", {n_embd, n_q}, l.wq));
      SILICA_RETURN_IF_ERROR(b.require(p + "attn_k.weight", {n_embd, n_kv}, l.wk));
      SILICA_RETURN_IF_ERROR(b.require(p + "attn_v.weight", {n_embd, n_kv}, l.wv));
      SILICA_RETURN_IF_ERROR(b.require(p + "attn_output.weight", {n_q, n_embd}, l.wo));
      if (variant_.qkv_bias) {
        SILICA_RETURN_IF_ERROR(b.require_f32(p + "attn_q.bias", {n_q}, l.bq));
        SILICA_RETURN_IF_ERROR(b.require_f32(p + "attn_k.bias", {n_kv}, l.bk));
        SILICA_RETURN_IF_ERROR(b.require_f32(p + "attn_v.bias", {n_kv}, l.bv));
      }
      SILICA_RETURN_IF_ERROR(b.require_f32(p + "ffn_norm.weight", {n_embd}, l.ffn_norm));
      SILICA_RETURN_IF_ERROR(b.require(p + "ffn_gate.weight", {n_embd, hp_.n_ff}, l.w_gate));
      SILICA_RETURN_IF_ERROR(b.require(p + "ffn_up.weight", {n_embd, hp_.n_ff}, l.w_up));
      SILICA_RETURN_IF_ERROR(b.require(p + "ffn_down.weight", {hp_.n_ff, n_embd}, l.w_down));
    }
    return {};
  }

  Status forward(const Batch& batch, ForwardState& st, float* logits) const override {
    SILICA_RETURN_IF_ERROR(validate_batch(batch, hp_, st));
    const int64_t n_tok = batch.size();
    float* x = st.x.data();  // [n_tok, n_embd]
    SILICA_RETURN_IF_ERROR(embed_tokens(w_.tok_embd, batch, x));
    const AttentionFlags flags{variant_.rope_type, variant_.qkv_bias};
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const LayerWeights& lw = w_.layers[size_t(il)];
      SILICA_RETURN_IF_ERROR(attention_block(lw, il, hp_, w_.rope_freqs, flags, batch, x, st));
      ffn_swiglu_block(lw, hp_, n_tok, x, st);
    }
    output_head(w_.output_norm, w_.output, hp_, batch, x, logits, st);
    for (int64_t t = 0; t < n_tok; ++t)
      st.kv().set_n_pos(batch.seq[t],
                        std::max<int64_t>(st.kv().n_pos(batch.seq[t]), batch.pos[t] + 1));
    return {};
  }

 private:
  LlamaVariant variant_;
};

}  // namespace

Expected<std::unique_ptr<Model>> create_llama(TensorSource src, ModelHParams hp) {
  // GGUF llama files hold q/k rows permuted for interleaved RoPE (hp.rope_type kNorm); a HF
  // folder holds them as trained, for NeoX-style RoPE (hp.rope_type kNeox): same math.
  const LlamaVariant v{hp.rope_type, /*qkv_bias=*/false};
  return create_llama_family(std::move(src), std::move(hp), v);
}

Expected<std::unique_ptr<Model>> create_llama_family(TensorSource src, ModelHParams hp,
                                                     const LlamaVariant& variant) {
  auto m = std::make_unique<LlamaModel>(std::move(src), std::move(hp), variant);
  SILICA_RETURN_IF_ERROR(m->bind());
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace silica
