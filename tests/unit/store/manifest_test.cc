// Manifests: the Ollama JSON shape both ways, and refusal of digests that could name other files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/manifest.h"
#include "store/sha256.h"

namespace silica {
namespace {

// A manifest as Ollama writes it (layout of registry.ollama.ai/library/*/* manifests).
constexpr const char* kOllamaManifest = R"({"schemaVersion":2,
 "mediaType":"application/vnd.docker.distribution.manifest.v2+json",
 "config":{"mediaType":"application/vnd.docker.container.image.v1+json",
  "digest":"sha256:34bb5ab01051a11372a91f95f3fbbc51173eed8e7f13ec395b9ae9b8bd0e242b","size":561},
 "layers":[
  {"mediaType":"application/vnd.ollama.image.model",
   "digest":"sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa","size":4661211424},
  {"mediaType":"application/vnd.ollama.image.license",
   "digest":"sha256:4fa551d4f938f68b8c1e6afa9d28befb70e3f33f75d0753248d530364aeea40f","size":1433},
  {"mediaType":"application/vnd.ollama.image.template",
   "digest":"sha256:8ab4849b038cf0abc5b1c9b8ee1443dca6b93a045c2272180d985126eb40bf6f","size":254}]})";

TEST(Manifest, ParsesOllamaManifest) {
  auto m = parse_manifest(kOllamaManifest, "test");
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->layers.size(), 3u);
  ASSERT_NE(m->find(kMediaModel), nullptr);
  EXPECT_EQ(m->find(kMediaModel)->size, 4661211424);
  EXPECT_EQ(m->find(kMediaSystem), nullptr);
  EXPECT_EQ(m->total_size(), 561 + 4661211424 + 1433 + 254);
}

TEST(Manifest, RoundTripsThroughJson) {
  auto m = parse_manifest(kOllamaManifest, "test");
  ASSERT_TRUE(m.ok());
  std::string text = serialize_manifest(*m);
  EXPECT_EQ(nlohmann::json::parse(text), nlohmann::json::parse(kOllamaManifest));
  EXPECT_EQ(text.rfind(R"({"schemaVersion":2,"mediaType":)", 0), 0u);
}

TEST(Manifest, RefusesBadDigestsAndShapes) {
  std::string good = kOllamaManifest;
  const char* kBadDigests[] = {"sha256:../../../../etc/passwd", "sha256:6A0746",
                               "md5:6a0746a1ec1aef3e7ec53868f220ff6e", ""};
  for (const char* bad : kBadDigests) {
    std::string text = good;
    text.replace(text.find("sha256:6a07"), 71, bad);
    EXPECT_FALSE(parse_manifest(text, "t").ok()) << bad;
  }
  EXPECT_FALSE(parse_manifest("[]", "t").ok());
  EXPECT_FALSE(parse_manifest(R"({"schemaVersion":1,"config":{},"layers":[]})", "t").ok());
  auto e = parse_manifest("{not json", "http://x/manifests/t");
  EXPECT_NE(e.message().find("http://x/manifests/t"), std::string::npos);
}

TEST(Sha256, KnownVectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  std::string a(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.update(a.data(), a.size());
  EXPECT_EQ(h.finish_hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace silica
