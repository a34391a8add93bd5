// `silica show MODEL`: what a model file holds.
#include <fmt/format.h>

#include <map>
#include <memory>

#include "cli/commands.h"
#include "engine/session.h"
#include "store/store.h"

namespace silica {
namespace {

std::string human_count(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1000) return fmt::format("{:.2f}K", n / 1e3);
  return fmt::format("{}", n);
}

std::string human_bytes(double b) {
  if (b >= 1073741824.0) return fmt::format("{:.2f} GiB", b / 1073741824.0);
  if (b >= 1048576.0) return fmt::format("{:.2f} MiB", b / 1048576.0);
  return fmt::format("{:.2f} KiB", b / 1024.0);
}

// What a store model adds to its GGUF: parameters, system prompt, template, license layers.
void show_store_layers(const std::string& name) {
  auto store = Store::open(Store::default_root());
  if (!store) return;
  auto r = store->resolve(name);
  if (!r) return;
  fmt::print("Store\n  {:<20} {}\n", "name", r->name.display());
  const std::pair<const char*, const char*> kSections[] = {{kMediaParams, "Parameters"},
                                                           {kMediaSystem, "System"},
                                                           {kMediaTemplate, "Template"},
                                                           {kMediaMessages, "Messages"},
                                                           {kMediaLicense, "License"}};
  for (const auto& [type, title] : kSections) {
    for (const auto& l : r->manifest.layers) {
      if (l.media_type != type) continue;
      auto text = store->read_blob_text(l.digest);
      if (text) fmt::print("{}\n  {}\n", title, *text);
    }
  }
}

void show(const std::string& path) {
  auto model_path = resolve_model_path(path);  // a file path, or a name in the store
  if (!model_path) fail(model_path.message());
  auto lm = load_model_with_tokenizer(*model_path);
  if (!lm) fail(lm.message());
  const Model& m = *lm->model;
  const ModelHParams& hp = m.hparams();
  std::map<std::string, int> by_type;
  for (const auto& t : m.file().tensors()) by_type[dtype_name(t.type)]++;
  std::string types;
  for (const auto& [name, n] : by_type)
    types += fmt::format("{}{} x{}", types.empty() ? "" : ", ", name, n);
  auto row = [](const char* k, const std::string& v) { fmt::print("  {:<20} {}\n", k, v); };
  fmt::print("Model\n");
  row("file", path);
  if (!hp.name.empty()) row("name", hp.name);
  row("architecture", hp.arch);
  row("parameters", human_count(m.n_params()));
  row("quantization", m.dominant_type());
  row("tensor types", types);
  row("size", human_bytes(double(m.weight_bytes())));
  row("context length", fmt::format("{}", hp.n_ctx_train));
  row("embedding length", fmt::format("{}", hp.n_embd));
  row("layers", fmt::format("{}", hp.n_layer));
  row("attention heads", fmt::format("{}", hp.n_head));
  row("kv heads", fmt::format("{}", hp.n_head_kv));
  row("head size", fmt::format("{}", hp.head_dim));
  row("feed forward", fmt::format("{}", hp.n_ff));
  row("vocabulary size", fmt::format("{}", hp.n_vocab));
  row("rope base", fmt::format("{:g}", hp.rope_freq_base));
  const Vocab& v = lm->tokenizer->vocab();
  row("tokenizer", fmt::format("{} ({})", v.model, v.pre.empty() ? "default" : v.pre));
  if (v.bos >= 0) row("bos token", fmt::format("{} {}", v.bos, v.tokens[size_t(v.bos)]));
  if (v.eos >= 0) row("eos token", fmt::format("{} {}", v.eos, v.tokens[size_t(v.eos)]));
  if (*model_path != path) show_store_layers(path);
}

}  // namespace

void add_show_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("show", "Show a model's architecture, size and quantization");
  cmd->add_option("model", *path, "A GGUF model file or a model name from the store")->required();
  cmd->callback([path] { show(*path); });
}

}  // namespace silica
