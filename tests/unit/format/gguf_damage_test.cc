// Damaged GGUF files: each is a good file with bytes patched or cut; each must give a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "format/gguf.h"
#include "gguf_test_util.h"

namespace silica {
namespace {

using test::find_bytes;
using test::peek;
using test::poke;

// Distinct names, so find_bytes lands on the field we mean to patch.
constexpr char kArrKey[] = "test.arr_i32";
constexpr char kStrKey[] = "test.name_str";
constexpr char kDupKeyA[] = "test.dup_k1";
constexpr char kDupKeyB[] = "test.dup_k2";
constexpr char kTensorA[] = "tensor.aa";
constexpr char kTensorB[] = "tensor.bb";

struct GoodFile {
  std::vector<uint8_t> bytes;
  size_t data_end = 0;  // end of the last tensor's data: shorter files must fail
};

GoodFile make_good_file(const std::string& path) {
  GgufWriter w;
  w.set_string(kStrKey, "llama");
  w.set_u32("general.alignment", 32);
  w.set_array_i32(kArrKey, {1, 2, 3});
  w.set_array_strings("test.strs", {"a", "bc"});
  w.set_u32(kDupKeyA, 1);
  w.set_u32(kDupKeyB, 2);
  w.add_tensor(kTensorA, DType::kF32, {4, 2}, std::vector<uint8_t>(32, 1));
  w.add_tensor(kTensorB, DType::kQ8_0, {32, 1}, std::vector<uint8_t>(34, 2));
  EXPECT_TRUE(w.write(path).ok());
  GoodFile g;
  g.bytes = test::read_bytes(path);
  auto f = GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << f.message();
  const GgufTensorInfo* b = f->find_tensor(kTensorB);
  g.data_end = size_t(b->data - f->mapping().data()) + b->nbytes;
  return g;
}

// Offsets of a tensor's fields in the tensor-info table (after its name).
size_t n_dims_at(const std::vector<uint8_t>& b, const std::string& name) {
  // Tensor infos come after the metadata, so the last occurrence is the one in the table.
  size_t off = 0, at = 0;
  while (
      (at = std::string_view(reinterpret_cast<const char*>(b.data()), b.size()).find(name, off)) !=
      std::string_view::npos) {
    off = at + 1;
  }
  return off - 1 + name.size();
}
size_t type_at(const std::vector<uint8_t>& b, const std::string& name) {
  const size_t nd = n_dims_at(b, name);
  return nd + 4 + 8 * peek<uint32_t>(b, nd);
}
size_t offset_at(const std::vector<uint8_t>& b, const std::string& name) {
  return type_at(b, name) + 4;
}

struct DamageCase {
  const char* label;
  std::function<void(std::vector<uint8_t>&)> patch;
  std::vector<std::string> expect;  // substrings the error must contain
};

std::vector<DamageCase> damage_cases() {
  const std::string arr = kArrKey, str = kStrKey, ta = kTensorA, tb = kTensorB;
  return {
      {"wrong magic", [](auto& b) { b[3] = 'X'; }, {"GGUX", "magic 'GGUF'"}},
      {"version 1", [](auto& b) { poke<uint32_t>(b, 4, 1); }, {"version 1", "not supported"}},
      {"version 99", [](auto& b) { poke<uint32_t>(b, 4, 99); }, {"version 99"}},
      {"tensor count huge",
       [](auto& b) { poke<uint64_t>(b, 8, uint64_t(1) << 60); },
       {"tensor count 1152921504606846976", "cannot fit"}},
      {"kv count huge",
       [](auto& b) { poke<uint64_t>(b, 16, ~uint64_t(0)); },
       {"key/value count", "cannot fit"}},
      {"string length past end",
       [str](auto& b) { poke<uint64_t>(b, find_bytes(b, str) + str.size() + 4, 1u << 30); },
       {str, "length 1073741824", "remain"}},
      {"key length past end",
       [str](auto& b) { poke<uint64_t>(b, find_bytes(b, str) - 8, uint64_t(1) << 62); },
       {"metadata key #0", "remain"}},
      {"array length huge",
       [arr](auto& b) { poke<uint64_t>(b, find_bytes(b, arr) + arr.size() + 8, ~uint64_t(0) / 2); },
       {arr, "array of 9223372036854775807 i32"}},
      {"unknown value type",
       [arr](auto& b) { poke<uint32_t>(b, find_bytes(b, arr) + arr.size(), 13); },
       {arr, "unknown value type 13"}},
      {"unknown array element type",
       [arr](auto& b) { poke<uint32_t>(b, find_bytes(b, arr) + arr.size() + 4, 40); },
       {arr, "unknown value type 40"}},
      {"alignment not a power of two",
       [](auto& b) { poke<uint32_t>(b, find_bytes(b, "general.alignment") + 17 + 4, 48); },
       {"general.alignment", "power of two", "48"}},
      {"duplicate key",
       [](auto& b) { b[find_bytes(b, kDupKeyB) + std::strlen(kDupKeyB) - 1] = '1'; },
       {"duplicate metadata key 'test.dup_k1'"}},
      {"n_dims 5", [ta](auto& b) { poke<uint32_t>(b, n_dims_at(b, ta), 5); }, {ta, "5 dimensions"}},
      {"n_dims 0", [ta](auto& b) { poke<uint32_t>(b, n_dims_at(b, ta), 0); }, {ta, "0 dimensions"}},
      {"dims product overflows",
       [ta](auto& b) {
         poke<uint64_t>(b, n_dims_at(b, ta) + 4, uint64_t(1) << 40);
         poke<uint64_t>(b, n_dims_at(b, ta) + 12, uint64_t(1) << 40);
       },
       {ta, "int64"}},
      {"negative dim",
       [ta](auto& b) { poke<uint64_t>(b, n_dims_at(b, ta) + 4, ~uint64_t(0)); },
       {ta, "non-negative"}},
      {"unknown tensor type",
       [ta](auto& b) { poke<uint32_t>(b, type_at(b, ta), 77); },
       {ta, "tensor type 77"}},
      {"row not a multiple of the block",
       [tb](auto& b) { poke<uint64_t>(b, n_dims_at(b, tb) + 4, 16); },
       {tb, "row length 16", "block size 32"}},
      {"misaligned offset",
       [tb](auto& b) {
         poke<uint64_t>(b, offset_at(b, tb), peek<uint64_t>(b, offset_at(b, tb)) + 1);
       },
       {tb, "not a multiple of the alignment 32"}},
      {"offset past end",
       [tb](auto& b) { poke<uint64_t>(b, offset_at(b, tb), 1u << 20); },
       {tb, "runs past the end", "truncated"}},
      {"offset overflows",
       [tb](auto& b) { poke<uint64_t>(b, offset_at(b, tb), ~uint64_t(31)); },
       {tb, "runs past the end"}},
      {"duplicate tensor name",
       [tb](auto& b) {
         const size_t end = n_dims_at(b, tb);
         b[end - 1] = b[end - 2] = 'a';
       },
       {"duplicate tensor name 'tensor.aa'"}},
  };
}

TEST(GgufDamage, EachDamagedFileGivesAClearError) {
  const std::string path = test::temp_path("damage");
  const GoodFile good = make_good_file(path);
  for (const DamageCase& c : damage_cases()) {
    SCOPED_TRACE(c.label);
    std::vector<uint8_t> b = good.bytes;
    c.patch(b);
    ASSERT_NE(b, good.bytes) << "the patch changed nothing";
    test::write_bytes(path, b);
    auto f = GgufFile::open(path);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.message().find(path), std::string::npos) << f.message();
    for (const std::string& e : c.expect)
      EXPECT_NE(f.message().find(e), std::string::npos) << "want '" << e << "' in: " << f.message();
  }
  std::filesystem::remove(path);
}

TEST(GgufDamage, VersionTwoIsAccepted) {
  const std::string path = test::temp_path("v2");
  std::vector<uint8_t> b = make_good_file(path).bytes;
  poke<uint32_t>(b, 4, 2);
  test::write_bytes(path, b);
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->version(), 2u);
  std::filesystem::remove(path);
}

