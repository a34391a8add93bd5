// Hugging Face folders run natively: logits on a folder equal logits on the GGUF of the same
// weights (llama q/k rows un-permuted, NeoX RoPE; qwen2 biases; tied / untied; GQA; llama3 rope
// scaling; F32 / F16 / BF16; one or two shards), and damaged folders give errors that name the
// file and what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numbers>

#include "common/tiny_model.h"
#include "format/safetensors.h"
#include "model/hf_config.h"
#include "model/hf_export.h"
#include "model/hf_folder.h"
#include "model/model.h"

namespace silica {
namespace {

namespace fs = std::filesystem;
using testing::TinyModelSpec;
using testing::write_tiny_model;

// The folder and the GGUF hold the same bits; only the order of the q.k sums differs (RoPE pairs
// (i, i+d/2) on HF rows vs (2i, 2i+1) on permuted rows), so logits agree to float rounding.
constexpr float kTolHfVsGguf = 1e-4f;
// Another seed must move the logits far more than the tolerance (the comparison discriminates).
constexpr float kMinSeedDifference = 100 * kTolHfVsGguf;
constexpr float kTolRopeFactor = 1e-6f;

const std::vector<int32_t> kPrompt = {1, 17, 42, 5, 88, 23, 61, 7, 90, 33, 2, 71};

std::string tmp_path(const std::string& name) {
  return (fs::temp_directory_path() / (std::to_string(getpid()) + "_" + name)).string();
}

// All logits of kPrompt evaluated in one batch.
std::vector<float> prompt_logits(const std::string& path) {
  auto m = load_model(path);
  EXPECT_TRUE(m.ok()) << m.message();
  if (!m.ok()) return {};
  const Model& model = *m.value();
  ForwardOptions o;
  o.n_ctx = 64;
  o.n_batch = 32;
  o.n_threads = 2;
  auto st = ForwardState::create(model.hparams(), o);
  EXPECT_TRUE(st.ok()) << st.message();
  std::vector<float> logits(kPrompt.size() * size_t(model.hparams().n_vocab));
  Batch b;
  for (size_t i = 0; i < kPrompt.size(); ++i) b.add(kPrompt[i], int32_t(i), 0, true);
  Status s = model.forward(b, *st.value(), logits.data());
  EXPECT_TRUE(s.ok()) << s.message();
  return logits;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

// Meta's reference Llama 3.1 scaling, written in terms of frequencies (the test's oracle):
// returns the divisor old_freq / new_freq per frequency.
std::vector<float> oracle_llama3_divisors(double factor, double low, double high, double orig,
                                          double theta, int64_t dims) {
  std::vector<float> out;
  for (int64_t i = 0; i < dims; i += 2) {
    const double freq = 1.0 / std::pow(theta, double(i) / double(dims));
    const double wavelen = 2 * std::numbers::pi / freq;
    double new_freq = freq;
    if (wavelen > orig / low) {
      new_freq = freq / factor;
    } else if (wavelen >= orig / high) {
      const double smooth = (orig / wavelen - low) / (high - low);
      new_freq = (1 - smooth) * freq / factor + smooth * freq;
    }
    out.push_back(float(freq / new_freq));
  }
  return out;
}

// Rewrites a tiny llama GGUF with Llama 3.1 rope scaling keys and rope_freqs.weight.
std::string add_llama3_rope(const std::string& in, const std::string& name) {
  auto f = GgufFile::open(in);
  EXPECT_TRUE(f.ok()) << f.message();
  GgufWriter w;
  for (const auto& [k, v] : f->metadata()) w.set_value(k, v);
  const int64_t hd =
      *f->get_int("llama.embedding_length") / *f->get_int("llama.attention.head_count");
  w.set_string("llama.rope.scaling.type", "none");
  w.set_f32("llama.rope.scaling.factor", 8.0f);
  w.set_f32("llama.rope.scaling.low_freq_factor", 1.0f);
  w.set_f32("llama.rope.scaling.high_freq_factor", 4.0f);
  w.set_u32("llama.rope.scaling.original_context_length", 64);
  const auto div = oracle_llama3_divisors(8, 1, 4, 64, 10000.0, hd);
  std::vector<uint8_t> bytes(div.size() * 4);
  std::memcpy(bytes.data(), div.data(), bytes.size());
  w.add_tensor("rope_freqs.weight", DType::kF32, {int64_t(div.size())}, std::move(bytes));
  for (const auto& t : f->tensors())
    w.add_tensor(t.name, t.type, t.ne, std::vector<uint8_t>(t.data, t.data + t.nbytes));
  const std::string out = tmp_path(name);
  EXPECT_TRUE(w.write(out).ok());
  return out;
}

std::string export_folder(const std::string& gguf, const std::string& name, int shards = 1) {
  auto f = GgufFile::open(gguf);
  EXPECT_TRUE(f.ok()) << f.message();
  const std::string dir = tmp_path(name);
  fs::remove_all(dir);
  HfExportOptions o;
  o.n_shards = shards;
  Status s = write_hf_folder(*f, dir, o);
  EXPECT_TRUE(s.ok()) << s.message();
  return dir;
}

struct HfCase {
  const char* label;
  const char* arch;
  DType type;
  bool tied;
  bool llama3_rope;
  int shards;
};

class HfVsGguf : public ::testing::TestWithParam<HfCase> {};

TEST_P(HfVsGguf, FolderLogitsEqualGgufLogits) {
  const HfCase& c = GetParam();
  TinyModelSpec s;
  s.arch = c.arch;
  s.type = c.type;
  s.tied = c.tied;
  s.n_head = 4;
  s.n_head_kv = 2;  // grouped-query attention
  std::string gguf = write_tiny_model(s, std::string("hf_") + c.label + ".gguf");
  if (c.llama3_rope) gguf = add_llama3_rope(gguf, std::string("hf_") + c.label + "_l3.gguf");
  const std::string dir = export_folder(gguf, std::string("hf_") + c.label, c.shards);
  const auto want = prompt_logits(gguf);
  const auto got = prompt_logits(dir);
  ASSERT_FALSE(want.empty());
  EXPECT_LE(max_abs_diff(want, got), kTolHfVsGguf);

  s.seed = 2;  // the comparison can fail: other weights give other logits
  const auto other = prompt_logits(write_tiny_model(s, std::string("hf2_") + c.label + ".gguf"));
  EXPECT_GT(max_abs_diff(want, other), kMinSeedDifference);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HfVsGguf,
    ::testing::Values(HfCase{"llama_f32", "llama", DType::kF32, false, false, 1},
                      HfCase{"llama_f32_tied", "llama", DType::kF32, true, false, 1},
                      HfCase{"llama_f16_shards", "llama", DType::kF16, false, false, 2},
                      HfCase{"llama_bf16_tied", "llama", DType::kBF16, true, false, 1},
                      HfCase{"llama3_rope", "llama", DType::kF32, false, true, 2},
                      HfCase{"qwen2_f32", "qwen2", DType::kF32, false, false, 1},
                      HfCase{"qwen2_bf16_tied", "qwen2", DType::kBF16, true, false, 2}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(HfConfig, Llama3FactorsFollowMetasFormula) {
  const Llama3RopeScaling r{8.0, 1.0, 4.0, 8192};
  const auto got = llama3_rope_freq_factors(r, 500000.0, 128);
  const auto want = oracle_llama3_divisors(8, 1, 4, 8192, 500000.0, 128);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_FLOAT_EQ(got.front(), 1.0f);  // the highest frequency is kept
  EXPECT_FLOAT_EQ(got.back(), 8.0f);   // the lowest is divided by the factor
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], kTolRopeFactor) << i;
}

TEST(HfFolder, NamesMapToSilica) {
  EXPECT_EQ(hf_to_silica_tensor_name("model.layers.12.self_attn.q_proj.weight"),
            "blk.12.attn_q.weight");
  EXPECT_EQ(hf_to_silica_tensor_name("model.layers.0.mlp.down_proj.weight"),
            "blk.0.ffn_down.weight");
  EXPECT_EQ(hf_to_silica_tensor_name("model.layers.3.post_attention_layernorm.weight"),
            "blk.3.ffn_norm.weight");
  EXPECT_EQ(hf_to_silica_tensor_name("lm_head.weight"), "output.weight");
  EXPECT_EQ(hf_to_silica_tensor_name("model.layers.1.self_attn.rotary_emb.inv_freq"), "");
}

// ---- damaged folders ----

nlohmann::json read_config(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "config.json");
  return nlohmann::json::parse(in);
}
void write_config(const std::string& dir, const nlohmann::json& j) {
  std::ofstream(fs::path(dir) / "config.json") << j.dump(2);
}

std::string good_folder(const std::string& name, int shards = 1) {
  TinyModelSpec s;
  return export_folder(write_tiny_model(s, name + ".gguf"), name, shards);
}

std::string load_error(const std::string& dir) {
  auto m = load_model(dir);
  EXPECT_FALSE(m.ok());
  return m.ok() ? "" : m.message();
}

TEST(HfDamage, MissingConfigKeyIsNamed) {
  const std::string dir = good_folder("hf_dmg_key");
  auto j = read_config(dir);
  j.erase("num_attention_heads");
  write_config(dir, j);
  const std::string e = load_error(dir);
  EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  EXPECT_NE(e.find("num_attention_heads"), std::string::npos) << e;
}

TEST(HfDamage, MissingShardIsNamed) {
  const std::string dir = good_folder("hf_dmg_shard", 2);
  fs::remove(fs::path(dir) / "model-00002-of-00002.safetensors");
  const std::string e = load_error(dir);
  EXPECT_NE(e.find("model-00002-of-00002.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
}

TEST(HfDamage, WrongShapeNamesTensorAndFile) {
  const std::string dir = good_folder("hf_dmg_shape");
  auto j = read_config(dir);
  j["intermediate_size"] = 80;  // the stored MLP matrices have 96
  write_config(dir, j);
  const std::string e = load_error(dir);
  EXPECT_NE(e.find("blk.0.ffn_gate.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("[96, 64]"), std::string::npos) << e;  // safetensors order [out, in]
}

TEST(HfDamage, UnsupportedDtypeIsNamed) {
  const std::string dir = good_folder("hf_dmg_dtype");
  const std::string file = (fs::path(dir) / "model.safetensors").string();
  std::vector<std::string> bytes;
  std::vector<StWriteTensor> ts;
  {
    auto f = SafetensorsFile::open(file);
    ASSERT_TRUE(f.ok()) << f.message();
    bytes.reserve(f->tensors().size());
    for (const auto& t : f->tensors()) {
      bytes.emplace_back(reinterpret_cast<const char*>(f->data(t)), t.nbytes());
      ts.push_back(
          {t.name, t.name == "model.norm.weight" ? StDtype::kI32 : t.dtype, t.shape, bytes.back()});
    }
  }
  ASSERT_TRUE(write_safetensors(file, ts).ok());
  const std::string e = load_error(dir);
  EXPECT_NE(e.find("model.norm.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("I32"), std::string::npos) << e;
}

TEST(HfDamage, UnsupportedArchitectureAndMlxAreClear) {
  const std::string dir = good_folder("hf_dmg_arch");
  auto j = read_config(dir);
  j["architectures"] = {"GPT2LMHeadModel"};
  write_config(dir, j);
  std::string e = load_error(dir);
  EXPECT_NE(e.find("GPT2LMHeadModel"), std::string::npos) << e;
  EXPECT_NE(e.find("LlamaForCausalLM"), std::string::npos) << e;  // lists what is supported

  j["architectures"] = {"LlamaForCausalLM"};
  j["quantization"] = {{"bits", 4}, {"group_size", 64}};
  write_config(dir, j);
  e = load_error(dir);
  EXPECT_NE(e.find("MLX"), std::string::npos) << e;
  EXPECT_NE(e.find("not supported yet"), std::string::npos) << e;
}

TEST(HfDamage, UntiedWithoutLmHeadAndVocabMismatch) {
  TinyModelSpec s;
  s.tied = true;
  const std::string dir = export_folder(write_tiny_model(s, "hf_dmg_tie.gguf"), "hf_dmg_tie");
  auto j = read_config(dir);
  j["tie_word_embeddings"] = false;
  write_config(dir, j);
  std::string e = load_error(dir);
  EXPECT_NE(e.find("lm_head.weight"), std::string::npos) << e;

  j["tie_word_embeddings"] = true;
  j["vocab_size"] = 100;
  write_config(dir, j);
  e = load_error(dir);
  EXPECT_NE(e.find("vocab_size"), std::string::npos) << e;
}

TEST(HfFolder, ChatTemplateFromJinjaFileFirstThenTokenizerConfig) {
  const std::string dir = good_folder("hf_tmpl");
  std::ofstream(fs::path(dir) / "tokenizer_config.json")
      << R"({"chat_template": "{{ messages[0].content }}"})";
  auto m = load_model(dir);
  ASSERT_TRUE(m.ok()) << m.message();
  ASSERT_TRUE(m.value()->chat_template().has_value());
  EXPECT_EQ(*m.value()->chat_template(), "{{ messages[0].content }}");
  std::ofstream(fs::path(dir) / "chat_template.jinja") << "jinja file";
  auto m2 = load_model(dir);
  ASSERT_TRUE(m2.ok()) << m2.message();
  EXPECT_EQ(m2.value()->chat_template().value_or(""), "jinja file");
}

// Llama 3.1 tokenizer.json files add BOS through Sequence [ByteLevel, TemplateProcessing]; the
// vocabulary is padded with unused tokens up to the embedding rows.
TEST(HfFolder, VocabFromTokenizerJsonIsPaddedAndAddsBos) {
  const std::string dir = tmp_path("hf_vocab");
  fs::create_directories(dir);
  std::ofstream(fs::path(dir) / "tokenizer.json") << R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "added_tokens": [{"id": 3, "content": "<s>", "special": true}],
    "post_processor": {"type": "Sequence", "processors": [
      {"type": "ByteLevel", "trim_offsets": false},
      {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                {"Sequence": {"id": "A", "type_id": 0}}]}]}})";
  std::ofstream(fs::path(dir) / "tokenizer_config.json") << R"({"bos_token": "<s>"})";
  auto v = vocab_from_hf_folder(dir, 6);
  ASSERT_TRUE(v.ok()) << v.message();
  ASSERT_EQ(v->tokens.size(), 6u);
  EXPECT_EQ(v->tokens[5], "[PAD5]");
  EXPECT_EQ(v->token_types[5], kTokenUnused);
  EXPECT_EQ(v->bos, 3);
  EXPECT_TRUE(v->add_bos);
  auto small = vocab_from_hf_folder(dir, 3);  // fewer embedding rows than tokens
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.message().find("3 rows"), std::string::npos) << small.message();
}

}  // namespace
}  // namespace silica
