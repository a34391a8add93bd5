// Views of a model's weight tensors, bound by name and shape-checked at load time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "tensor/dtype.h"

namespace silica {

class PackedMatrix;
class TensorSource;

// A weight tensor inside the mapped file. ne[0] is the row length (GGUF order).
struct TensorRef {
  const void* data = nullptr;
  DType type = DType::kF32;
  int64_t ne[4] = {1, 1, 1, 1};
  // The same matrix repacked at load for the kernels (owned by the Model), or null: matmuls and
  // row lookups then read it instead of data.
  const PackedMatrix* packed = nullptr;
  explicit operator bool() const { return data != nullptr; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  size_t row_bytes() const { return dtype_row_size(type, ne[0]); }
  const uint8_t* row(int64_t i) const {
    return static_cast<const uint8_t*>(data) + size_t(i) * row_bytes();
  }
};

struct LayerWeights {
  TensorRef attn_norm;   // [n_embd] f32
  TensorRef wq;          // [n_embd, n_embd_q]
  TensorRef wk;          // [n_embd, n_embd_kv]
  TensorRef wv;          // [n_embd, n_embd_kv]
  TensorRef wo;          // [n_embd_q, n_embd]
  TensorRef bq, bk, bv;  // [n_embd_q], [n_embd_kv], [n_embd_kv] f32, optional (qwen2)
  TensorRef ffn_norm;    // [n_embd] f32
  TensorRef w_gate;      // [n_embd, n_ff]
  TensorRef w_up;        // [n_embd, n_ff]
  TensorRef w_down;      // [n_ff, n_embd]
};

struct ModelWeights {
  TensorRef tok_embd;     // [n_embd, n_vocab]
  TensorRef output_norm;  // [n_embd] f32
  TensorRef output;       // [n_embd, n_vocab]; tok_embd when tied
  TensorRef rope_freqs;   // [rope_n_dims / 2] f32, optional (Llama 3.1 scaling)
  std::vector<LayerWeights> layers;
};

// Binds tensors of a model's source (GGUF file or HF folder) by silica name, checking shapes, and
// records which were used so that unexpected leftovers can be reported.
class TensorBinder {
 public:
  explicit TensorBinder(const TensorSource& src) : src_(src) {}
  // A tensor that must exist with exactly the given shape (trailing 1s may be omitted).
  Status require(const std::string& name, std::vector<int64_t> shape, TensorRef& out);
  // As require, but absent is fine (out stays empty).
  Status optional(const std::string& name, std::vector<int64_t> shape, TensorRef& out);
  // Requires the plain-float types for norms and biases.
  Status require_f32(const std::string& name, std::vector<int64_t> shape, TensorRef& out);
  Status optional_f32(const std::string& name, std::vector<int64_t> shape, TensorRef& out);

 private:
  Status bind(const std::string& name, const std::vector<int64_t>& shape, bool required,
              bool f32_only, TensorRef& out);
  const TensorSource& src_;
};

}  // namespace silica
