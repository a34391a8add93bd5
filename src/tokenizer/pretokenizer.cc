// Pre-tokenizer regex table per tokenizer.ggml.pre name, and the PCRE2 split loop.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include "tokenizer/work_counters.h"

namespace silica {
namespace {

// The regexes are the pre_tokenizer patterns of the models' Hugging Face tokenizer.json files
// (data, not code). PCRE2 supports \p{..} classes and (?i:..), so they are used as published.

// GPT-2: contractions, letters, numbers, other symbols, each with an optional leading space.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

// Llama 3 (tiktoken cl100k style): case-insensitive contractions, numbers in groups of 3.
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen 2: like Llama 3 but single digits.
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen 3.5: combining marks stay with their letters.
constexpr const char* kQwen35 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// GPT-4o / Llama 4 (o200k): case-aware words with contractions attached.
constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Mistral Tekken: like GPT-4o without contractions, single digits.
constexpr const char* kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// DeepSeek LLM: a Sequence of Split pre-tokenizers (letters listed explicitly, CJK blocks).
constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-"
    "\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1"
    "\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-"
    "\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15"
    "\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-"
    "\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec"
    "\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128"
    "\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b"
    "\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787"
    "\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-"
    "\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-"
    "\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+";
constexpr const char* kDeepseekLlmPunct =
    "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+";
constexpr const char* kCjkRuns = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

// StarCoder family: GPT-2 after isolating every digit.
constexpr const char* kDigit = R"(\p{N})";

// Poro / BLOOM: everything up to whitespace or sentence punctuation.
constexpr const char* kPoro = " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+";

struct PreEntry {
  std::vector<std::string_view> names;
  std::vector<const char*> regexes;
  bool ignore_merges = false;
  bool default_add_bos = false;
};

const std::vector<PreEntry>& pre_table() {
  static const std::vector<PreEntry> kTable = {
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
        "jina-v5-nano"},
       {kLlama3},
       true,
       true},
      {{"dbrx", "smaug-bpe"}, {kLlama3}},
      {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
        "mellum", "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4"},
       {kGpt2}},
      {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan",
        "solar-open"},
       {kQwen2}},
      {{"qwen35"}, {kQwen35}},
      {{"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, {kGpt4o}},
      {{"tekken"}, {kTekken}, true, true},
      {{"deepseek-llm"},
       {"[\r\n]", kDeepseekLlmLetters, kDeepseekLlmPunct, "\\s+$", kCjkRuns, "\\p{N}+"}},
      {{"deepseek-coder"}, {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kCjkRuns, "\\p{N}"}},
      {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b",
        "mellum2"},
       {kDigit, kGpt2}},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {kPoro}},
      // No pre recorded (old conversions): llama.cpp's fallback, punctuation runs isolated first.
      {{"default", ""}, {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}},
      {{"viking"}, {kPoro, kDigit}},
      // Gemma 4: SentencePiece-style BPE over the whole text; only newline runs are split off.
      {{"gemma4"}, {"[^\n]+|[\n]+"}},
  };
  return kTable;
}

}  // namespace

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

Expected<PreTokenizerSpec> pre_tokenizer_spec(std::string_view pre) {
  for (const PreEntry& e : pre_table()) {
    for (std::string_view name : e.names) {
      if (name != pre) continue;
      PreTokenizerSpec spec;
      for (const char* r : e.regexes) spec.regexes.emplace_back(r);
      spec.ignore_merges = e.ignore_merges;
      spec.default_add_bos = e.default_add_bos;
      spec.whole_newline_words = name == "gemma4";
      return spec;
    }
  }
  return make_error(
      "tokenizer: unsupported pre-tokenizer tokenizer.ggml.pre = '{}' for a byte-level BPE "
      "vocabulary (supported: llama-bpe, qwen2, gpt-2, deepseek-llm, deepseek-coder, falcon, "
      "starcoder, refact, command-r, smollm, olmo, mpt, qwen35, gpt-4o, tekken, ...)",
      pre);
}

Expected<PreTokenizer> PreTokenizer::create(std::string_view pre) {
  SILICA_ASSIGN_OR_RETURN(PreTokenizerSpec spec, pre_tokenizer_spec(pre));
  return create(std::move(spec), pre);
}

Expected<PreTokenizer> PreTokenizer::create(PreTokenizerSpec spec, std::string_view pre) {
  PreTokenizer p;
  p.spec_ = std::move(spec);
  for (const std::string& re : p.spec_.regexes) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    auto c = std::make_unique<Compiled>();
    // UCP makes \s, \d and \w Unicode-aware too; DOLLAR_ENDONLY makes $ mean end of text only,
    // as in the Rust regex crate the patterns were written for.
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(),
                            PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_off, nullptr);
    if (c->code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      return make_error("tokenizer: pre-tokenizer '{}' regex does not compile at offset {}: {}",
                        pre, err_off, reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
    p.compiled_.push_back(std::move(c));
  }
  return p;
}

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

namespace {

// Splits one piece with one regex: matches and the gaps between them, in order.
void split_piece(pcre2_code* code, pcre2_match_data* md, std::string_view piece,
                 std::vector<std::string_view>& out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  size_t pos = 0;
  while (pos < piece.size()) {
    // NOTEMPTY: an empty match would isolate nothing; NO_UTF_CHECK: the text was sanitized.
    ++tokenizer_work().regex_matches;
    int rc = pcre2_match(code, subject, piece.size(), pos, PCRE2_NOTEMPTY | PCRE2_NO_UTF_CHECK, md,
                         nullptr);
    // The JIT's fixed stack can run out on pathological input; the interpreter uses the heap.
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
      rc = pcre2_match(code, subject, piece.size(), pos,
                       PCRE2_NOTEMPTY | PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
    }
    if (rc < 0) break;  // no further match: the rest is one piece
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[0] > pos) out.push_back(piece.substr(pos, ov[0] - pos));
    out.push_back(piece.substr(ov[0], ov[1] - ov[0]));
    pos = ov[1];
  }
  if (pos < piece.size()) out.push_back(piece.substr(pos));
}

}  // namespace

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  if (compiled_.empty()) {
    out.push_back(text);
    return;
  }
  std::vector<std::string_view> pieces{text};
  std::vector<std::string_view> next;
  for (size_t r = 0; r < compiled_.size(); ++r) {
    pcre2_code* code = compiled_[r]->code;
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    auto& dst = r + 1 == compiled_.size() ? out : next;
    for (std::string_view piece : pieces) split_piece(code, md, piece, dst);
    pcre2_match_data_free(md);
    if (&dst == &next) {
      pieces.swap(next);
      next.clear();
    }
  }
}

}  // namespace silica
