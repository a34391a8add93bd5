// SentencePiece BPE merge loop: best score first, leftmost among equal scores.
#include "tokenizer/spm.h"

#include <queue>

#include "tokenizer/utf8.h"

namespace silica {

std::vector<int32_t> find_byte_tokens(const TokenIndex& index) {
  std::vector<int32_t> ids(256, -1);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char name[] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    ids[b] = index.find(std::string_view(name, sizeof(name)));
  }
  return ids;
}

Expected<SpmModel> SpmModel::create(const Vocab& vocab) {
  if (vocab.scores.size() != vocab.tokens.size()) {
    return make_error(
        "tokenizer: SentencePiece vocabulary needs one score per token (tokenizer.ggml.scores), "
        "found {} scores for {} tokens",
        vocab.scores.size(), vocab.tokens.size());
  }
  SpmModel m;
  m.index_ = TokenIndex(vocab.tokens);
  m.scores_ = vocab.scores;
  m.byte_ids_ = find_byte_tokens(m.index_);
  m.unk_ = vocab.unk;
  return m;
}

int32_t SpmModel::find(std::string_view text) const {
  return index_.find(text);
}

// A character with no token of its own: its bytes as <0xAB> tokens. Old vocabularies without
// byte tokens may hold the raw single byte as a token instead; failing both, the unknown token.
void SpmModel::emit_unknown(std::string_view text, std::vector<int32_t>& out) const {
  for (char c : text) {
    int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id < 0) id = find(std::string_view(&c, 1));
    if (id < 0) id = unk_;
    if (id >= 0) out.push_back(id);
  }
}

namespace {

struct Symbol {
  uint32_t begin, size;  // byte range in the text
  int32_t prev, next;    // linked list over live symbols, -1 at the ends
};

struct Bigram {
  float score;
  int32_t left;
  uint32_t size;  // bytes of the merged text: a changed side changes it, marking this stale
  // Highest score first; among equal scores the leftmost pair (SentencePiece, llama.cpp).
  bool operator<(const Bigram& o) const {
    return score != o.score ? score < o.score : left > o.left;
  }
};

}  // namespace

void SpmModel::encode(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Symbol> syms;  // [n_chars]
  syms.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    size_t len = utf8_sequence_length(text, pos);
    if (len == 0) len = 1;  // cannot happen on sanitized text; one byte keeps us moving
    const auto i = static_cast<int32_t>(syms.size());
    syms.push_back(Symbol{static_cast<uint32_t>(pos), static_cast<uint32_t>(len), i - 1, i + 1});
    pos += len;
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  std::priority_queue<Bigram> heap;
  auto try_pair = [&](int32_t l) {
    if (l < 0 || syms[l].next < 0) return;
    const Symbol& a = syms[l];
    const uint32_t n = a.size + syms[a.next].size;
    const int32_t id = find(text.substr(a.begin, n));
    if (id >= 0) heap.push(Bigram{scores_[id], l, n});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) try_pair(i);
  while (!heap.empty()) {
    const Bigram b = heap.top();
    heap.pop();
    Symbol& left = syms[b.left];
    if (left.size == 0 || left.next < 0) continue;
    Symbol& right = syms[left.next];
    if (left.size + right.size != b.size) continue;  // stale: a side merged meanwhile
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (left.next >= 0) syms[left.next].prev = b.left;
    try_pair(left.prev);
    try_pair(b.left);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    const std::string_view piece = text.substr(syms[i].begin, syms[i].size);
    const int32_t id = find(piece);
    if (id >= 0) {
      out.push_back(id);
    } else {
      emit_unknown(piece, out);  // only single characters can lack a token: merges make tokens
    }
  }
}

}  // namespace silica
