// The end-of-generation set of a vocabulary.
#include "tokenizer/vocab.h"

#include <algorithm>
#include <string_view>

namespace silica {
namespace {

// Token texts that end a turn in some model family. GGUF files often do not record these ids
// (only eos), and a chat model that emits <|eot_id|> or <|im_end|> must stop there, so llama.cpp
// treats every token with one of these texts as end-of-generation and forces its type to control
// (even when the file typed it normal: a bug in the file, not a token users should see). We do the
// same so that generation stops and special-token parsing agree with llama.cpp.
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<\xef\xbd\x9c"
    "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",  // DeepSeek
    "[e~[",
};

int32_t find_text(const Vocab& v, const std::vector<int32_t>& ids, std::string_view text) {
  for (int32_t id : ids) {
    if (v.tokens[id] == text) return id;
  }
  return -1;
}

void erase_id(std::vector<int32_t>& ids, int32_t id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

}  // namespace

void fill_eog_ids(Vocab& v, std::span<const int32_t> extra_ids) {
  const auto n = static_cast<int32_t>(v.tokens.size());
  if (v.token_types.size() != v.tokens.size()) v.token_types.assign(v.tokens.size(), kTokenNormal);
  std::vector<int32_t> ids;
  auto add = [&](int32_t id) {
    if (id >= 0 && id < n && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  for (int32_t id : extra_ids) add(id);
  for (int32_t id = 0; id < n; ++id) {
    if (std::find(std::begin(kEogTexts), std::end(kEogTexts), v.tokens[id]) ==
        std::end(kEogTexts)) {
      continue;
    }
    add(id);
    v.token_types[id] = kTokenControl;
  }
  add(v.eos);
  add(v.eot);
  add(v.eom);
  // gpt-oss (o200k_harmony) and solar-open end a message with <|end|> but continue the turn:
  // when their tool-call tokens exist, <|end|> is not end-of-generation but a visible marker.
  const bool has_return = find_text(v, ids, "<|return|>") >= 0;
  const bool has_call = find_text(v, ids, "<|call|>") >= 0 || find_text(v, ids, "<|calls|>") >= 0;
  const bool has_flush = find_text(v, ids, "<|flush|>") >= 0;
  const int32_t end_id = find_text(v, ids, "<|end|>");
  if (end_id >= 0 && ((has_return && has_call) || (has_call && has_flush))) {
    erase_id(ids, end_id);
    v.token_types[end_id] = kTokenUserDefined;
  }
  // Gemma 4 uses </s> as ordinary text once <|tool_response> exists.
  const int32_t s_id = find_text(v, ids, "</s>");
  if (s_id >= 0 && find_text(v, ids, "<|tool_response>") >= 0) {
    erase_id(ids, s_id);
    v.token_types[s_id] = kTokenNormal;
  }
  std::sort(ids.begin(), ids.end());
  v.eog_ids = std::move(ids);
}

}  // namespace silica
