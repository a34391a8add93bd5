// The grammar constraint over the real 128k Llama 3 vocabulary: random logits, JSON schemas,
// every output valid; time per token reported, the work per token counted and bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "grammar_test_util.h"
#include "model/vocab_loader.h"
#include "sample/json_schema.h"
#include "tokenizer/tokenizer.h"

namespace silica {
namespace {

using test::OJson;

constexpr int kGenerations = 50;
constexpr int kMaxTokens = 512;
// The constraint's work is counted, not timed (the host's speed moves). A mask walk visits a trie
// node at most once, and a JSON grammar keeps a handful of parse stacks alive (2.7 per node inside
// a string when this was written).
constexpr uint64_t kMaxStacksPerNode = 4;
// Outside strings the walk is pruned at the first bytes: over a whole generation the mean walk
// must stay a small part of the trie (1/100 when this was written; a walk of the whole trie per
// token is what this catches).
constexpr uint64_t kMinTrieFractionPerToken = 16;

class LlamaVocabGrammar : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* src = std::getenv("SILICA_LLAMA_SRC");
    if (!src) return;
    auto file = GgufFile::open(std::string(src) + "/models/ggml-vocab-llama-bpe.gguf");
    ASSERT_TRUE(file.ok()) << file.message();
    auto vocab = vocab_from_gguf(*file);
    ASSERT_TRUE(vocab.ok()) << vocab.message();
    auto tok = Tokenizer::create(std::move(*vocab));
    ASSERT_TRUE(tok.ok()) << tok.message();
    pieces_ = new std::vector<std::string>();
    for (int32_t id = 0; id < tok->n_vocab(); ++id) pieces_->push_back(tok->token_to_piece(id));
    eog_ = new std::vector<int32_t>(tok->vocab().eog_ids);
    trie_ =
        new std::shared_ptr<const TokenTrie>(std::make_shared<const TokenTrie>(*pieces_, *eog_));
  }
  static void TearDownTestSuite() {
    delete pieces_;
    delete eog_;
    delete trie_;
  }
  void SetUp() override {
    if (pieces_) return;
    const char* r = std::getenv("SILICA_REQUIRE_PEERS");
    if (r && std::string(r) == "1") FAIL() << "SILICA_REQUIRE_PEERS=1 but SILICA_LLAMA_SRC unset";
    GTEST_SKIP() << "SILICA_LLAMA_SRC unset (a llama.cpp source clone with models/)";
  }

  static std::vector<std::string>* pieces_;
  static std::vector<int32_t>* eog_;
  static std::shared_ptr<const TokenTrie>* trie_;
};

std::vector<std::string>* LlamaVocabGrammar::pieces_ = nullptr;
std::vector<int32_t>* LlamaVocabGrammar::eog_ = nullptr;
std::shared_ptr<const TokenTrie>* LlamaVocabGrammar::trie_ = nullptr;

// Strings are bounded: with 128k random tokens a closing quote is a few-in-ten-thousand event,
// so an unbounded string would run for thousands of tokens.
const char kSchema[] = R"({"type": "object", "properties": {
  "name": {"type": "string", "maxLength": 12},
  "age": {"type": "integer"},
  "ok": {"type": "boolean"},
  "score": {"type": ["number", "null"]},
  "tags": {"type": "array", "items": {"enum": ["a", "b", "héllo"]}, "maxItems": 3},
  "when": {"type": "string", "format": "date"}},
  "required": ["name", "age", "tags"], "additionalProperties": false})";

