// GGUF -> Vocab: arrays, special ids, add_bos / add_eos defaults and the end-of-generation set.
#include "model/vocab_loader.h"

#include <string_view>

#include "base/log.h"
#include "model/hf_folder.h"
#include "model/model.h"
#include "tokenizer/pretokenizer.h"

namespace silica {
namespace {

constexpr std::string_view kKeyModel = "tokenizer.ggml.model";
constexpr std::string_view kKeyTokens = "tokenizer.ggml.tokens";

// llama.cpp's special ids when the file does not name them. For "gpt2" it assumes 11, a GPT-2
// era convention; ids outside the vocabulary are dropped below, as there.
void set_model_defaults(Vocab& v) {
  if (v.model == kModelSpm) {  // SentencePiece: <unk>=0 <s>=1 </s>=2, BOS added
    v.unk = 0;
    v.bos = 1;
    v.eos = 2;
    v.add_bos = true;
    v.add_space_prefix = true;
    v.escape_whitespace = true;
  } else if (v.model == kModelGemma4) {
    // SentencePiece-style BPE: no default ids; spaces are U+2581 in the tokens.
    v.escape_whitespace = true;
  } else if (v.model == "gpt2") {
    v.bos = v.eos = 11;
    // Some pre-tokenizers (Llama 3, Tekken) imply add_bos; unknown pre is reported later by
    // Tokenizer::create with a clearer message, so ignore the error here.
    auto spec = pre_tokenizer_spec(v.pre);
    if (spec.ok()) v.add_bos = spec->default_add_bos;
  }
}

}  // namespace

Expected<Vocab> vocab_from_gguf(const GgufFile& f) {
  Vocab v;
  auto model = f.get_string(kKeyModel);
  if (!model) return make_error("{}: no tokenizer ({} missing)", f.path(), kKeyModel);
  v.model = *model;
  v.pre = f.get_string("tokenizer.ggml.pre").value_or("");
  const std::vector<std::string_view> tokens = f.get_string_array(kKeyTokens);
  if (tokens.empty()) {
    return make_error("{}: {} missing or not a string array", f.path(), kKeyTokens);
  }
  v.tokens.assign(tokens.begin(), tokens.end());
  const size_t n = v.tokens.size();
  if (f.find("tokenizer.ggml.scores")) {
    v.scores = f.get_float_array("tokenizer.ggml.scores");
    if (v.scores.size() != n) {
      return make_error("{}: tokenizer.ggml.scores has {} entries, expected {} (one per token)",
                        f.path(), v.scores.size(), n);
    }
  }
  if (f.find("tokenizer.ggml.token_type")) {
    const std::vector<int64_t> types = f.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != n) {
      return make_error("{}: tokenizer.ggml.token_type has {} entries, expected {} (one per token)",
                        f.path(), types.size(), n);
    }
    v.token_types.assign(types.begin(), types.end());
  } else {
    v.token_types.assign(n, kTokenNormal);
  }
  const std::vector<std::string_view> merges = f.get_string_array("tokenizer.ggml.merges");
  v.merges.assign(merges.begin(), merges.end());
  if ((v.model == kModelByteLevelBpe || v.model == kModelGemma4) && v.merges.empty()) {
    return make_error(
        "{}: BPE vocabulary (tokenizer.ggml.model '{}') without tokenizer.ggml.merges", f.path(),
        v.model);
  }

  set_model_defaults(v);
  // Defaults outside the vocabulary are disabled; ids from the file must lie inside it.
  const auto n_tok = static_cast<int32_t>(n);
  for (int32_t* id : {&v.bos, &v.eos, &v.eot, &v.eom, &v.pad, &v.unk}) {
    if (*id >= n_tok) *id = -1;
  }
  const std::pair<std::string_view, int32_t*> specials[] = {
      {"tokenizer.ggml.bos_token_id", &v.bos},     {"tokenizer.ggml.eos_token_id", &v.eos},
      {"tokenizer.ggml.eot_token_id", &v.eot},     {"tokenizer.ggml.eom_token_id", &v.eom},
      {"tokenizer.ggml.padding_token_id", &v.pad}, {"tokenizer.ggml.unknown_token_id", &v.unk},
  };
  for (const auto& [key, id] : specials) {
    const auto val = f.get_int(key);
    if (!val) continue;
    if (*val < 0 || *val >= n_tok) {  // llama.cpp keeps the default then; so do we
      log_warn("{}: {} = {} is outside the vocabulary of {} tokens; using {}", f.path(), key, *val,
               n_tok, *id);
      continue;
    }
    *id = static_cast<int32_t>(*val);
  }
  if (auto b = f.get_bool("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
  if (auto b = f.get_bool("tokenizer.ggml.add_eos_token")) v.add_eos = *b;
  // llama.cpp reads the prefix flag for SentencePiece only; BPE models never add one.
  if (v.model == kModelSpm) {
    if (auto b = f.get_bool("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = *b;
  }
  // Gemma 4 files say add_bos false, but the model needs <bos>: llama.cpp forces it on.
  if (v.model == kModelGemma4) v.add_bos = true;

  // FIM pad / repo / file-separator tokens also end generation (llama.cpp): a code model that
  // emits one has finished its completion.
  std::vector<int32_t> extra;
  for (std::string_view key : {"tokenizer.ggml.fim_pad_token_id", "tokenizer.ggml.fim_rep_token_id",
                               "tokenizer.ggml.fim_sep_token_id"}) {
    const auto val = f.get_int(key);
    if (val && *val >= 0 && *val < n_tok) extra.push_back(static_cast<int32_t>(*val));
  }
  fill_eog_ids(v, extra);
  return v;
}

Expected<Vocab> load_vocab(const Model& m) {
  if (m.is_folder()) return vocab_from_hf_folder(m.path(), m.hparams().n_vocab);
  return vocab_from_gguf(m.file());
}

}  // namespace silica
