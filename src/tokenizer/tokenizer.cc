// Tokenizer: special-token partition, normalization, pre-tokenization, per-word BPE with a word
// cache or SentencePiece merging, decoding.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <unordered_map>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"

namespace silica {
namespace {

// Words longer than this are not cached: they are rare and would bloat the cache.
constexpr size_t kMaxCachedWordBytes = 256;

// SentencePiece writes spaces as U+2581 LOWER ONE EIGHTH BLOCK.
constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";

std::string escape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (char c : text) {
    if (c == ' ') {
      out += kEscapedSpace;
    } else {
      out += c;
    }
  }
  return out;
}

// A piece of the input: either raw text still to tokenize or an already matched special token.
struct Fragment {
  std::string_view text;  // raw text when id < 0
  int32_t id = -1;
};

Status check_sizes(const Vocab& v) {
  if (v.tokens.empty()) return make_error("tokenizer: vocabulary has no tokens");
  const size_t n = v.tokens.size();
  if (!v.token_types.empty() && v.token_types.size() != n) {
    return make_error("tokenizer: {} token types for {} tokens", v.token_types.size(), n);
  }
  if (!v.scores.empty() && v.scores.size() != n) {
    return make_error("tokenizer: {} scores for {} tokens", v.scores.size(), n);
  }
  const std::pair<const char*, int32_t> ids[] = {{"bos", v.bos}, {"eos", v.eos}, {"eot", v.eot},
                                                 {"eom", v.eom}, {"pad", v.pad}, {"unk", v.unk}};
  for (const auto& [name, id] : ids) {
    if (id >= static_cast<int32_t>(n)) {
      return make_error("tokenizer: {} token id {} is outside the vocabulary of {} tokens", name,
                        id, n);
    }
  }
  return Status();
}

// Splits every raw fragment at each occurrence of text, left to right, into raw | id | raw.
void partition(std::vector<Fragment>& frags, std::string_view text, int32_t id,
               std::vector<Fragment>& scratch) {
  scratch.clear();
  for (const Fragment& f : frags) {
    if (f.id >= 0 || f.text.find(text) == std::string_view::npos) {
      scratch.push_back(f);
      continue;
    }
    std::string_view rest = f.text;
    for (size_t at; (at = rest.find(text)) != std::string_view::npos;) {
      if (at > 0) scratch.push_back(Fragment{rest.substr(0, at)});
      scratch.push_back(Fragment{{}, id});
      rest.remove_prefix(at + text.size());
    }
    if (!rest.empty()) scratch.push_back(Fragment{rest});
  }
  frags.swap(scratch);
}

}  // namespace

Expected<Tokenizer> Tokenizer::create(Vocab vocab) {
  SILICA_RETURN_IF_ERROR(check_sizes(vocab));
  Tokenizer t(std::move(vocab));
  SILICA_RETURN_IF_ERROR(t.init_models());
  t.build_tables();
  return t;
}

Status Tokenizer::init_models() {
  const std::string_view model = vocab_.model;
  if (model == kModelSpm) {
    SILICA_ASSIGN_OR_RETURN(spm_, SpmModel::create(vocab_));
    return Status();
  }
  const bool byte_level = model == kModelByteLevelBpe;
  if (!byte_level && model != kModelGemma4 && model != kModelUtf8Bpe) {
    return make_error(
        "tokenizer: unsupported tokenizer.ggml.model '{}' (supported: 'gpt2' byte-level BPE, "
        "'llama' SentencePiece, 'gemma4' SentencePiece-style BPE)",
        model);
  }
  if (vocab_.pre_regexes) {
    PreTokenizerSpec spec;
    spec.regexes = *vocab_.pre_regexes;
    SILICA_ASSIGN_OR_RETURN(pre_, PreTokenizer::create(std::move(spec), "tokenizer.json"));
  } else {
    // gemma4 files carry no pre name (llama.cpp implies it from the model).
    const std::string_view pre = model == kModelGemma4 ? kModelGemma4 : vocab_.pre;
    SILICA_ASSIGN_OR_RETURN(pre_, PreTokenizer::create(pre));
  }
  BpeOptions opt;
  opt.symbols = byte_level ? BpeSymbols::kByteLevel : BpeSymbols::kUtf8;
  opt.ignore_merges = vocab_.ignore_merges || pre_->spec().ignore_merges;
  opt.whole_newline_words = pre_->spec().whole_newline_words;
  SILICA_ASSIGN_OR_RETURN(bpe_, BpeModel::create(vocab_, opt));
  return Status();
}

int32_t Tokenizer::type_of(int32_t id) const {
  return vocab_.token_types.empty() ? kTokenNormal : vocab_.token_types[id];
}

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < n_vocab() && type_of(id) == kTokenControl;
}

// "<0xAB>" -> 0xAB, or -1 when text is not a byte token's name.
static int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int v = 0;
  for (char c : text.substr(3, 2)) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

