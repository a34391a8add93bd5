// safetensors: round trips, byte-exact layout against the format spec, and damaged files.
#include "format/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "gguf_test_util.h"

namespace silica {
namespace {

using test::read_bytes;
using test::temp_path;
using test::write_bytes;

std::string bytes_of(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// A file written by hand from the spec: u64 LE header length, JSON, raw data.
std::vector<uint8_t> hand_file(const std::string& header, const std::string& data) {
  std::vector<uint8_t> b(8);
  for (int i = 0; i < 8; ++i) b[size_t(i)] = uint8_t(uint64_t(header.size()) >> (8 * i));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

std::string open_error(const std::vector<uint8_t>& bytes, const std::string& tag) {
  const std::string path = temp_path(tag);
  write_bytes(path, bytes);
  auto f = SafetensorsFile::open(path);
  auto h = SafetensorsFile::open_header(path);
  EXPECT_FALSE(f.ok()) << tag << " opened";
  EXPECT_FALSE(h.ok()) << tag << " opened header-only";
  if (f.ok() || h.ok()) return "";
  EXPECT_EQ(f.message(), h.message());  // both paths apply the same checks
  EXPECT_NE(f.message().find(path), std::string::npos) << "error does not name the file";
  return f.message();
}

TEST(Safetensors, ReadsHandWrittenFile) {
  // Two F32 tensors and a U8 one, as the spec lays them out; tensors out of order in the JSON.
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {-1.5f};
  std::string data = bytes_of(a) + bytes_of(b) + std::string("\x07\x08", 2);
  std::string header = R"({"b":{"dtype":"F32","shape":[],"data_offsets":[24,28]},)"
                       R"("__metadata__":{"format":"pt"},)"
                       R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                       R"("c":{"dtype":"U8","shape":[2],"data_offsets":[28,30]}})";
  const std::string path = temp_path("hand");
  write_bytes(path, hand_file(header, data));
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const StTensorInfo* ta = f->find("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ta->n_elements(), 6);
  EXPECT_EQ(std::memcmp(f->data(*ta), a.data(), 24), 0);
  const StTensorInfo* tb = f->find("b");
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->n_elements(), 1);  // a scalar
  float bv;
  std::memcpy(&bv, f->data(*tb), 4);
  EXPECT_EQ(bv, -1.5f);
  EXPECT_EQ(f->data(*f->find("c"))[1], 8);
  EXPECT_EQ(f->find("missing"), nullptr);
}

TEST(Safetensors, WriterLayoutMatchesSpec) {
  const std::vector<float> w = {1, 2, 3, 4};
  const uint16_t h[3] = {0x3c00, 0x4000, 0xc000};  // fp16 1, 2, -2
  const std::string path = temp_path("layout");
  const std::string w_bytes = bytes_of(w);  // StWriteTensor borrows its bytes
  std::vector<StWriteTensor> ts = {
      {"w", StDtype::kF32, {2, 2}, w_bytes},
      {"h", StDtype::kF16, {3}, std::string_view(reinterpret_cast<const char*>(h), 6)}};
  ASSERT_TRUE(write_safetensors(path, ts, {{"format", "mlx"}}).ok());
  const auto b = read_bytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[size_t(i)];
  EXPECT_EQ(n % 8, 0u) << "header padded to 8 bytes";
  ASSERT_EQ(b.size(), 8 + n + 16 + 6);
  const std::string header(b.begin() + 8, b.begin() + 8 + long(n));
  EXPECT_NE(header.find(R"("h":{"data_offsets":[16,22],"dtype":"F16","shape":[3]})"),
            std::string::npos)
      << header;
  EXPECT_EQ(std::memcmp(b.data() + 8 + n, w.data(), 16), 0);
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->metadata().at("format"), "mlx");
  EXPECT_EQ(f->find("h")->dtype, StDtype::kF16);
  EXPECT_EQ(std::memcmp(f->data(*f->find("h")), h, 6), 0);
}

TEST(Safetensors, EveryDtypeRoundTrips) {
  const char* kNames[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "U32", "I8", "U8"};
  const size_t kSizes[] = {8, 4, 2, 2, 8, 4, 4, 1, 1};
  std::vector<std::string> payloads;
  std::vector<StWriteTensor> ts;
  for (size_t i = 0; i < std::size(kNames); ++i) {
    auto dt = st_dtype_from_name(kNames[i]);
    ASSERT_TRUE(dt.has_value()) << kNames[i];
    EXPECT_EQ(st_dtype_size(*dt), kSizes[i]);
    EXPECT_STREQ(st_dtype_name(*dt), kNames[i]);
    payloads.push_back(std::string(kSizes[i] * 3, char('a' + i)));
  }
  for (size_t i = 0; i < std::size(kNames); ++i)
    ts.push_back({std::string("t_") + kNames[i], *st_dtype_from_name(kNames[i]), {3}, payloads[i]});
  const std::string path = temp_path("dtypes");
  ASSERT_TRUE(write_safetensors(path, ts).ok());
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  for (size_t i = 0; i < std::size(kNames); ++i) {
    const StTensorInfo* t = f->find(std::string("t_") + kNames[i]);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data(*t)), t->nbytes()), payloads[i]);
  }
  EXPECT_FALSE(st_dtype_from_name("F8_E4M3").has_value());
}

