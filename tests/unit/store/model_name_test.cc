// Model names: defaults, hosts with ports, and every way a name could try to leave the store.
#include <gtest/gtest.h>

#include "store/model_name.h"

namespace silica {
namespace {

TEST(ModelName, Defaults) {
  auto n = parse_model_name("llama3");
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_EQ(n->host, "registry.ollama.ai");
  EXPECT_EQ(n->name_space, "library");
  EXPECT_EQ(n->model, "llama3");
  EXPECT_EQ(n->tag, "latest");
  EXPECT_EQ(n->display(), "llama3:latest");
  EXPECT_EQ(n->manifest_rel_path(), "manifests/registry.ollama.ai/library/llama3/latest");
}

TEST(ModelName, AllParts) {
  auto n = parse_model_name("127.0.0.1:8080/me/tiny-model.v2:Q4_K_M");
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_EQ(n->host, "127.0.0.1:8080");
  EXPECT_EQ(n->name_space, "me");
  EXPECT_EQ(n->model, "tiny-model.v2");
  EXPECT_EQ(n->tag, "Q4_K_M");
  EXPECT_EQ(n->display(), "127.0.0.1:8080/me/tiny-model.v2:Q4_K_M");
  auto ns = parse_model_name("me/m:1b");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->display(), "me/m:1b");
}

TEST(ModelName, UrlSchemeAndHuggingFace) {
  auto n = parse_model_name("http://localhost:1234/library/m:t");
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_EQ(n->scheme, "http");
  EXPECT_EQ(n->host, "localhost:1234");
  EXPECT_FALSE(parse_model_name("http://m:t").ok());  // a URL needs a host part
  auto hf = parse_model_name("hf.co/org/repo-GGUF:q8_0");
  ASSERT_TRUE(hf.ok());
  EXPECT_TRUE(hf->is_hugging_face());
}

TEST(ModelName, EscapesAreRefused) {
  const char* kBad[] = {
      "",           "../m",       "..",         "a/../../b",   "/etc/passwd", "m:..",  "m:../../x",
      "ns/.hidden", "./m",        "m/",         "a/b/c/d",     "m\\..\\x",    "m:t/x", "m;rm -rf",
      "m\nx",       "host/ns/..", "..:80/ns/m", "h:port/ns/m", "m:",          "ns//m", "m:-x",
      "-m",         "m\x01",      "m%2e%2e",    "m*",
  };
  for (const char* bad : kBad) {
    auto n = parse_model_name(bad);
    EXPECT_FALSE(n.ok()) << "accepted '" << bad << "' as " << (n.ok() ? n->full() : "");
    if (!n.ok()) {
      EXPECT_FALSE(n.message().empty());
    }
  }
}

TEST(ModelName, OverlongPartsAreRefused) {
  std::string long_part(81, 'a');
  EXPECT_FALSE(parse_model_name(long_part).ok());
  EXPECT_FALSE(parse_model_name("m:" + long_part).ok());
  EXPECT_TRUE(parse_model_name(std::string(80, 'a')).ok());
  auto n = parse_model_name("m:" + long_part);
  EXPECT_NE(n.message().find("at most 80"), std::string::npos) << n.message();
}

}  // namespace
}  // namespace silica