// Every prefix of the file: those that cut the header or tensor data fail with an error; none
// may crash or read out of bounds (the suite also runs under ASan).
TEST(GgufDamage, EveryTruncationFailsCleanly) {
  const std::string path = test::temp_path("trunc");
  const GoodFile good = make_good_file(path);
  ASSERT_GT(good.data_end, 0u);
  for (size_t len = 0; len <= good.bytes.size(); ++len) {
    test::write_bytes(path, std::vector<uint8_t>(good.bytes.begin(), good.bytes.begin() + len));
    auto f = GgufFile::open(path);
    if (len >= good.data_end) {
      EXPECT_TRUE(f.ok()) << "len " << len << ": " << f.message();
    } else {
      ASSERT_FALSE(f.ok()) << "len " << len;
      EXPECT_NE(f.message().find(path), std::string::npos) << f.message();
    }
  }
  std::filesystem::remove(path);
}

TEST(GgufDamage, TruncatedDataNamesTheTensor) {
  const std::string path = test::temp_path("truncdata");
  const GoodFile good = make_good_file(path);
  test::write_bytes(
      path, std::vector<uint8_t>(good.bytes.begin(), good.bytes.begin() + good.data_end - 1));
  auto f = GgufFile::open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.message().find(std::string("tensor '") + kTensorB + "' data"), std::string::npos)
      << f.message();
  EXPECT_NE(f.message().find("truncated"), std::string::npos) << f.message();
  std::filesystem::remove(path);
}

TEST(GgufDamage, DeeplyNestedArraysAreRejected) {
  const std::string path = test::temp_path("deep");
  const int32_t one = 1;
  GgufValue v = GgufValue::from_raw_array(GgufValueType::kI32, &one, 1);
  for (int i = 0; i < 20; ++i) v = GgufValue::from_arrays({v});
  GgufWriter w;
  w.set_value("test.deep", v);
  ASSERT_TRUE(w.write(path).ok());
  auto f = GgufFile::open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.message().find("test.deep"), std::string::npos) << f.message();
  EXPECT_NE(f.message().find("deeper"), std::string::npos) << f.message();
  std::filesystem::remove(path);
}

TEST(GgufDamage, MissingAndEmptyFiles) {
  auto missing = GgufFile::open("/nonexistent/silica/model.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("/nonexistent/silica/model.gguf"), std::string::npos);
  const std::string path = test::temp_path("empty");
  test::write_bytes(path, {});
  auto empty = GgufFile::open(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.message().find("not a GGUF file"), std::string::npos) << empty.message();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace silica
