// Everything a forward pass writes besides the logits: the KV cache and scratch buffers sized
// once for the largest batch, so that decoding allocates nothing per token.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kv/kv_cache.h"
#include "model/hparams.h"

namespace silica {

struct ForwardOptions {
  int64_t n_ctx = 4096;   // positions per sequence
  int64_t n_seq = 1;      // sequence slots
  int64_t n_batch = 512;  // most tokens in one forward step
  int n_threads = 0;      // 0: ThreadPool::default_threads()
};

class ForwardState {
 public:
  static Expected<std::unique_ptr<ForwardState>> create(const ModelHParams& hp,
                                                        const ForwardOptions& opts);
  ThreadPool& pool() { return *pool_; }
  KvCache& kv() { return kv_; }
  const ForwardOptions& options() const { return opts_; }

  // Scratch, all row-major with the token index outermost.
  std::vector<float> x;           // [n_batch, n_embd] residual stream
  std::vector<float> h;           // [n_batch, max(n_embd, n_embd_q)] normed input / attention out
  std::vector<float> q;           // [n_batch, n_embd_q]
  std::vector<float> k;           // [n_batch, n_embd_kv]
  std::vector<float> v;           // [n_batch, n_embd_kv]
  std::vector<float> attn;        // [n_batch, n_embd_q]
  std::vector<float> proj;        // [n_batch, n_embd]
  std::vector<float> gate;        // [n_batch, n_ff]
  std::vector<float> up;          // [n_batch, n_ff]
  std::vector<float> out_rows;    // [n_batch, n_embd] final-normed rows that want logits
  std::vector<int64_t> next_pos;  // [n_seq] validate_batch: each sequence's next position
  // Embedding mode: forward() stops after the final norm; out_rows hold the hidden states of
  // the tokens that asked for output, and no logits are written.
  bool hidden_only = false;
  MatmulScratch mm;
  // Per-thread attention scratch for one KV group (n_group = n_head / n_head_kv query heads)
  // and one chunk of keys (kernels/attention.h: at most kAttnChunk of them).
  std::vector<std::vector<float>> att_scores;    // [n_threads][n_group * chunk]
  std::vector<std::vector<uint16_t>> att_probs;  // [n_threads][n_group * chunk]
  std::vector<std::vector<uint16_t>> att_q16;    // [n_threads][n_group * head_dim]
  // Chunked attention's partial results (n_chunks = attention_chunks(n_ctx)): per thread for a
  // (token, KV head) whose chunks one thread runs in turn, and shared for the
  // kAttnSharedItems (token, KV head) pairs whose chunks run on different threads.
  std::vector<std::vector<float>> att_parts;         // [n_threads][n_chunks * n_group * head_dim]
  std::vector<std::vector<SoftmaxStats>> att_stats;  // [n_threads][n_chunks * n_group]
  std::vector<float> att_shared_parts;               // [shared items][n_chunks * n_group * hd]
  std::vector<SoftmaxStats> att_shared_stats;        // [shared items][n_chunks * n_group]
  int64_t att_shared_items() const { return 2 * int64_t(opts_.n_threads); }

 private:
  ForwardOptions opts_;
  std::unique_ptr<ThreadPool> pool_;
  KvCache kv_;
};

}  // namespace silica
