// Model path detection over folders and files the test writes: GGUF, safetensors (single and
// sharded with an index), MLX (packed uint32 weights), and folders that are not models.
#include "format/model_folder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "format/safetensors.h"

namespace silica {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& tag) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path p = fs::path(::testing::TempDir()) / ("silica_mf_" + std::string(info->name()) + "_" +
                                                 std::to_string(getpid()) + "_" + tag);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A tensor of zeros with the given dtype and shape.
struct Spec {
  std::string name;
  StDtype dtype;
  std::vector<int64_t> shape;
};
void write_tensors(const fs::path& p, const std::vector<Spec>& specs) {
  std::vector<std::string> data;
  std::vector<StWriteTensor> ts;
  for (const Spec& s : specs) {
    int64_t n = 1;
    for (int64_t d : s.shape) n *= d;
    data.emplace_back(size_t(n) * st_dtype_size(s.dtype), '\0');
  }
  for (size_t i = 0; i < specs.size(); ++i)
    ts.push_back({specs[i].name, specs[i].dtype, specs[i].shape, data[i]});
  ASSERT_TRUE(write_safetensors(p.string(), ts).ok());
}

TEST(ParameterSize, OllamaSpelling) {
  EXPECT_EQ(parameter_size_label(1235814400), "1.2B");  // llama3.2 1B
  EXPECT_EQ(parameter_size_label(8030261248), "8.0B");  // llama3 8B: not whole, one decimal
  EXPECT_EQ(parameter_size_label(7000000000), "7B");
  EXPECT_EQ(parameter_size_label(494032768), "494.03M");  // qwen2 0.5B
  EXPECT_EQ(parameter_size_label(135000000), "135M");
  EXPECT_EQ(parameter_size_label(20544), "21K");
  EXPECT_EQ(parameter_size_label(20), "20");
}

TEST(ModelFolder, SafetensorsFolder) {
  fs::path dir = fresh_dir("hf");
  write_text(dir / "config.json",
             R"({"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":64})");
  write_tensors(dir / "model.safetensors",
                {{"model.embed_tokens.weight", StDtype::kBF16, {100, 64}},
                 {"model.layers.0.self_attn.q_proj.weight", StDtype::kBF16, {64, 64}},
                 {"model.layers.0.self_attn.q_proj.bias", StDtype::kBF16, {64}},
                 {"model.norm.weight", StDtype::kF32, {64}}});
  write_text(dir / "tokenizer.json", "{}");
  auto d = describe_model_path(dir.string());
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->format, "safetensors");
  EXPECT_EQ(d->family, "qwen2");
  EXPECT_EQ(d->families, std::vector<std::string>{"qwen2"});
  EXPECT_EQ(d->n_params, 6400 + 4096 + 64 + 64);
  EXPECT_EQ(d->parameter_size, "11K");
  EXPECT_EQ(d->quantization_level, "BF16");
  EXPECT_EQ(d->weight_files, std::vector<std::string>{"model.safetensors"});
  const std::string msg = folder_not_runnable_message(*d);
  EXPECT_NE(msg.find("cannot run it yet"), std::string::npos) << msg;
  EXPECT_NE(msg.find("GGUF"), std::string::npos) << msg;
}

TEST(ModelFolder, ShardedWithIndexAndFamilyFromArchitectures) {
  fs::path dir = fresh_dir("sharded");
  write_text(dir / "config.json", R"({"architectures":["LlamaForCausalLM"]})");
  write_tensors(dir / "model-00001-of-00002.safetensors", {{"a.weight", StDtype::kF16, {8, 8}}});
  write_tensors(dir / "model-00002-of-00002.safetensors", {{"b.weight", StDtype::kF16, {8, 4}}});
  write_tensors(dir / "stray.safetensors", {{"c.weight", StDtype::kF32, {1000, 1000}}});
  write_text(dir / "model.safetensors.index.json",
             R"({"metadata":{"total_size":192},"weight_map":{)"
             R"("a.weight":"model-00001-of-00002.safetensors",)"
             R"("b.weight":"model-00002-of-00002.safetensors"}})");
  auto d = describe_model_path(dir.string());
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->family, "llama");
  EXPECT_EQ(d->n_params, 64 + 32);  // the stray file is not in the index
  EXPECT_EQ(d->quantization_level, "F16");
  EXPECT_EQ(d->weight_files.size(), 2u);
}

