// Byte-level BPE merge loop and rank table construction.
#include "tokenizer/bpe.h"

#include <queue>

#include "tokenizer/byte_level.h"

namespace silica {

Expected<BpeModel> BpeModel::create(const Vocab& vocab, bool ignore_merges) {
  BpeModel m;
  m.ignore_merges_ = ignore_merges;
  m.text_to_id_.reserve(vocab.tokens.size());
  // Later duplicates win, as in llama.cpp's text -> id map.
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    m.text_to_id_[vocab.tokens[i]] = static_cast<int32_t>(i);
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    m.byte_to_id_[b] = m.text_to_id(byte_level_encode(std::string_view(&c, 1)));
  }
  if (vocab.merges.empty()) {
    return make_error(
        "tokenizer: BPE vocabulary (model '{}') has no merges "
        "(tokenizer.ggml.merges missing or empty)",
        vocab.model);
  }
  m.merges_.reserve(vocab.merges.size());
  for (size_t r = 0; r < vocab.merges.size(); ++r) {
    const std::string& s = vocab.merges[r];
    // Split at the first space after the first character: a merge side is never empty.
    const size_t sp = s.find(' ', 1);
    if (sp == std::string::npos) {
      return make_error("tokenizer: merge {} '{}' has no space separating its two sides", r, s);
    }
    const std::string_view left(s.data(), sp), right(s.data() + sp + 1, s.size() - sp - 1);
    const int32_t l = m.text_to_id(left), rt = m.text_to_id(right);
    const int32_t merged = m.text_to_id(std::string(left) + std::string(right));
    // A merge whose sides or result are not tokens can never fire on token ids: skip it.
    if (l < 0 || rt < 0 || merged < 0) continue;
    m.merges_.try_emplace(pair_key(l, rt), Merge{static_cast<int32_t>(r), merged});
  }
  return m;
}

int32_t BpeModel::text_to_id(std::string_view text) const {
  const auto it = text_to_id_.find(std::string(text));
  return it == text_to_id_.end() ? -1 : it->second;
}

const BpeModel::Merge* BpeModel::find_merge(int32_t left, int32_t right) const {
  if (left < 0 || right < 0) return nullptr;
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
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

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const int32_t whole = text_to_id(byte_level_encode(word));
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  const auto n = static_cast<int32_t>(word.size());
  std::vector<int32_t> ids(n), next(n), prev(n);  // [n] one symbol per byte to start
  for (int32_t i = 0; i < n; ++i) {
    ids[i] = byte_to_id_[static_cast<uint8_t>(word[i])];
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
  // A byte with no token of its own (only in malformed vocabularies) is dropped, like llama.cpp.
  for (int32_t i = 0; i >= 0; i = next[i]) {
    if (ids[i] >= 0) out.push_back(ids[i]);
  }
}

}  // namespace silica
