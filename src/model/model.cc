// load_model: open the GGUF file or HF folder, read hyper-parameters, build the architecture's
// model.
#include "model/model.h"

#include <fmt/ranges.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "base/mapped_file.h"
#include "model/arch/registry.h"
#include "model/hf_folder.h"

namespace silica {

namespace {

bool repack_disabled_by_env() {
  const char* v = std::getenv("SILICA_NO_REPACK");
  return v && *v && std::string(v) != "0";
}

// Repacks the weights (unless turned off) while opts.alongside_repack runs beside it.
void finish_load(Model& m, const LoadOptions& opts) {
  const bool repack = opts.repack && !repack_disabled_by_env();
  if (!opts.alongside_repack) {
    if (repack) m.repack_weights();
    return;
  }
  if (!repack) return opts.alongside_repack(m);
  std::thread side([&] { opts.alongside_repack(m); });
  try {
    m.repack_weights();
  } catch (...) {  // the side thread reads m: it ends before m can
    side.join();
    throw;
  }
  side.join();
}

Expected<std::unique_ptr<Model>> load_folder(const std::string& path, const LoadOptions& opts) {
  SILICA_ASSIGN_OR_RETURN(HfFolder f, open_hf_folder(path));
  SILICA_ASSIGN_OR_RETURN(std::optional<std::string> tmpl, hf_chat_template(path));
  ArchFactory create = find_architecture(f.config.hp.arch);
  if (!create)
    return make_error("{}: architecture '{}' is not supported (supported: {})", path,
                      f.config.hp.arch, fmt::join(supported_architectures(), ", "));
  if (opts.prefetch) f.tensors.advise_willneed();
  const int64_t vocab_size = f.config.vocab_size;
  SILICA_ASSIGN_OR_RETURN(std::unique_ptr<Model> m,
                          create(std::move(f.tensors), std::move(f.config.hp)));
  if (m->hparams().n_vocab != vocab_size)
    return make_error("{}/config.json: vocab_size is {} but model.embed_tokens.weight has {} rows",
                      path, vocab_size, m->hparams().n_vocab);
  m->set_chat_template(std::move(tmpl));
  finish_load(*m, opts);
  return m;
}

}  // namespace

Expected<std::unique_ptr<Model>> load_model(const std::string& path, const LoadOptions& opts) {
  if (std::filesystem::is_directory(path)) return load_folder(path, opts);
  SILICA_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  SILICA_ASSIGN_OR_RETURN(ModelHParams hp, read_common_hparams(file));
  ArchFactory create = find_architecture(hp.arch);
  if (!create)
    return make_error("{}: architecture '{}' is not supported (supported: {})", path, hp.arch,
                      fmt::join(supported_architectures(), ", "));
  if (opts.prefetch) file.mapping().advise_willneed(0, file.mapping().size());
  std::optional<std::string> tmpl = file.get_string("tokenizer.chat_template");
  SILICA_ASSIGN_OR_RETURN(std::unique_ptr<Model> m,
                          create(TensorSource::from_gguf(std::move(file)), std::move(hp)));
  m->set_chat_template(std::move(tmpl));
  finish_load(*m, opts);
  return m;
}

size_t Model::repack_weights() {
  std::vector<TensorRef*> mats;
  for (LayerWeights& l : w_.layers)
    for (TensorRef* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      mats.push_back(t);
  const bool tied = w_.output.data == w_.tok_embd.data;
  mats.push_back(&w_.output);
  ThreadPool pool(ThreadPool::default_threads());
  size_t bytes = 0;
  for (TensorRef* t : mats) {
    if (!*t || t->packed) continue;
    const PackedKernels* k = packed_kernels(t->type);
    // The file's copy is read no more once packed: its pages need not stay in this process's
    // memory (a GGUF or safetensors mapping; never the source's own converted copies). Released
    // stretch by stretch while packing (a tied F16 output matrix is 500 MiB), then whole.
    const bool mapped = src_.is_mapped(t->data);
    std::unique_ptr<PackedMatrix> p =
        k ? PackedMatrix::pack(t->data, t->type, t->ne[1], t->ne[0], &pool, k, mapped) : nullptr;
    if (!p) continue;
    t->packed = p.get();
    bytes += p->bytes();
    if (mapped) release_pages(t->data, size_t(t->rows()) * t->row_bytes());
    packed_.push_back(std::move(p));
  }
  if (tied) w_.tok_embd.packed = w_.output.packed;
  return bytes;
}

const GgufFile& Model::file() const {
  static const GgufFile kEmpty;
  return src_.gguf() ? *src_.gguf() : kEmpty;
}

int64_t Model::n_params() const {
  int64_t n = 0;
  for (const auto& t : src_.tensors()) n += t.n_elements();
  return n;
}

size_t Model::weight_bytes() const {
  size_t n = 0;
  for (const auto& t : src_.tensors()) n += t.nbytes;
  return n;
}

std::string Model::dominant_type() const {
  // Weighted by elements, ignoring 1-D tensors (norms and biases stay f32 in every file).
  std::map<std::string, int64_t> by_type;
  for (const auto& t : src_.tensors())
    if (t.ne.size() >= 2) by_type[dtype_name(t.type)] += t.n_elements();
  std::string best;
  int64_t most = -1;
  for (const auto& [name, n] : by_type)
    if (n > most) {
      most = n;
      best = name;
    }
  return best;
}

}  // namespace silica