TEST(ModelFolder, MlxPackedWeights) {
  fs::path dir = fresh_dir("mlx");
  // 4-bit, group 64: a [rows, 64] matrix packs into [rows, 64*4/32 = 8] uint32 words.
  // q_proj overrides to 8 bits: [64, 64*8/32 = 16] words.
  write_text(dir / "config.json",
             R"({"model_type":"llama","quantization":{"group_size":64,"bits":4,)"
             R"("model.layers.0.self_attn.q_proj":{"group_size":64,"bits":8}}})");
  write_tensors(dir / "model.safetensors",
                {{"model.embed_tokens.weight", StDtype::kU32, {256, 8}},
                 {"model.embed_tokens.scales", StDtype::kBF16, {256, 1}},
                 {"model.embed_tokens.biases", StDtype::kBF16, {256, 1}},
                 {"model.layers.0.self_attn.q_proj.weight", StDtype::kU32, {64, 16}},
                 {"model.layers.0.self_attn.q_proj.scales", StDtype::kBF16, {64, 1}},
                 {"model.layers.0.self_attn.q_proj.biases", StDtype::kBF16, {64, 1}},
                 {"model.norm.weight", StDtype::kBF16, {64}}});
  auto d = describe_model_path(dir.string());
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->format, "mlx");
  EXPECT_EQ(d->family, "llama");
  EXPECT_EQ(d->n_params, 256 * 64 + 64 * 64 + 64);
  EXPECT_EQ(d->parameter_size, "21K");
  EXPECT_EQ(d->quantization_level, "Q4_G64");
}

TEST(ModelFolder, GgufFile) {
  fs::path dir = fresh_dir("gguf");
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("general.file_type", 15);
  w.add_tensor("w", DType::kF32, {4, 4}, std::vector<uint8_t>(64));
  w.add_tensor("n", DType::kF32, {4}, std::vector<uint8_t>(16));
  ASSERT_TRUE(w.write((dir / "m.gguf").string()).ok());
  auto d = describe_model_path((dir / "m.gguf").string());
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->format, "gguf");
  EXPECT_EQ(d->family, "llama");
  EXPECT_EQ(d->n_params, 20);
  EXPECT_EQ(d->quantization_level, "Q4_K_M");
  w.remove("general.file_type");  // then the type holding most matrix bytes
  ASSERT_TRUE(w.write((dir / "m.gguf").string()).ok());
  d = describe_model_path((dir / "m.gguf").string());
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->quantization_level, "F32");
}

TEST(ModelFolder, NotModelsGiveClearErrors) {
  fs::path dir = fresh_dir("bad");
  auto none = describe_model_path((dir / "absent").string());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.message().find("no such file or folder"), std::string::npos);

  auto no_config = describe_model_path(dir.string());
  ASSERT_FALSE(no_config.ok());
  EXPECT_NE(no_config.message().find("without config.json"), std::string::npos);

  write_text(dir / "config.json", R"({"model_type":"llama"})");
  auto no_weights = describe_model_path(dir.string());
  ASSERT_FALSE(no_weights.ok());
  EXPECT_NE(no_weights.message().find("no .safetensors"), std::string::npos);

  write_text(dir / "model.safetensors.index.json",
             R"({"weight_map":{"a.weight":"../escape.safetensors"}})");
  auto escape = describe_model_path(dir.string());
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.message().find("'a.weight'"), std::string::npos) << escape.message();

  write_text(dir / "model.safetensors.index.json",
             R"({"weight_map":{"a.weight":"model-1.safetensors"}})");
  auto missing = describe_model_path(dir.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("missing"), std::string::npos) << missing.message();

  fs::remove(dir / "model.safetensors.index.json");
  write_text(dir / "model.safetensors", "garbage");
  auto damaged = describe_model_path(dir.string());
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.message().find("model.safetensors"), std::string::npos) << damaged.message();

  write_text(dir / "config.json", "{broken");
  auto bad_config = describe_model_path(dir.string());
  ASSERT_FALSE(bad_config.ok());
  EXPECT_NE(bad_config.message().find("config.json"), std::string::npos);
}

}  // namespace
}  // namespace silica
