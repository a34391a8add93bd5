// Modelfile parsing (quoting, multi-line values, errors with line numbers), params typing,
// and the Hugging Face quant-file choice.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/modelfile.h"
#include "store/pull.h"

namespace silica {
namespace {

TEST(Modelfile, ParsesEveryInstruction) {
  const char* kText =
      "# comment\n"
      "FROM llama3:8b\n"
      "\n"
      "parameter temperature 0.7\n"
      "PARAMETER stop \"<|eot_id|>\"\n"
      "PARAMETER stop \"say \\\"end\\\"\"\n"
      "TEMPLATE \"\"\"{{ .System }}\n"
      "{{ .Prompt }}\"\"\"\n"
      "SYSTEM You are a pirate.\n"
      "ADAPTER ./lora.gguf\n"
      "LICENSE \"\"\"MIT\"\"\"\n"
      "MESSAGE user Is it sunny?\n"
      "MESSAGE assistant \"Yes.\"\n";
  auto mf = parse_modelfile(kText, "Modelfile");
  ASSERT_TRUE(mf.ok()) << mf.message();
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& c : mf->commands) got.emplace_back(c.name, c.args);
  std::vector<std::pair<std::string, std::string>> want = {
      {"from", "llama3:8b"},
      {"parameter", "temperature 0.7"},
      {"parameter", "stop <|eot_id|>"},
      {"parameter", "stop say \"end\""},
      {"template", "{{ .System }}\n{{ .Prompt }}"},
      {"system", "You are a pirate."},
      {"adapter", "./lora.gguf"},
      {"license", "MIT"},
      {"message", "user Is it sunny?"},
      {"message", "assistant Yes."}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(mf->commands[5].line, 9);  // line numbers count the lines of the multi-line value
}

TEST(Modelfile, ErrorsNameTheLine) {
  auto unknown = parse_modelfile("FROM x\nFORM y\n", "my/Modelfile");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("my/Modelfile:2: unknown instruction 'form'"), std::string::npos)
      << unknown.message();
  auto open = parse_modelfile("FROM x\nSYSTEM \"\"\"never closed\n", "M");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.message().find("M:2"), std::string::npos) << open.message();
  EXPECT_FALSE(parse_modelfile("SYSTEM hi\n", "M").ok());  // no FROM
  EXPECT_FALSE(parse_modelfile("FROM\n", "M").ok());       // FROM without a value
}

TEST(Modelfile, ParamsAreTyped) {
  std::string j = params_json({{"temperature", "0.5"},
                               {"num_ctx", "4096"},
                               {"stop", "a"},
                               {"stop", "b"},
                               {"penalize_newline", "false"},
                               {"mirostat_tau", "x1"}},
                              R"({"stop":["old"],"top_k":40})");
  EXPECT_EQ(nlohmann::json::parse(j), nlohmann::json::parse(R"({"temperature":0.5,"num_ctx":4096,
    "stop":["a","b"],"penalize_newline":false,"mirostat_tau":"x1","top_k":40})"));
}

TEST(ChooseGguf, QuantTagsAndFiles) {
  std::vector<std::string> files = {"README.md",          "model-Q4_K.gguf",
                                    "model-Q4_K_M.gguf",  "model-q8_0.gguf",
                                    "mmproj-Q4_K_M.gguf", "sub/model-IQ4_XS.gguf"};
  EXPECT_EQ(choose_gguf_file(files, "latest", "o/r").value(), "model-Q4_K_M.gguf");
  EXPECT_EQ(choose_gguf_file(files, "Q4_K", "o/r").value(), "model-Q4_K.gguf");
  EXPECT_EQ(choose_gguf_file(files, "Q8_0", "o/r").value(), "model-q8_0.gguf");
  EXPECT_EQ(choose_gguf_file(files, "iq4_xs", "o/r").value(), "sub/model-IQ4_XS.gguf");
  EXPECT_EQ(choose_gguf_file(files, "model-Q4_K.gguf", "o/r").value(), "model-Q4_K.gguf");
  auto none = choose_gguf_file(files, "Q2_K", "o/r");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.message().find("model-q8_0.gguf"), std::string::npos) << none.message();
  EXPECT_EQ(choose_gguf_file({"only-F16.gguf"}, "latest", "o/r").value(), "only-F16.gguf");
  EXPECT_FALSE(choose_gguf_file({"config.json", "model.safetensors"}, "latest", "o/r").ok());
}

}  // namespace
}  // namespace silica
