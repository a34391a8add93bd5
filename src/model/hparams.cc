// Common hyper-parameter keys of decoder-only GGUF models.
#include "model/hparams.h"

#include "format/gguf.h"

namespace silica {
namespace {

Expected<int64_t> require_int(const GgufFile& f, const std::string& key) {
  auto v = f.get_int(key);
  if (!v) return make_error("{}: metadata key '{}' is missing or not an integer", f.path(), key);
  if (*v <= 0)
    return make_error("{}: metadata key '{}' must be positive, found {}", f.path(), key, *v);
  return *v;
}

}  // namespace

Expected<ModelHParams> read_common_hparams(const GgufFile& f) {
  ModelHParams hp;
  auto arch = f.get_string("general.architecture");
  if (!arch) return make_error("{}: metadata key 'general.architecture' is missing", f.path());
  hp.arch = *arch;
  hp.name = f.get_string("general.name").value_or("");
  const std::string p = hp.arch + ".";
  SILICA_ASSIGN_OR_RETURN(hp.n_embd, require_int(f, p + "embedding_length"));
  SILICA_ASSIGN_OR_RETURN(hp.n_layer, require_int(f, p + "block_count"));
  SILICA_ASSIGN_OR_RETURN(hp.n_head, require_int(f, p + "attention.head_count"));
  SILICA_ASSIGN_OR_RETURN(hp.n_ff, require_int(f, p + "feed_forward_length"));
  hp.n_ctx_train = f.get_int(p + "context_length").value_or(2048);
  hp.n_head_kv = f.get_int(p + "attention.head_count_kv").value_or(hp.n_head);
  if (hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0)
    return make_error("{}: {} attention heads cannot be grouped over {} KV heads", f.path(),
                      hp.n_head, hp.n_head_kv);
  hp.head_dim = f.get_int(p + "attention.key_length").value_or(0);
  if (hp.head_dim == 0) {
    if (hp.n_embd % hp.n_head != 0)
      return make_error("{}: embedding length {} is not a multiple of the head count {}", f.path(),
                        hp.n_embd, hp.n_head);
    hp.head_dim = hp.n_embd / hp.n_head;
  }
  hp.rms_eps = float(f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  hp.rope_freq_base = float(f.get_float(p + "rope.freq_base").value_or(10000.0));
  hp.rope_n_dims = f.get_int(p + "rope.dimension_count").value_or(hp.head_dim);
  if (hp.rope_n_dims <= 0 || hp.rope_n_dims > hp.head_dim || hp.rope_n_dims % 2)
    return make_error("{}: rope.dimension_count {} must be even and at most the head size {}",
                      f.path(), hp.rope_n_dims, hp.head_dim);
  // Linear scaling: positions are divided by the factor.
  const std::string scaling = f.get_string(p + "rope.scaling.type").value_or("");
  double factor = f.get_float(p + "rope.scaling.factor").value_or(0.0);
  if (factor == 0.0) factor = f.get_float(p + "rope.scale_linear").value_or(0.0);
  if (scaling == "linear" || (scaling.empty() && factor > 0.0)) {
    if (factor > 0.0) hp.rope_freq_scale = float(1.0 / factor);
  } else if (!scaling.empty() && scaling != "none" && scaling != "llama3") {
    return make_error(
        "{}: rope scaling type '{}' is not supported yet (supported: none, linear, "
        "llama3 via rope_freqs)",
        f.path(), scaling);
  }
  return hp;
}

}  // namespace silica