TEST(Safetensors, WriterRefusesWrongByteCount) {
  std::vector<StWriteTensor> ts = {{"w", StDtype::kF32, {2, 2}, "short"}};
  Status st = write_safetensors(temp_path("bad"), ts);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'w'"), std::string::npos) << st.message();
}

TEST(SafetensorsDamage, ClearErrors) {
  const std::string d8(8, '\0');
  struct Case {
    const char* tag;
    std::vector<uint8_t> bytes;
    const char* expect;
  };
  std::vector<uint8_t> short_file = {1, 2, 3};
  std::vector<uint8_t> huge_len = hand_file("{}", "");
  huge_len[0] = 0xff;
  huge_len[5] = 0x7f;  // header length far past the end
  const Case kCases[] = {
      {"short", short_file, "too short"},
      {"hugelen", huge_len, "does not fit"},
      {"notjson", hand_file("{not json", d8), "not a JSON object"},
      {"array", hand_file("[1,2]", d8), "not a JSON object"},
      {"dtype", hand_file(R"({"t":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", d8),
       "'t': dtype 'F8_E4M3' is not supported"},
      {"nodtype", hand_file(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", d8), "dtype"},
      {"shape", hand_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8),
       "negative"},
      {"product", hand_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8),
       "needs 12 bytes but data_offsets span 8"},
      {"overflow",
       hand_file(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,16],)"
                 R"("data_offsets":[0,8]}})",
                 d8),
       "data_offsets span 8"},
      {"range", hand_file(R"({"t":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}})", d8),
       "outside the data section"},
      {"reversed", hand_file(R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})", d8),
       "outside the data section"},
      {"offsets", hand_file(R"({"t":{"dtype":"U8","shape":[8],"data_offsets":[0]}})", d8),
       "[begin, end]"},
      {"overlap",
       hand_file(R"({"a":{"dtype":"U8","shape":[6],"data_offsets":[0,6]},)"
                 R"("b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                 d8),
       "overlaps"},
      {"gap",
       hand_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                 R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
                 d8),
       "gap"},
      {"tail", hand_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", d8),
       "cover 4 bytes but the data section has 8"},
      {"meta", hand_file(R"({"__metadata__":{"k":1}})", ""), "__metadata__ key 'k'"},
  };
  for (const Case& c : kCases) {
    const std::string msg = open_error(c.bytes, c.tag);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.tag << ": " << msg;
  }
}

// Every truncation and a byte flip at every header position: never a crash (ASan in CI).
TEST(SafetensorsDamage, TruncationsAndFlipsNeverCrash) {
  const std::vector<float> w = {1, 2, 3, 4};
  const std::string path = temp_path("src");
  const std::string w_bytes = bytes_of(w);
  ASSERT_TRUE(write_safetensors(path, {{"w", StDtype::kF32, {2, 2}, w_bytes}}).ok());
  const auto good = read_bytes(path);
  const std::string damaged = temp_path("damaged");
  for (size_t n = 0; n < good.size(); ++n) {
    write_bytes(damaged, std::vector<uint8_t>(good.begin(), good.begin() + long(n)));
    EXPECT_FALSE(SafetensorsFile::open(damaged).ok()) << "truncated to " << n;
  }
  for (size_t i = 0; i + 16 < good.size(); ++i) {
    auto b = good;
    b[i] ^= 0x5a;
    write_bytes(damaged, b);
    auto f = SafetensorsFile::open(damaged);
    if (f.ok()) {  // a flip that keeps the header valid must still describe in-range bytes
      for (const auto& t : f->tensors()) EXPECT_LE(t.end, good.size());
    }
  }
}

}  // namespace
}  // namespace silica
