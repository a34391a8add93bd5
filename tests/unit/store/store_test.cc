// Store operations on a temp root: write, list, resolve, copy, remove with garbage collection.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "store/sha256.h"
#include "store/store.h"

namespace silica {
namespace {
namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("silica-store-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto s = Store::open(root_.string());
    ASSERT_TRUE(s.ok()) << s.message();
    store_.emplace(std::move(*s));
  }
  void TearDown() override { fs::remove_all(root_); }

  // A model named `name` with a model layer holding `content` and a system layer.
  Manifest add_model(const std::string& name, const std::string& content) {
    Manifest m;
    m.layers.push_back(store_->add_blob_bytes(content, kMediaModel).value());
    m.layers.push_back(store_->add_blob_bytes("be brief", kMediaSystem).value());
    m.config = store_->add_config_blob(m.layers, "gguf", "llama", "Q8_0").value();
    Status st = store_->write_manifest(parse_model_name(name).value(), m);
    EXPECT_TRUE(st.ok()) << st.message();
    return m;
  }
  size_t n_blobs() const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(root_ / "blobs")) n += e.is_regular_file();
    return n;
  }

  fs::path root_;
  std::optional<Store> store_;
};

TEST_F(StoreTest, LayoutIsOllamas) {
  Manifest m = add_model("m:v1", "GGUF-bytes");
  std::string hex = sha256_hex("GGUF-bytes");
  EXPECT_EQ(m.layers[0].digest, "sha256:" + hex);
  EXPECT_TRUE(fs::is_regular_file(root_ / "blobs" / ("sha256-" + hex)));
  fs::path mf = root_ / "manifests/registry.ollama.ai/library/m/v1";
  ASSERT_TRUE(fs::is_regular_file(mf));
  std::ifstream in(mf);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto back = parse_manifest(text, mf.string());
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->layers.size(), 2u);
  EXPECT_EQ(back->config.media_type, kConfigMediaType);
  auto cfg = store_->read_blob_text(back->config.digest);
  ASSERT_TRUE(cfg.ok());
  EXPECT_NE(cfg->find("\"model_format\":\"gguf\""), std::string::npos) << *cfg;
}

TEST_F(StoreTest, ListResolveCopyRemove) {
  add_model("m:v1", "model one");
  add_model("ns/other", "model two");
  auto list = store_->list();
  ASSERT_TRUE(list.ok()) << list.message();
  ASSERT_EQ(list->size(), 2u);
  std::set<std::string> names;
  for (const auto& sm : *list) names.insert(sm.name.display());
  EXPECT_EQ(names, (std::set<std::string>{"m:v1", "ns/other:latest"}));

  auto r = store_->resolve("m:v1");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->model_path, store_->blob_path("sha256:" + sha256_hex("model one")));
  EXPECT_FALSE(store_->resolve("m").ok());  // tag latest does not exist

  ASSERT_TRUE(
      store_->copy(parse_model_name("m:v1").value(), parse_model_name("copy").value()).ok());
  EXPECT_EQ(store_->resolve("copy")->model_path, r->model_path);
  size_t blobs = n_blobs();
  // Removing one of two names keeps the shared blobs.
  ASSERT_TRUE(store_->remove(parse_model_name("m:v1").value()).ok());
  EXPECT_EQ(n_blobs(), blobs);
  EXPECT_TRUE(fs::exists(r->model_path));
  // Removing the last name of "model one" removes its model blob and config; "be brief" stays.
  ASSERT_TRUE(store_->remove(parse_model_name("copy").value()).ok());
  EXPECT_FALSE(fs::exists(r->model_path));
  EXPECT_EQ(n_blobs(), 3u);  // model two, system, config of ns/other
  EXPECT_FALSE(fs::exists(root_ / "manifests/registry.ollama.ai/library/m"));
  EXPECT_FALSE(store_->remove(parse_model_name("copy").value()).ok());
}

TEST_F(StoreTest, ManifestNeedsItsBlobs) {
  Manifest m;
  m.layers.push_back({kMediaModel, "sha256:" + std::string(64, 'a'), 10});
  m.config = store_->add_blob_bytes("{}", kConfigMediaType).value();
  Status st = store_->write_manifest(parse_model_name("m").value(), m);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not in the store"), std::string::npos) << st.message();
  m.layers[0] = store_->add_blob_bytes("abc", kMediaModel).value();
  m.layers[0].size = 4;  // wrong size
  EXPECT_FALSE(store_->write_manifest(parse_model_name("m").value(), m).ok());
  EXPECT_TRUE(store_->list()->empty());
}

TEST_F(StoreTest, CommitBlobVerifiesContent) {
  std::string temp = store_->temp_path("t");
  std::ofstream(temp) << "hello";
  std::string wrong = "sha256:" + sha256_hex("hellO");
  Status st = store_->commit_blob(temp, wrong);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(store_->has_blob(wrong));
  std::ofstream(temp) << "hello";
  std::string right = "sha256:" + sha256_hex("hello");
  ASSERT_TRUE(store_->commit_blob(temp, right).ok());
  EXPECT_TRUE(store_->has_blob(right));
}

TEST_F(StoreTest, GarbageCollectKeepsPartials) {
  std::string partial = store_->partial_path("sha256:" + std::string(64, 'b'));
  std::ofstream(partial) << "half";
  add_model("m", "x");
  ASSERT_TRUE(store_->remove(parse_model_name("m").value()).ok());
  EXPECT_TRUE(fs::exists(partial));
}

TEST_F(StoreTest, ResolveModelPathPrefersFiles) {
  add_model("m:v1", "weights");
  ::setenv("SILICA_MODELS", root_.c_str(), 1);
  auto by_name = resolve_model_path("m:v1");
  ASSERT_TRUE(by_name.ok()) << by_name.message();
  EXPECT_EQ(*by_name, store_->blob_path("sha256:" + sha256_hex("weights")));
  fs::path file = root_ / "m:v1";  // a file of the same name wins
  std::ofstream(file) << "x";
  EXPECT_EQ(resolve_model_path(file.string()).value(), file.string());
  auto missing = resolve_model_path("nothere");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("silica pull nothere"), std::string::npos) << missing.message();
  auto escape = resolve_model_path("../../silica-no-such-model");
  EXPECT_FALSE(escape.ok());
  EXPECT_NE(escape.message().find("neither"), std::string::npos) << escape.message();
  ::unsetenv("SILICA_MODELS");
}

}  // namespace
}  // namespace silica
