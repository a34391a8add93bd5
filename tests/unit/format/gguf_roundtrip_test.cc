// GGUF writer -> reader round trips, a hand-encoded file, and writer failure handling.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "format/gguf.h"
#include "gguf_test_util.h"

namespace silica {
namespace {

using test::read_bytes;
using test::temp_path;

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);  // only the bytes matter, not their distribution
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

size_t tensor_bytes(DType t, const std::vector<int64_t>& ne) {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return dtype_row_size(t, n);
}

GgufWriter every_scalar_writer() {
  GgufWriter w;
  w.set_u8("t.u8", 255);
  w.set_i8("t.i8", -128);
  w.set_u16("t.u16", 65535);
  w.set_i16("t.i16", -32768);
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_u64("t.u64", std::numeric_limits<uint64_t>::max());
  w.set_i64("t.i64", std::numeric_limits<int64_t>::min());
  w.set_f32("t.f32", 1e-5f);
  w.set_f64("t.f64", 0.1);
  w.set_bool("t.bool_true", true);
  w.set_bool("t.bool_false", false);
  w.set_string("t.str", "h\xC3\xA9llo");  // UTF-8
  w.set_string("t.empty", "");
  w.set_string("t.nul", std::string("a\0b", 3));  // lengths, not terminators
  return w;
}

TEST(GgufRoundTrip, EveryScalarType) {
  const std::string path = temp_path("scalars");
  GgufWriter w = every_scalar_writer();
  ASSERT_TRUE(w.write(path).ok());
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->get_int("t.u8"), 255);
  EXPECT_EQ(f->get_int("t.i8"), -128);
  EXPECT_EQ(f->get_int("t.u16"), 65535);
  EXPECT_EQ(f->get_int("t.i16"), -32768);
  EXPECT_EQ(f->get_int("t.u32"), 4000000000ll);
  EXPECT_EQ(f->get_int("t.i32"), -2000000000);
  EXPECT_EQ(f->get_int("t.u64"), std::nullopt);  // does not fit int64: range-checked
  EXPECT_EQ(f->find("t.u64")->scalar_bits(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f->get_int("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f->get_float("t.f32"), double(1e-5f));
  EXPECT_EQ(f->get_float("t.f64"), 0.1);
  EXPECT_EQ(f->get_float("t.i32"), -2000000000.0);  // integers convert to float
  EXPECT_EQ(f->get_bool("t.bool_true"), true);
  EXPECT_EQ(f->get_bool("t.bool_false"), false);
  EXPECT_EQ(f->get_string("t.str"), "h\xC3\xA9llo");
  EXPECT_EQ(f->get_string("t.empty"), "");
  EXPECT_EQ(f->get_string("t.nul"), std::string("a\0b", 3));
  // Type mismatches and absent keys give nullopt.
  EXPECT_EQ(f->get_string("t.u8"), std::nullopt);
  EXPECT_EQ(f->get_int("t.str"), std::nullopt);
  EXPECT_EQ(f->get_bool("t.u8"), std::nullopt);
  EXPECT_EQ(f->get_float("t.str"), std::nullopt);
  EXPECT_EQ(f->get_int("missing"), std::nullopt);
  EXPECT_EQ(f->find("missing"), nullptr);
  // File order is kept, with each value's type.
  const auto& md = f->metadata();
  ASSERT_EQ(md.size(), w.metadata().size());
  for (size_t i = 0; i < md.size(); ++i) {
    EXPECT_EQ(md[i].first, w.metadata()[i].first);
    EXPECT_EQ(md[i].second.type(), w.metadata()[i].second.type()) << md[i].first;
  }
  std::filesystem::remove(path);
}

TEST(GgufRoundTrip, ArraysOfEveryTypeAndNested) {
  const std::string path = temp_path("arrays");
  GgufWriter w;
  const std::vector<int32_t> i32 = {-1, 0, 7, std::numeric_limits<int32_t>::max()};
  const std::vector<float> f32 = {0.5f, -2.25f, 1e30f};
  const std::vector<uint8_t> u8 = {0, 1, 255};
  const std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), 3};
  const std::vector<uint32_t> u32 = {4000000000u};
  w.set_array_i32("a.i32", i32);
  w.set_array_f32("a.f32", f32);
  w.set_array_u8("a.u8", u8);
  w.set_array_i64("a.i64", i64);
  w.set_array_u32("a.u32", u32);
  w.set_array_i32("a.empty", {});
  w.set_array_strings("a.str", {"x", "", "\xE2\x82\xAC"});
  const double f64[] = {0.25, -1e300};
  const int16_t i16[] = {-3, 300};
  const uint8_t bools[] = {1, 0, 1};
  w.set_value("a.f64", GgufValue::from_raw_array(GgufValueType::kF64, f64, 2));
  w.set_value("a.i16", GgufValue::from_raw_array(GgufValueType::kI16, i16, 2));
  w.set_value("a.bool", GgufValue::from_raw_array(GgufValueType::kBool, bools, 3));
  // [[1, 2], [], [[...]]]-like nesting: arrays of arrays of ints and of strings.
  std::vector<GgufValue> inner = {GgufValue::from_raw_array(GgufValueType::kI32, i32.data(), 2),
                                  GgufValue::from_raw_array(GgufValueType::kI32, i32.data(), 0),
                                  GgufValue::from_strings({"p", "q"})};
  GgufValue nested = GgufValue::from_arrays(std::move(inner));
  w.set_value("a.nested", nested);
  w.set_value("a.nested2", GgufValue::from_arrays({nested, nested}));
  ASSERT_TRUE(w.write(path).ok());

  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->get_int_array("a.i32"), std::vector<int64_t>(i32.begin(), i32.end()));
  EXPECT_EQ(f->get_float_array("a.f32"), f32);
  EXPECT_EQ(f->get_int_array("a.u8"), (std::vector<int64_t>{0, 1, 255}));
  EXPECT_EQ(f->get_int_array("a.i64"), i64);
  EXPECT_EQ(f->get_int_array("a.u32"), (std::vector<int64_t>{4000000000ll}));
  EXPECT_EQ(f->get_int_array("a.i16"), (std::vector<int64_t>{-3, 300}));
  EXPECT_EQ(f->get_int_array("a.bool"), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(f->find("a.bool")->at(0).as_bool(), true);
  EXPECT_EQ(f->get_float_array("a.f64"), (std::vector<float>{0.25f, float(-1e300)}));
  EXPECT_EQ(f->find("a.f64")->at(1).as_float(), -1e300);
  EXPECT_TRUE(f->get_int_array("a.empty").empty());
  EXPECT_EQ(f->find("a.empty")->array_type(), GgufValueType::kI32);
  EXPECT_EQ(f->get_string_array("a.str"), (std::vector<std::string_view>{"x", "", "\xE2\x82\xAC"}));
  EXPECT_TRUE(f->get_string_array("a.i32").empty());  // wrong element type
  EXPECT_TRUE(f->get_int_array("a.str").empty());

  const GgufValue* n = f->find("a.nested2");
  ASSERT_NE(n, nullptr);
  ASSERT_TRUE(n->is_array());
  EXPECT_EQ(n->array_type(), GgufValueType::kArray);
  ASSERT_EQ(n->array_size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    GgufValue outer = n->at(k);
    ASSERT_EQ(outer.array_size(), 3u);
    EXPECT_EQ(outer.at(0).array_type(), GgufValueType::kI32);
    ASSERT_EQ(outer.at(0).array_size(), 2u);
    EXPECT_EQ(outer.at(0).at(1).as_int(), 0);
    EXPECT_EQ(outer.at(1).array_size(), 0u);
    EXPECT_EQ(outer.at(2).at(1).as_string(), "q");
  }
  std::filesystem::remove(path);
}

// Tensors of several types at alignment 32 and 64: bytes, shapes, offsets.
class GgufTensorRoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufTensorRoundTrip, TensorsKeepBytesShapesAndAlignment) {
  const uint32_t align = GetParam();
  const std::string path = temp_path("tensors" + std::to_string(align));
  struct Spec {
    std::string name;
    DType type;
    std::vector<int64_t> ne;
  };
  const std::vector<Spec> specs = {
      {"a.f32", DType::kF32, {3}},
      {"b.f16", DType::kF16, {5, 3}},
      {"c.bf16", DType::kBF16, {7, 1, 2}},
      {"d.q4_0", DType::kQ4_0, {64, 3}},
      {"e.q8_0", DType::kQ8_0, {32, 2, 1, 3}},
      {"f.q4_K", DType::kQ4_K, {256, 2}},
      {"g.q6_K", DType::kQ6_K, {512, 1}},
      {"h.empty", DType::kF32, {0, 4}},
      {"i.q5_1", DType::kQ5_1, {32}},
  };
  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.set_u32("general.alignment", align);
  std::vector<std::vector<uint8_t>> data;
  for (size_t i = 0; i < specs.size(); ++i) {
    data.push_back(random_bytes(tensor_bytes(specs[i].type, specs[i].ne), uint32_t(i)));
    w.add_tensor(specs[i].name, specs[i].type, specs[i].ne, data.back());
  }
  Status st = w.write(path);
  ASSERT_TRUE(st.ok()) << st.message();
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->alignment(), align);
  EXPECT_EQ(f->data_offset() % align, 0u);
  ASSERT_EQ(f->tensors().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const GgufTensorInfo& t = f->tensors()[i];
    SCOPED_TRACE(specs[i].name);
    EXPECT_EQ(t.name, specs[i].name);
    EXPECT_EQ(t.type, specs[i].type);
    EXPECT_EQ(t.ne, specs[i].ne);
    EXPECT_EQ(t.offset % align, 0u);
    EXPECT_EQ(t.nbytes, data[i].size());
    EXPECT_EQ(size_t(t.data - f->mapping().data()), f->data_offset() + t.offset);
    if (!data[i].empty()) EXPECT_EQ(0, std::memcmp(t.data, data[i].data(), data[i].size()));
    EXPECT_EQ(f->find_tensor(specs[i].name), &t);
  }
  EXPECT_EQ(f->find_tensor("e.q8_0")->n_elements(), 32 * 2 * 3);
  EXPECT_EQ(f->find_tensor("nope"), nullptr);
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufTensorRoundTrip, ::testing::Values(32u, 64u));

