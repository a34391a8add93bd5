// Request translation: Ollama / OpenAI bodies -> InferenceRequest, field type errors, durations,
// model name resolution and CORS origins.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "server/api_request.h"
#include "server/model_manager.h"
#include "server/options.h"
#include "server/server.h"

namespace silica {
namespace {

constexpr float kTolParam = 1e-6f;

Json body(const char* text) {
  return Json::parse(text);
}

TEST(ApiRequest, OllamaGenerateDefaultsAndOptions) {
  auto r = parse_ollama_generate(body(R"({"model":"m","prompt":"hi","options":{"temperature":0.2,
      "num_predict":7,"top_k":5,"seed":3,"stop":["x","y"],"num_ctx":256,"unknown_option":1}})"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->model, "m");
  EXPECT_TRUE(r->stream);  // Ollama streams unless told otherwise
  EXPECT_TRUE(r->has_input);
  EXPECT_NEAR(r->params.sampling.temperature, 0.2f, kTolParam);
  EXPECT_EQ(r->params.n_predict, 7);
  EXPECT_EQ(r->params.sampling.top_k, 5);
  EXPECT_EQ(r->params.sampling.seed, 3u);
  EXPECT_EQ(r->params.stop, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(r->num_ctx, 256);
  EXPECT_NEAR(r->params.sampling.top_p, 0.9f, kTolParam);  // Ollama's default
}

TEST(ApiRequest, WrongTypesNameTheField) {
  auto a = parse_ollama_generate(body(R"({"model":"m","prompt":5})"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("'prompt'"), std::string::npos) << a.message();
  auto b = parse_ollama_generate(body(R"({"model":"m","options":{"top_k":"many"}})"));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("options.top_k"), std::string::npos) << b.message();
  auto c = parse_ollama_chat(body(R"({"model":"m","messages":[{"role":"user","content":3}]})"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("messages[0].content"), std::string::npos) << c.message();
  EXPECT_FALSE(parse_ollama_chat(body(R"({"messages":[]})")).ok());  // model is required
  EXPECT_FALSE(parse_ollama_generate(body(R"([1,2])")).ok());
  EXPECT_FALSE(parse_ollama_generate(body(R"({"model":"m","format":"xml"})")).ok());
}

TEST(ApiRequest, EmptyPromptOnlyLoads) {
  auto r = parse_ollama_generate(body(R"({"model":"m","keep_alive":0})"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_input);
  ASSERT_TRUE(r->keep_alive_ns.has_value());
  EXPECT_EQ(*r->keep_alive_ns, 0);
}

TEST(ApiRequest, OpenAiChat) {
  auto r = parse_openai_chat(body(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":null,
      "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}],
      "max_completion_tokens":9,"stream":true,"stream_options":{"include_usage":true},
      "response_format":{"type":"json_object"}})"));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->messages[0]["content"], "ab");
  // String arguments become the object templates expect.
  EXPECT_EQ(r->messages[1]["tool_calls"][0]["function"]["arguments"]["x"], 1);
  EXPECT_EQ(r->params.n_predict, 9);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->format, OutputFormat::kJson);
  EXPECT_NEAR(r->params.sampling.temperature, 1.0f, kTolParam);  // OpenAI's default
  auto n2 =
      parse_openai_chat(body(R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":2})"));
  ASSERT_FALSE(n2.ok());
  EXPECT_NE(n2.message().find("n must be 1"), std::string::npos);
  EXPECT_FALSE(parse_openai_chat(body(R"({"model":"m","messages":[]})")).ok());
  auto schema = parse_openai_chat(body(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}}})"));
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ(schema->format, OutputFormat::kJsonSchema);
  EXPECT_EQ(schema->schema, R"({"type":"object"})");
}

TEST(ApiRequest, Embeddings) {
  auto a = parse_ollama_embed(body(R"({"model":"m","input":["a","b"],"truncate":false})"), false);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->inputs.size(), 2u);
  EXPECT_FALSE(a->truncate);
  EXPECT_FALSE(parse_ollama_embed(body(R"({"model":"m","input":[1]})"), false).ok());
  auto b = parse_openai_embed(body(R"({"model":"m","input":"x","encoding_format":"base64"})"));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->base64);
}

TEST(Options, Durations) {
  EXPECT_EQ(parse_duration("5m").value(), 300 * kNsPerSecond);
  EXPECT_EQ(parse_duration("1h30m").value(), 5400 * kNsPerSecond);
  EXPECT_EQ(parse_duration("300").value(), 300 * kNsPerSecond);
  EXPECT_EQ(parse_duration("250ms").value(), kNsPerSecond / 4);
  EXPECT_EQ(parse_duration("-1").value(), kKeepForever);
  EXPECT_EQ(parse_duration("-1m").value(), kKeepForever);
  EXPECT_EQ(parse_duration("0").value(), 0);
  EXPECT_FALSE(parse_duration("5 parsecs").ok());
  EXPECT_EQ(parse_keep_alive(Json(-1)).value(), kKeepForever);
  EXPECT_FALSE(parse_keep_alive(Json::array()).ok());
}

TEST(Options, HostPort) {
  ServerOptions o;
  ASSERT_TRUE(parse_host_port("0.0.0.0:8080", o).ok());
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(o.port, 8080);
  ASSERT_TRUE(parse_host_port("http://localhost:9000/", o).ok());
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 9000);
  EXPECT_FALSE(parse_host_port("host:notaport", o).ok());
}

TEST(ModelManager, ResolvesNamesInTheFolder) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "silica_server_resolve_test";
  fs::create_directories(dir);
  std::ofstream(dir / "alpha.gguf") << "x";
  std::ofstream(dir / "beta-q4.gguf") << "x";
  ServerOptions o;
  o.models_dir = dir.string();
  ModelManager mm(o);
  EXPECT_EQ(mm.resolve("alpha"), (dir / "alpha.gguf").string());
  EXPECT_EQ(mm.resolve("alpha:latest"), (dir / "alpha.gguf").string());
  EXPECT_EQ(mm.resolve("beta:q4"), (dir / "beta-q4.gguf").string());
  EXPECT_EQ(mm.resolve((dir / "alpha.gguf").string()), (dir / "alpha.gguf").string());
  EXPECT_EQ(mm.resolve("gamma"), "");
  EXPECT_EQ(mm.resolve("../alpha"), "");  // names never leave the folder
  EXPECT_FALSE(is_plain_model_name("a/b"));
  EXPECT_FALSE(is_plain_model_name("a:b:c"));
  fs::remove_all(dir);
}

TEST(Cors, DefaultOriginsAreLocal) {
  EXPECT_TRUE(origin_allowed("http://localhost:3000", {}));
  EXPECT_TRUE(origin_allowed("http://127.0.0.1", {}));
  EXPECT_TRUE(origin_allowed("app://obsidian.md", {}));
  EXPECT_FALSE(origin_allowed("https://evil.example", {}));
  EXPECT_FALSE(origin_allowed("http://localhost.evil.example", {}));
  EXPECT_TRUE(origin_allowed("https://evil.example", {"*"}));
  EXPECT_TRUE(origin_allowed("https://ok.example", {"https://ok.example"}));
}

}  // namespace
}  // namespace silica