std::string Tokenizer::piece_of_normal(int32_t id) const {
  const std::string& text = vocab_.tokens[id];
  if (type_of(id) == kTokenByte) {
    if (const int b = parse_byte_token(text); b >= 0) return std::string(1, static_cast<char>(b));
  }
  if (vocab_.model == kModelByteLevelBpe) return byte_level_decode(text);
  if (!vocab_.escape_whitespace) return text;
  std::string out;  // U+2581 -> ' '
  for (size_t pos = 0;;) {
    const size_t at = text.find(kEscapedSpace, pos);
    out.append(text, pos, at == std::string::npos ? std::string::npos : at - pos);
    if (at == std::string::npos) return out;
    out += ' ';
    pos = at + kEscapedSpace.size();
  }
}

void Tokenizer::build_tables() {
  const int32_t n = n_vocab();
  pieces_.resize(n);
  special_pieces_.resize(n);
  for (int32_t id = 0; id < n; ++id) {
    const std::string& text = vocab_.tokens[id];
    switch (type_of(id)) {
      case kTokenNormal:
      case kTokenUndefined:
      case kTokenByte:
        pieces_[id] = piece_of_normal(id);
        special_pieces_[id] = pieces_[id];
        break;
      case kTokenUserDefined:
        pieces_[id] = special_pieces_[id] = text;
        break;
      case kTokenControl:
      case kTokenUnknown:
        special_pieces_[id] = text;  // hidden unless asked for
        break;
      default:  // unused: renders as nothing, as in llama.cpp
        break;
    }
    const int32_t type = type_of(id);
    if (type == kTokenControl || type == kTokenUserDefined || type == kTokenUnknown) {
      if (!text.empty()) specials_.push_back(id);
    }
  }
  // Longest first, so "<|eot_id|>" wins over any shorter token it contains.
  std::stable_sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
    return vocab_.tokens[a].size() > vocab_.tokens[b].size();
  });
  eog_.assign(n, 0);
  if (vocab_.eog_ids.empty()) {
    for (int32_t id : {vocab_.eos, vocab_.eot, vocab_.eom}) {
      if (id >= 0) vocab_.eog_ids.push_back(id);
    }
  }
  for (int32_t id : vocab_.eog_ids) {
    if (id >= 0 && id < n) eog_[id] = 1;
  }
}

// One run of text between special tokens: normalize, then SPM or pre-tokenize + BPE.
void Tokenizer::encode_raw(std::string_view raw, std::vector<int32_t>& out) const {
  std::string buf;
  if (vocab_.normalize_nfc) buf = normalize_nfc(raw);
  std::string_view text = vocab_.normalize_nfc ? std::string_view(buf) : raw;
  if (vocab_.add_space_prefix || vocab_.escape_whitespace) {
    // Every run of text follows a special token or starts the input: each gets the prefix.
    buf = escape_spaces(vocab_.add_space_prefix ? " " + std::string(text) : std::string(text));
    text = buf;
  }
  if (spm_) {
    spm_->encode(text, out);
  } else {
    encode_words(text, out);
  }
}

void Tokenizer::encode_words(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<std::string_view> words;
  pre_->split(text, words);
  // Per-call cache: natural text repeats a few thousand words over and over.
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;  // word -> [off, n)
  std::vector<int32_t> cached;
  for (std::string_view w : words) {
    if (w.size() > kMaxCachedWordBytes) {
      bpe_->encode_word(w, out);
      continue;
    }
    const auto it = cache.find(w);
    if (it != cache.end()) {
      const auto [off, cnt] = it->second;
      out.insert(out.end(), cached.begin() + off, cached.begin() + off + cnt);
      continue;
    }
    const size_t before = out.size();
    bpe_->encode_word(w, out);
    cache.emplace(w, std::pair<uint32_t, uint32_t>(cached.size(), out.size() - before));
    cached.insert(cached.end(), out.begin() + before, out.end());
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  // Invalid bytes become U+FFFD first, as llama.cpp does; the regexes need valid UTF-8.
  std::string repaired;
  if (!is_valid_utf8(text)) {
    repaired = sanitize_utf8(text);
    text = repaired;
  }
  std::vector<Fragment> frags{Fragment{text}}, scratch;
  if (text.empty()) frags.clear();
  for (int32_t id : specials_) {
    // Control and unknown tokens only when asked; user-defined ones always (llama.cpp, HF).
    if (!parse_special && type_of(id) != kTokenUserDefined) continue;
    partition(frags, vocab_.tokens[id], id, scratch);
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  for (const Fragment& f : frags) {
    if (f.id >= 0) {
      out.push_back(f.id);
    } else {
      encode_raw(f.text, out);
    }
  }
  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

const std::string& Tokenizer::token_to_piece(int32_t id, bool special) const {
  static const std::string kEmpty;
  if (id < 0 || id >= n_vocab()) return kEmpty;
  return special ? special_pieces_[id] : pieces_[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool special) const {
  std::string out;
  for (int32_t id : ids) out += token_to_piece(id, special);
  // llama.cpp strips the space its prefix rule added from the first token only (even when that
  // token renders as nothing, like a hidden BOS: then no space is removed).
  if (vocab_.add_space_prefix && !ids.empty() && !token_to_piece(ids[0], special).empty() &&
      out[0] == ' ') {
    out.erase(0, 1);
  }
  return out;
}

bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && id < n_vocab() && eog_[id] != 0;
}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tokenizer_->token_to_piece(id, special_);
  const size_t n = utf8_complete_prefix(pending_);
  std::string out = sanitize_utf8(std::string_view(pending_).substr(0, n));
  pending_.erase(0, n);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace silica
