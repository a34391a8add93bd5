// Where a model's weight tensors come from: one GGUF file, or the safetensors shards of a
// Hugging Face folder with their names mapped to silica's (GGUF) names. The binder reads both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "tensor/dtype.h"

namespace silica {

// One tensor under its silica name, in GGUF order: ne[0] is the row length (a safetensors
// shape [out, in] becomes ne {in, out}; the bytes are the same row-major rows).
struct SourceTensor {
  std::string name;
  std::string file;  // the file holding it, for messages
  DType type = DType::kF32;
  std::vector<int64_t> ne;
  const uint8_t* data = nullptr;  // into a mapping, or into the source's own f32 copies
  size_t nbytes = 0;
  int64_t n_elements() const;
};

// The tensors of one model. Owns what their data points into (the GGUF mapping, the shard
// mappings, converted copies), so it moves but never copies.
class TensorSource {
 public:
  TensorSource() = default;
  TensorSource(TensorSource&&) noexcept = default;
  TensorSource& operator=(TensorSource&&) noexcept = default;
  TensorSource(const TensorSource&) = delete;
  TensorSource& operator=(const TensorSource&) = delete;

  // Takes the file; tensors keep their names and point into its mapping.
  static TensorSource from_gguf(GgufFile file);

  // Adds a safetensors shard, renaming each tensor with `rename` (an empty result skips it).
  // F32 / F16 / BF16 matrices stay in the mapping (no copy); 1-D F16 / BF16 tensors (norms,
  // biases) are converted to f32 copies, as the kernels read norms and biases as f32.
  Status add_shard(SafetensorsFile shard, std::string (*rename)(std::string_view hf_name));
  // Adds an f32 tensor the source owns (e.g. rope frequency factors computed from config.json).
  void add_owned_f32(std::string name, std::vector<float> values);

  const std::string& path() const { return path_; }  // the file or folder
  void set_path(std::string p) { path_ = std::move(p); }
  const std::vector<SourceTensor>& tensors() const { return tensors_; }
  const SourceTensor* find(std::string_view name) const;
  // The GGUF file for a GGUF source (metadata lives there), else nullptr.
  const GgufFile* gguf() const { return gguf_.get(); }
  // Whether p points into a file mapping (GGUF or shard) rather than the source's own copies:
  // only mapped pages may be given back to the OS once the tensor is read no more.
  bool is_mapped(const void* p) const;
  // Asks the OS to read every mapping ahead.
  void advise_willneed() const;

 private:
  Status add(SourceTensor t);
  std::string path_;
  std::vector<SourceTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::unique_ptr<GgufFile> gguf_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::vector<std::vector<float>> owned_;  // each buffer's data() is stable across moves
};

}  // namespace silica
