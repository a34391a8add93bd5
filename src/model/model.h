// A loaded model: its tensors (a GGUF file or a Hugging Face folder), hyper-parameters, bound
// weights, and the forward pass of its architecture. Loading takes a path (the store resolves
// names to paths).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"
#include "kernels/packed.h"
#include "model/batch.h"
#include "model/forward_state.h"
#include "model/hparams.h"
#include "model/tensor_source.h"
#include "model/weights.h"

namespace silica {

class Model {
 public:
  Model(TensorSource src, ModelHParams hp) : src_(std::move(src)), hp_(std::move(hp)) {}
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // The GGUF file's metadata; an empty file (no keys, no tensors) for a folder model.
  const GgufFile& file() const;
  const TensorSource& source() const { return src_; }
  const std::string& path() const { return src_.path(); }  // the .gguf file or the folder
  bool is_folder() const { return src_.gguf() == nullptr; }
  // The model's own chat template (GGUF tokenizer.chat_template, or the folder's
  // chat_template.jinja / tokenizer_config.json), if any.
  const std::optional<std::string>& chat_template() const { return chat_template_; }
  void set_chat_template(std::optional<std::string> t) { chat_template_ = std::move(t); }
  const ModelHParams& hparams() const { return hp_; }
  const ModelWeights& weights() const { return w_; }

  // Runs one batch: appends its K/V to the cache and writes the logits of the tokens that
  // want them, in batch order, to logits [n_outputs, n_vocab].
  virtual Status forward(const Batch& batch, ForwardState& st, float* logits) const = 0;

  int64_t n_params() const;     // elements of all weight tensors
  size_t weight_bytes() const;  // bytes of all tensors
  // The most common weight type ("q4_K" for a Q4_K_M file) and a per-type tally.
  std::string dominant_type() const;

  // Repacks the matrices whose type the CPU's kernels have a packed layout for (Q4_0 / Q8_0 on
  // AVX-512 VNNI) and lets the OS drop their file pages; returns the bytes repacked.
  size_t repack_weights();

 protected:
  TensorSource src_;
  ModelHParams hp_;
  std::optional<std::string> chat_template_;
  ModelWeights w_;
  std::vector<std::unique_ptr<PackedMatrix>> packed_;
};

struct LoadOptions {
  bool prefetch = true;  // ask the OS to read the weights ahead (madvise WILLNEED)
  // Repack matrices into the kernels' interleaved layout (see Model::repack_weights). Off in
  // SILICA_NO_REPACK=1 environments, to compare the two paths.
  bool repack = true;
  // Work that needs the opened model but not its packed weights (building the tokenizer), run
  // on a thread of its own while the weights are repacked; done before load_model returns.
  std::function<void(const Model&)> alongside_repack;
};

// Opens a GGUF file, or a Hugging Face safetensors folder (F32/F16/BF16 Llama, Mistral, Qwen2),
// and builds the model of its architecture.
Expected<std::unique_ptr<Model>> load_model(const std::string& path, const LoadOptions& opts = {});

// Architectures this build can run, for messages and `silica --help`.
std::vector<std::string> supported_architectures();

}  // namespace silica
