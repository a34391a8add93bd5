// Reads llama.cpp's own vocab-only GGUFs; expected values come from node-llama-cpp 3.22.1's
// independent GGUF parser (`node-llama-cpp inspect gguf --outputToJsonFile`).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/allocation_counter.h"
#include "format/gguf.h"

namespace silica {
namespace {

constexpr double kRmsEpsTol = 1e-12;
// A 128k-token vocabulary (7.8 MB of metadata, 408k strings) parses into views of the mapping,
// not copies: the allocations grow with the number of keys, not of array elements.
constexpr long kMaxOpenAllocations = 1000;

// The llama.cpp source tree (with models/), or "" when the test should be skipped.
std::string llama_src_or_skip() {
  const char* dir = std::getenv("SILICA_LLAMA_SRC");
  if (dir && *dir) return dir;
  const char* req = std::getenv("SILICA_REQUIRE_PEERS");
  if (req && std::string(req) == "1")
    ADD_FAILURE() << "SILICA_REQUIRE_PEERS=1 but SILICA_LLAMA_SRC is unset";
  return "";
}

size_t total_bytes(const std::vector<std::string_view>& v) {
  size_t n = 0;
  for (auto s : v) n += s.size();
  return n;
}

TEST(GgufRealFile, LlamaBpeVocab) {
  const std::string src = llama_src_or_skip();
  if (src.empty()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "SILICA_LLAMA_SRC is unset";
  }
  const std::string path = src + "/models/ggml-vocab-llama-bpe.gguf";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;

  const long allocations_before = testing::allocations();
  auto f = GgufFile::open(path);
  const long open_allocations = testing::allocations() - allocations_before;
  ASSERT_TRUE(f.ok()) << f.message();
  std::printf("  open: %ld allocations\n", open_allocations);
  EXPECT_LE(open_allocations, kMaxOpenAllocations);

  EXPECT_EQ(f->version(), 3u);
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_string("general.name"), "llama-bpe");
  EXPECT_EQ(f->get_int("general.file_type"), 1);
  EXPECT_EQ(f->get_int("llama.block_count"), 32);
  EXPECT_EQ(f->get_int("llama.context_length"), 8192);
  EXPECT_EQ(f->get_int("llama.embedding_length"), 4096);
  EXPECT_EQ(f->get_int("llama.feed_forward_length"), 14336);
  EXPECT_EQ(f->get_int("llama.attention.head_count"), 32);
  EXPECT_EQ(f->get_int("llama.attention.head_count_kv"), 8);
  EXPECT_EQ(f->get_int("llama.rope.dimension_count"), 128);
  EXPECT_EQ(f->get_int("llama.vocab_size"), 128256);
  EXPECT_EQ(f->get_float("llama.rope.freq_base"), 500000.0);
  EXPECT_NEAR(*f->get_float("llama.attention.layer_norm_rms_epsilon"), 9.999999747378752e-06,
              kRmsEpsTol);
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "llama-bpe");
  EXPECT_EQ(f->get_int("tokenizer.ggml.bos_token_id"), 128000);
  EXPECT_EQ(f->get_int("tokenizer.ggml.eos_token_id"), 128001);

  const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 128256u);
  EXPECT_EQ(tokens[0], "!");
  EXPECT_EQ(tokens[198], "\xC4\x8A");  // "Ċ": byte-level newline
  EXPECT_EQ(tokens[1000], "indow");
  EXPECT_EQ(tokens[128000], "<|begin_of_text|>");
  EXPECT_EQ(tokens[128255], "<|reserved_special_token_250|>");
  EXPECT_EQ(total_bytes(tokens), 1073445u);  // UTF-8 bytes over all tokens
  const uint8_t* map_begin = f->mapping().data();
  const uint8_t* map_end = map_begin + f->mapping().size();
  for (size_t i : {size_t(0), size_t(128255)}) {
    const auto* p = reinterpret_cast<const uint8_t*>(tokens[i].data());
    EXPECT_TRUE(p >= map_begin && p + tokens[i].size() <= map_end) << "token " << i << " copied";
  }

  const auto merges = f->get_string_array("tokenizer.ggml.merges");
  ASSERT_EQ(merges.size(), 280147u);
  EXPECT_EQ(merges[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ"
  EXPECT_EQ(merges[1000],
            "\xC4\xA0"
            "els e");
  EXPECT_EQ(total_bytes(merges), 2963589u);

  const auto types = f->get_int_array("tokenizer.ggml.token_type");
  ASSERT_EQ(types.size(), 128256u);
  size_t n_normal = 0, n_control = 0;
  for (int64_t t : types) (t == 1 ? n_normal : n_control) += (t == 1 || t == 3) ? 1 : 0;
  EXPECT_EQ(n_normal, 128000u);
  EXPECT_EQ(n_control, 256u);
  EXPECT_EQ(types[128000], 3);
}

// Every vocab GGUF in the tree opens, and its token list matches its declared vocabulary.
TEST(GgufRealFile, EveryVocabFileOpens) {
  const std::string src = llama_src_or_skip();
  if (src.empty()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "SILICA_LLAMA_SRC is unset";
  }
  size_t n_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(src + "/models")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ggml-vocab-", 0) != 0 || e.path().extension() != ".gguf") continue;
    SCOPED_TRACE(name);
    auto f = GgufFile::open(e.path().string());
    ASSERT_TRUE(f.ok()) << f.message();
    EXPECT_FALSE(f->get_string_array("tokenizer.ggml.tokens").empty());
    EXPECT_TRUE(f->get_string("tokenizer.ggml.model").has_value());
    ++n_files;
  }
  EXPECT_GE(n_files, 15u);
}

}  // namespace
}  // namespace silica
