// A loaded model: its file, hyper-parameters, bound weights, and the forward pass of its
// architecture. Loading takes a path (the store resolves names to paths).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"
#include "model/batch.h"
#include "model/forward_state.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace silica {

class Model {
 public:
  Model(GgufFile file, ModelHParams hp) : file_(std::move(file)), hp_(std::move(hp)) {}
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const GgufFile& file() const { return file_; }
  const ModelHParams& hparams() const { return hp_; }
  const ModelWeights& weights() const { return w_; }

  // Runs one batch: appends its K/V to the cache and writes the logits of the tokens that
  // want them, in batch order, to logits [n_outputs, n_vocab].
  virtual Status forward(const Batch& batch, ForwardState& st, float* logits) const = 0;

  int64_t n_params() const;     // elements of all weight tensors in the file
  size_t weight_bytes() const;  // bytes of all tensors
  // The most common weight type ("q4_K" for a Q4_K_M file) and a per-type tally.
  std::string dominant_type() const;

 protected:
  GgufFile file_;
  ModelHParams hp_;
  ModelWeights w_;
};

struct LoadOptions {
  bool prefetch = true;  // ask the OS to read the weights ahead (madvise WILLNEED)
};

// Opens a GGUF file and builds the model of its general.architecture.
Expected<std::unique_ptr<Model>> load_model(const std::string& path, const LoadOptions& opts = {});

// Architectures this build can run, for messages and `silica --help`.
std::vector<std::string> supported_architectures();

}  // namespace silica
