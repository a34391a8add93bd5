// BPE merge loop (byte-level or UTF-8 symbols) and rank table construction.
#include "tokenizer/bpe.h"

#include <algorithm>
#include <queue>

#include "tokenizer/byte_level.h"
#include "tokenizer/spm.h"
#include "tokenizer/utf8.h"
#include "tokenizer/work_counters.h"

namespace silica {

Expected<BpeModel> BpeModel::create(const Vocab& vocab, BpeOptions options) {
  BpeModel m;
  m.options_ = options;
  m.unk_ = vocab.unk;
  m.text_to_id_ = TokenIndex(vocab.tokens);  // later duplicates win, as in llama.cpp
  const bool byte_level = options.symbols == BpeSymbols::kByteLevel;
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const std::string_view s(&c, 1);
    // UTF-8 symbols: only ASCII bytes are whole characters; the rest go through the hash map.
    m.byte_to_id_[b] =
        byte_level ? m.text_to_id(byte_level_encode(s)) : (b < 0x80 ? m.text_to_id(s) : -1);
  }
  if (!byte_level) m.fallback_ids_ = find_byte_tokens(m.text_to_id_);
  if (vocab.merges.empty()) {
    return make_error(
        "tokenizer: BPE vocabulary (model '{}') has no merges "
        "(tokenizer.ggml.merges missing or empty)",
        vocab.model);
  }
  // A chunk of merges at a time: the chunk's lookups (each side and the merged text) go to the
  // index together, then the pairs' slots are fetched together; one by one, each lookup and
  // insert waited for its own cache miss (the load spent a quarter of a second here).
  m.merges_ = PairTable<Merge>(vocab.merges.size());
  constexpr size_t kChunk = 256;
  std::vector<std::string_view> texts(3 * kChunk);
  std::vector<int32_t> ids(3 * kChunk);
  std::string joined;  // the chunk's merged texts, one after another
  for (size_t r0 = 0; r0 < vocab.merges.size(); r0 += kChunk) {
    const size_t n = std::min(kChunk, vocab.merges.size() - r0);
    size_t total = 0;
    for (size_t k = 0; k < n; ++k) total += vocab.merges[r0 + k].size();
    joined.clear();
    joined.reserve(total);  // never grows below: the views into it stay valid
    for (size_t k = 0; k < n; ++k) {
      const std::string& s = vocab.merges[r0 + k];
      // Split at the first space after the first character: a merge side is never empty.
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) {
        return make_error("tokenizer: merge {} '{}' has no space separating its two sides", r0 + k,
                          s);
      }
      const std::string_view left(s.data(), sp), right(s.data() + sp + 1, s.size() - sp - 1);
      texts[3 * k] = left, texts[3 * k + 1] = right;
      const size_t at = joined.size();
      joined.append(left).append(right);
      texts[3 * k + 2] = std::string_view(joined.data() + at, joined.size() - at);
    }
    m.text_to_id_.find_batch(texts.data(), 3 * n, ids.data());
    for (size_t k = 0; k < n; ++k) m.merges_.prefetch(ids[3 * k], ids[3 * k + 1]);
    for (size_t k = 0; k < n; ++k) {
      const int32_t l = ids[3 * k], rt = ids[3 * k + 1], merged = ids[3 * k + 2];
      // A merge whose sides or result are not tokens can never fire on token ids: skip it.
      if (l < 0 || rt < 0 || merged < 0) continue;
      m.merges_.insert(l, rt, Merge{static_cast<int32_t>(r0 + k), merged});
    }
  }
  return m;
}

int32_t BpeModel::text_to_id(std::string_view text) const {
  return text_to_id_.find(text);
}

const BpeModel::Merge* BpeModel::find_merge(int32_t left, int32_t right) const {
  ++tokenizer_work().merge_lookups;
  return merges_.find(left, right);
}

namespace {

struct Candidate {
  int32_t rank;
  int32_t left;  // symbol index of the left side
  int32_t left_id, right_id;
  // Lowest rank first; among equal ranks the leftmost pair (what reference BPE does).
  bool operator<(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : left > o.left;
  }
};

}  // namespace

int32_t BpeModel::whole_word_id(std::string_view word) const {
  const bool utf8 = options_.symbols == BpeSymbols::kUtf8;
  if (options_.ignore_merges) return text_to_id(utf8 ? std::string(word) : byte_level_encode(word));
  // Gemma 4 (llama.cpp): a run of newlines that is a token stays whole instead of merging.
  if (options_.whole_newline_words && word.find_first_not_of('\n') == std::string_view::npos) {
    return text_to_id(word);
  }
  return -1;
}

int32_t BpeModel::symbol_id(std::string_view text) const {
  if (text.size() == 1) return byte_to_id_[static_cast<uint8_t>(text[0])];
  return text_to_id(text);
}

// A UTF-8 character with no token: its bytes as <0xAB> tokens, or the unknown token (HF
// byte_fallback). Byte-level vocabularies have every byte, so this is reached only for kUtf8.
void BpeModel::emit_unknown(std::string_view text, std::vector<int32_t>& out) const {
  if (options_.symbols == BpeSymbols::kByteLevel) return;  // malformed vocabulary: dropped
  bool all = true;
  for (char c : text) all = all && fallback_ids_[static_cast<uint8_t>(c)] >= 0;
  if (!all) {
    if (unk_ >= 0) out.push_back(unk_);
    return;
  }
  for (char c : text) out.push_back(fallback_ids_[static_cast<uint8_t>(c)]);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (const int32_t whole = whole_word_id(word); whole >= 0) {
    out.push_back(whole);
    return;
  }
  const bool utf8 = options_.symbols == BpeSymbols::kUtf8;
  // [n] one symbol per byte (byte-level) or per character (UTF-8); begin/size locate its text.
  std::vector<int32_t> ids, next, prev;
  std::vector<uint32_t> begin;
  for (size_t pos = 0; pos < word.size();) {
    size_t len = utf8 ? utf8_sequence_length(word, pos) : 1;
    if (len == 0) len = 1;
    ids.push_back(symbol_id(word.substr(pos, len)));
    begin.push_back(static_cast<uint32_t>(pos));
    pos += len;
  }
  const auto n = static_cast<int32_t>(ids.size());
  begin.push_back(static_cast<uint32_t>(word.size()));
  next.resize(n);
  prev.resize(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate> heap;
  auto push = [&](int32_t l) {
    if (l < 0 || next[l] < 0) return;
    if (const Merge* m = find_merge(ids[l], ids[next[l]])) {
      heap.push(Candidate{m->rank, l, ids[l], ids[next[l]]});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int32_t r = next[c.left];
    // Stale if either side changed since the candidate was pushed.
    if (r < 0 || ids[c.left] != c.left_id || ids[r] != c.right_id) continue;
    ids[c.left] = find_merge(c.left_id, c.right_id)->id;
    next[c.left] = next[r];
    if (next[r] >= 0) prev[next[r]] = c.left;
    next[r] = -1;
    push(prev[c.left]);
    push(c.left);
  }
  // Merged symbols are tokens; only an unmerged character can lack one.
  for (int32_t i = 0; i >= 0; i = next[i]) {
    if (ids[i] >= 0) {
      out.push_back(ids[i]);
    } else {
      emit_unknown(word.substr(begin[i], begin[i + 1] - begin[i]), out);
    }
  }
}

}  // namespace silica
