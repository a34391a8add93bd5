// Writes tiny random-weight decoder models (llama / qwen2) to a temporary GGUF for unit tests.
#pragma once

#include <unistd.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "tensor/reference.h"

namespace silica::testing {

struct TinyModelSpec {
  std::string arch = "llama";
  int64_t n_vocab = 96, n_embd = 64, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 96;
  DType type = DType::kF32;  // matrices; norms and biases stay f32
  bool tied = false;
  bool rope_freqs = false;
  bool vocab = true;            // a byte-level vocab of n_vocab = 96 tokens (see add_tiny_vocab)
  bool vocab_any_size = false;  // that vocab even when n_vocab is not 96 (a broken file)
  uint64_t seed = 1;
};

// A byte-level BPE vocabulary of 96 tokens: the printable ASCII characters '!'..'}', "Ġ" (space
// in GPT-2's byte mapping), "Ġt" (one merge) and one end-of-generation control token, id 95.
inline void add_tiny_vocab(GgufWriter& w) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int c = 33; c <= 125; ++c) tokens.emplace_back(1, char(c)), types.push_back(1);
  tokens.emplace_back("\xc4\xa0"), types.push_back(1);
  tokens.emplace_back("\xc4\xa0t"), types.push_back(1);
  tokens.emplace_back("<|end|>"), types.push_back(3);
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  w.set_array_strings("tokenizer.ggml.tokens", tokens);
  w.set_array_i32("tokenizer.ggml.token_type", types);
  w.set_array_strings("tokenizer.ggml.merges", {"\xc4\xa0 t"});
  w.set_u32("tokenizer.ggml.bos_token_id", 95);
  w.set_u32("tokenizer.ggml.eos_token_id", 95);
  w.set_bool("tokenizer.ggml.add_bos_token", false);
}

class TinyRng {
 public:
  explicit TinyRng(uint64_t seed) : s_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  float normal() {  // Box-Muller over a splitmix64 stream: identical on every platform
    const double u1 = (double(next() >> 11) + 0.5) / 9007199254740992.0;
    const double u2 = double(next() >> 11) / 9007199254740992.0;
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t s_;
};

inline void add_matrix(GgufWriter& w, TinyRng& rng, const std::string& name, DType type,
                       int64_t n_in, int64_t n_out, float scale) {
  std::vector<float> x(size_t(n_in * n_out));
  for (auto& v : x) v = rng.normal() * scale;
  std::vector<uint8_t> bytes(dtype_row_size(type, n_in) * size_t(n_out));
  for (int64_t r = 0; r < n_out; ++r)
    quantize_row_ref(type, x.data() + r * n_in, bytes.data() + r * dtype_row_size(type, n_in),
                     n_in);
  w.add_tensor(name, type, {n_in, n_out}, std::move(bytes));
}

inline void add_vector(GgufWriter& w, TinyRng& rng, const std::string& name, int64_t n, float mean,
                       float scale) {
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = mean + rng.normal() * scale;
  std::vector<uint8_t> bytes(size_t(n) * 4);
  std::memcpy(bytes.data(), x.data(), bytes.size());
  w.add_tensor(name, DType::kF32, {n}, std::move(bytes));
}

// Writes the model and returns its path (under the system temp folder).
inline std::string write_tiny_model(const TinyModelSpec& s, const std::string& file_name) {
  GgufWriter w;
  TinyRng rng(s.seed);
  const std::string a = s.arch + ".";
  const int64_t hd = s.n_embd / s.n_head;
  w.set_string("general.architecture", s.arch);
  w.set_u32(a + "context_length", 256);
  w.set_u32(a + "embedding_length", uint32_t(s.n_embd));
  w.set_u32(a + "block_count", uint32_t(s.n_layer));
  w.set_u32(a + "feed_forward_length", uint32_t(s.n_ff));
  w.set_u32(a + "attention.head_count", uint32_t(s.n_head));
  w.set_u32(a + "attention.head_count_kv", uint32_t(s.n_head_kv));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_f32(a + "rope.freq_base", 10000.0f);
  if (s.vocab && (s.n_vocab == 96 || s.vocab_any_size)) add_tiny_vocab(w);
  add_matrix(w, rng, "token_embd.weight", s.type, s.n_embd, s.n_vocab, 1.0f);
  add_vector(w, rng, "output_norm.weight", s.n_embd, 1.0f, 0.1f);
  if (!s.tied)
    add_matrix(w, rng, "output.weight", s.type, s.n_embd, s.n_vocab,
               1.0f / std::sqrt(float(s.n_embd)));
  if (s.rope_freqs) add_vector(w, rng, "rope_freqs.weight", hd / 2, 2.0f, 0.5f);
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const float in_scale = 1.0f / std::sqrt(float(s.n_embd));
    add_vector(w, rng, p + "attn_norm.weight", s.n_embd, 1.0f, 0.1f);
    add_matrix(w, rng, p + "attn_q.weight", s.type, s.n_embd, s.n_head * hd, in_scale);
    add_matrix(w, rng, p + "attn_k.weight", s.type, s.n_embd, s.n_head_kv * hd, in_scale);
    add_matrix(w, rng, p + "attn_v.weight", s.type, s.n_embd, s.n_head_kv * hd, in_scale);
    add_matrix(w, rng, p + "attn_output.weight", s.type, s.n_head * hd, s.n_embd, in_scale);
    if (s.arch == "qwen2") {
      add_vector(w, rng, p + "attn_q.bias", s.n_head * hd, 0.0f, 0.5f);
      add_vector(w, rng, p + "attn_k.bias", s.n_head_kv * hd, 0.0f, 0.5f);
      add_vector(w, rng, p + "attn_v.bias", s.n_head_kv * hd, 0.0f, 0.5f);
    }
    add_vector(w, rng, p + "ffn_norm.weight", s.n_embd, 1.0f, 0.1f);
    add_matrix(w, rng, p + "ffn_gate.weight", s.type, s.n_embd, s.n_ff, in_scale);
    add_matrix(w, rng, p + "ffn_up.weight", s.type, s.n_embd, s.n_ff, in_scale);
    add_matrix(w, rng, p + "ffn_down.weight", s.type, s.n_ff, s.n_embd,
               1.0f / std::sqrt(float(s.n_ff)));
  }
  // ctest runs test cases as parallel processes: a per-process name keeps them apart.
  const std::string path =
      (std::filesystem::temp_directory_path() / (std::to_string(getpid()) + "_" + file_name))
          .string();
  Status st = w.write(path);
  if (!st.ok()) return "";
  return path;
}

}  // namespace silica::testing