TEST_F(LlamaVocabGrammar, RandomLogitsSchemaOutputsValidate) {
  const OJson schema = OJson::parse(kSchema);
  auto g = json_schema_grammar(kSchema);
  ASSERT_TRUE(g.ok()) << g.message();
  GrammarConstraint c(std::make_shared<const Grammar>(std::move(*g)), *trie_);
  test::SchemaValidator validator(schema);
  int64_t tokens = 0;
  double constrained_ms = 0, plain_ms = 0;
  for (int i = 0; i < kGenerations; ++i) {
    test::Generation gen = test::generate_random(c, *pieces_, *eog_, 77 + uint64_t(i), kMaxTokens);
    ASSERT_TRUE(gen.error.empty()) << gen.error;
    ASSERT_TRUE(gen.finished) << "hit the length cap: " << gen.text;
    tokens += gen.n_tokens + 1;
    constrained_ms += gen.constrained_ms;
    plain_ms += gen.plain_ms;
    OJson j;
    try {
      j = OJson::parse(gen.text);
    } catch (const std::exception& e) {
      FAIL() << "does not parse: " << gen.text << "\n" << e.what();
    }
    const std::string err = validator.check(j);
    ASSERT_TRUE(err.empty()) << err << "\noutput: " << gen.text;
    if (i < 3) std::printf("  sample output: %s\n", gen.text.c_str());
  }
  const double per_token = (constrained_ms - plain_ms) / double(tokens);
  const GrammarConstraint::Work& w = c.work();
  const auto n_tokens = uint64_t(tokens), trie_nodes = uint64_t((*trie_)->nodes().size());
  std::printf(
      "  %lld tokens; per token: constrained draw + accept %.3f ms, plain draw %.3f ms, "
      "constraint cost %.3f ms; %llu masks, %.0f trie nodes and %.0f stack steps per token\n",
      (long long)tokens, constrained_ms / double(tokens), plain_ms / double(tokens), per_token,
      (unsigned long long)w.masks_computed, double(w.trie_nodes) / double(tokens),
      double(w.stack_steps) / double(tokens));
  EXPECT_LE(w.masks_computed, n_tokens) << "at most one uncached mask per draw";
  EXPECT_LE(w.trie_nodes, n_tokens * trie_nodes / kMinTrieFractionPerToken);
  EXPECT_LE(w.stack_steps, kMaxStacksPerNode * n_tokens * trie_nodes / kMinTrieFractionPerToken);
  EXPECT_GT(w.trie_nodes, 0u);  // the counter counts
}

TEST_F(LlamaVocabGrammar, FullMaskWalkVisitsEachTrieNodeOnce) {
  auto g = json_grammar();
  ASSERT_TRUE(g.ok()) << g.message();
  GrammarConstraint c(std::make_shared<const Grammar>(std::move(*g)), *trie_);
  // Feed {"k by tokens: find single-character tokens for each byte.
  for (char ch : std::string("{\"k")) {
    int32_t id = -1;
    for (int32_t i = 0; i < int32_t(pieces_->size()) && id < 0; ++i) {
      if ((*pieces_)[size_t(i)] == std::string(1, ch)) id = i;
    }
    ASSERT_GE(id, 0);
    ASSERT_TRUE(c.accept(id));
  }
  const auto trie_nodes = uint64_t((*trie_)->nodes().size());
  const GrammarConstraint::Work before = c.work();
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<uint64_t>& mask = c.allowed_mask();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const GrammarConstraint::Work inside = c.work();
  size_t n_allowed = 0;
  for (uint64_t w : mask) n_allowed += size_t(__builtin_popcountll(w));
  std::printf(
      "  full mask inside a string: %.2f ms, %zu of %zu tokens allowed, %llu of %llu trie nodes "
      "visited, %llu stack steps\n",
      ms, n_allowed, pieces_->size(), (unsigned long long)(inside.trie_nodes - before.trie_nodes),
      (unsigned long long)trie_nodes,
      (unsigned long long)(inside.stack_steps - before.stack_steps));
  EXPECT_GT(n_allowed, pieces_->size() / 2);
  EXPECT_EQ(inside.masks_computed, before.masks_computed + 1);
  // Nearly every token is allowed, so the walk covers nearly the whole trie, each node once.
  EXPECT_LE(inside.trie_nodes - before.trie_nodes, trie_nodes);
  EXPECT_GT(inside.trie_nodes - before.trie_nodes, trie_nodes / 2);
  EXPECT_LE(inside.stack_steps - before.stack_steps, kMaxStacksPerNode * trie_nodes);
  // The same state again comes from the cache: no walk.
  c.allowed_mask();
  EXPECT_EQ(c.work().trie_nodes, inside.trie_nodes);
  // Outside a string (right after '{') the walk is pruned at the first bytes.
  c.reset();
  const std::vector<uint64_t>& m2 = c.allowed_mask();
  n_allowed = 0;
  for (uint64_t w : m2) n_allowed += size_t(__builtin_popcountll(w));
  const uint64_t pruned = c.work().trie_nodes - inside.trie_nodes;
  std::printf("  full mask at the start: %zu tokens allowed, %llu trie nodes visited\n", n_allowed,
              (unsigned long long)pruned);
  EXPECT_GT(n_allowed, 0u);
  EXPECT_LE(pruned, trie_nodes / 100);
}

}  // namespace
}  // namespace silica