// Values read from one file can be copied into a writer after the source closes.
TEST(GgufRoundTrip, SetValueCopiesFromAnotherFile) {
  const std::string a = temp_path("src"), b = temp_path("dst");
  GgufWriter w;
  w.set_array_strings("tokenizer.ggml.tokens", {"a", "b", "c"});
  w.set_array_f32("tokenizer.ggml.scores", {1, 2, 3});
  ASSERT_TRUE(w.write(a).ok());
  GgufWriter w2;
  {
    auto f = GgufFile::open(a);
    ASSERT_TRUE(f.ok()) << f.message();
    for (const auto& [k, v] : f->metadata()) w2.set_value(k, v);
  }
  std::filesystem::remove(a);  // the copy must not depend on the old mapping
  ASSERT_TRUE(w2.write(b).ok());
  auto g = GgufFile::open(b);
  ASSERT_TRUE(g.ok()) << g.message();
  EXPECT_EQ(g->get_string_array("tokenizer.ggml.tokens"),
            (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(g->get_float_array("tokenizer.ggml.scores"), (std::vector<float>{1, 2, 3}));
  std::filesystem::remove(b);
}

// Little-endian encoders for building a file by hand, straight from the GGUF spec.
void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put_str(std::vector<uint8_t>& b, const std::string& s) {
  put_u64(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

// The writer's bytes equal a file encoded by hand from the spec, and the reader decodes it.
TEST(GgufRoundTrip, MatchesHandEncodedBytes) {
  std::vector<uint8_t> want = {'G', 'G', 'U', 'F'};
  put_u32(want, 3);  // version
  put_u64(want, 1);  // tensors
  put_u64(want, 2);  // kv
  put_str(want, "general.name");
  put_u32(want, 8);
  put_str(want, "hand");
  put_str(want, "x.arr");
  put_u32(want, 9);
  put_u32(want, 4);  // u32 elements
  put_u64(want, 2);
  put_u32(want, 7);
  put_u32(want, 9);
  put_str(want, "w");
  put_u32(want, 2);  // n_dims
  put_u64(want, 2);
  put_u64(want, 1);
  put_u32(want, 0);  // f32
  put_u64(want, 0);  // offset
  while (want.size() % kGgufDefaultAlignment) want.push_back(0);
  put_u32(want, 0x3f800000);  // 1.0f
  put_u32(want, 0x40000000);  // 2.0f
  while (want.size() % kGgufDefaultAlignment) want.push_back(0);

  GgufWriter w;
  w.set_string("general.name", "hand");
  w.set_array_u32("x.arr", {7, 9});
  const float vals[] = {1.0f, 2.0f};
  const auto* vb = reinterpret_cast<const uint8_t*>(vals);
  w.add_tensor("w", DType::kF32, {2, 1}, std::vector<uint8_t>(vb, vb + sizeof(vals)));
  const std::string path = temp_path("hand");
  ASSERT_TRUE(w.write(path).ok());
  EXPECT_EQ(read_bytes(path), want);

  test::write_bytes(path, want);
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->get_string("general.name"), "hand");
  EXPECT_EQ(f->get_int_array("x.arr"), (std::vector<int64_t>{7, 9}));
  ASSERT_EQ(f->tensors().size(), 1u);
  EXPECT_EQ(f->tensors()[0].ne, (std::vector<int64_t>{2, 1}));
  float got[2];
  std::memcpy(got, f->tensors()[0].data, sizeof(got));
  EXPECT_EQ(got[1], 2.0f);
  std::filesystem::remove(path);
}

TEST(GgufWriter, SettingAKeyAgainReplacesItInPlace) {
  GgufWriter w;
  w.set_u32("a", 1);
  w.set_string("b", "x");
  w.set_u32("a", 2);
  ASSERT_EQ(w.metadata().size(), 2u);
  EXPECT_EQ(w.metadata()[0].first, "a");
  EXPECT_EQ(w.metadata()[0].second.as_int(), 2);
  EXPECT_TRUE(w.remove("b"));
  EXPECT_FALSE(w.remove("b"));
}

bool dir_has_entry_starting_with(const std::string& dir, const std::string& prefix) {
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(GgufWriter, RejectsInvalidTensorsNamingThem) {
  const std::string path = temp_path("bad");
  struct Case {
    DType type;
    std::vector<int64_t> ne;
    size_t bytes;
    const char* expect;
  };
  const Case cases[] = {
      {DType::kF32, {4}, 15, "needs 16 bytes, got 15"},
      {DType::kQ4_0, {16}, 9, "not a multiple of 32"},
      {DType::kF32, {1, 1, 1, 1, 1}, 4, "5 dimensions"},
      {DType::kF32, {-1}, 0, "invalid shape"},
  };
  for (const Case& c : cases) {
    GgufWriter w;
    w.add_tensor("blk.0.bad", c.type, c.ne, std::vector<uint8_t>(c.bytes));
    Status st = w.write(path);
    ASSERT_FALSE(st.ok()) << c.expect;
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("blk.0.bad"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  }
  GgufWriter dup;
  dup.add_tensor("x", DType::kF32, {1}, std::vector<uint8_t>(4));
  dup.add_tensor("x", DType::kF32, {1}, std::vector<uint8_t>(4));
  EXPECT_NE(dup.write(path).message().find("duplicate tensor name 'x'"), std::string::npos);
  GgufWriter odd;
  odd.set_u32("general.alignment", 48);
  EXPECT_NE(odd.write(path).message().find("power of two"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(GgufWriter, UnwritableDirectoryIsAnErrorNamingThePath) {
  const std::string path = ::testing::TempDir() + "silica-no-such-dir/x.gguf";
  GgufWriter w;
  w.set_u32("a", 1);
  Status st = w.write(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
}

// A full disk, simulated with a file size limit: an error, and neither the file nor a temporary
// is left behind.
TEST(GgufWriter, FullDiskLeavesNoPartialFile) {
  const std::string dir = ::testing::TempDir() + "silica_fulldisk_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/model.gguf";
  GgufWriter w;
  w.set_string("general.name", "big");
  w.add_tensor("t", DType::kF32, {1 << 16}, std::vector<uint8_t>(4 << 16));  // 256 KiB

  constexpr rlim_t kLimitBytes = 64 << 10;
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of a signal
  struct rlimit small = old_limit;
  small.rlim_cur = kLimitBytes;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status st = w.write(path);
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(dir_has_entry_starting_with(dir, "model.gguf"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace silica
