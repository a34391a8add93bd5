// make_test_model: writes a deterministic random-weight llama / qwen2 GGUF for tests, and with
// --hf-out the same weights as a Hugging Face folder (config.json + safetensors + tokenizer).
//
// Weights are reproducible from --seed on any platform (own PRNG, no <random> distributions).
// The output projection is scaled so greedy decoding is decisive: top-1 vs top-2 logit margins
// are large, so silica and llama.cpp agree token for token despite rounding differences.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <numbers>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "format/gguf.h"
#include "model/hf_export.h"
#include "tensor/dtype.h"
#include "tensor/reference.h"

namespace silica {
namespace {

// Std of a logit for a unit-RMS final hidden state: output.weight ~ N(0, (k/sqrt(n_embd))^2).
// Random-model top-1 / top-2 gaps scale with it; 1/sqrt(n_embd) alone gives gaps ~0.2.
constexpr double kOutputLogitStd = 16.0;
constexpr double kNormWeightStd = 0.1;  // norm weights ~ 1 + N(0, 0.1^2)
constexpr double kBiasStd = 0.1;        // qwen2 q/k/v biases
constexpr uint32_t kAlignment = 32;

// ---- deterministic random numbers ----

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Standard normals by Box-Muller, in double so every libm rounds the same inputs the same way.
class NormalRng {
 public:
  NormalRng(uint64_t seed, std::string_view stream) : state_(seed ^ fnv1a(stream)) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    // u1 in (0, 1]: never log(0).
    const double u1 = double((splitmix64(state_) >> 11) + 1) * 0x1.0p-53;
    const double u2 = double(splitmix64(state_) >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// ---- options ----

struct Options {
  std::string out, type = "f16", arch = "llama", vocab, tokenizer_json, tokenizer_config;
  std::string pre = "llama-bpe", llama3_rope, hf_out;
  int hf_shards = 1;
  int64_t n_embd = 256, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 512, n_ctx = 2048;
  double rope_base = 10000.0, rms_eps = 1e-5;
  bool tied = false;
  uint64_t seed = 1;
};

struct Llama3Rope {
  double factor, low_freq_factor, high_freq_factor;
  int64_t original_ctx;
};

// ---- tensor types ----

// The file's base type and the llama.cpp ftype id for general.file_type.
struct TypePlan {
  DType base;
  bool k_m_mix = false;  // q4_K_M: ffn_down / attn_v / output in q6_K
  uint32_t file_type;
};

std::optional<TypePlan> plan_for(const std::string& name) {
  static const std::map<std::string, TypePlan> kPlans = {
      {"f32", {DType::kF32, false, 0}},    {"f16", {DType::kF16, false, 1}},
      {"bf16", {DType::kBF16, false, 32}}, {"q4_0", {DType::kQ4_0, false, 2}},
      {"q4_1", {DType::kQ4_1, false, 3}},  {"q8_0", {DType::kQ8_0, false, 7}},
      {"q5_0", {DType::kQ5_0, false, 8}},  {"q5_1", {DType::kQ5_1, false, 9}},
      {"q2_k", {DType::kQ2_K, false, 10}}, {"q3_k", {DType::kQ3_K, false, 11}},
      {"q4_k", {DType::kQ4_K, false, 14}}, {"q5_k", {DType::kQ5_K, false, 16}},
      {"q6_k", {DType::kQ6_K, false, 18}}, {"q4_k_m", {DType::kQ4_K, true, 15}},
  };
  std::string lower;
  for (char c : name) lower += char(std::tolower(static_cast<unsigned char>(c)));
  auto it = kPlans.find(lower);
  if (it == kPlans.end()) return std::nullopt;
  return it->second;
}

// A type whose block fits rows of n_in, as llama.cpp's quantizer falls back: k-quants to a
// 32-element type of similar size, anything still misfit to f16.
DType fit_type(DType want, int64_t n_in, const std::string& tensor) {
  if (n_in % dtype_traits(want)->block_size == 0) return want;
  DType alt = DType::kF16;
  switch (want) {
    case DType::kQ2_K:
    case DType::kQ3_K:
      alt = DType::kQ4_0;
      break;  // llama.cpp uses iq4_nl, which we lack
    case DType::kQ4_K:
      alt = DType::kQ5_0;
      break;
    case DType::kQ5_K:
      alt = DType::kQ5_1;
      break;
    case DType::kQ6_K:
      alt = DType::kQ8_0;
      break;
    default:
      break;
  }
  if (n_in % dtype_traits(alt)->block_size != 0) alt = DType::kF16;
  std::fprintf(
      stderr,
      "make_test_model: %s: row length %lld is not a multiple of %s's block %lld; using %s\n",
      tensor.c_str(), (long long)n_in, dtype_name(want), (long long)dtype_traits(want)->block_size,
      dtype_name(alt));
  return alt;
}

// Rows are independent, so they are quantized in parallel; the bytes do not depend on threads.
std::vector<uint8_t> encode(DType type, const std::vector<float>& values, int64_t row_len) {
  const int64_t n_rows = int64_t(values.size()) / row_len;
  const size_t row_bytes = dtype_row_size(type, row_len);
  std::vector<uint8_t> out(row_bytes * size_t(n_rows));
  const int64_t n_threads =
      std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, std::max<int64_t>(1, n_rows));
  std::vector<std::thread> workers;
  for (int64_t t = 0; t < n_threads; ++t)
    workers.emplace_back([&, t] {
      for (int64_t r = t * n_rows / n_threads; r < (t + 1) * n_rows / n_threads; ++r)
        quantize_row_ref(type, values.data() + r * row_len, out.data() + size_t(r) * row_bytes,
                         row_len);
    });
  for (auto& w : workers) w.join();
  return out;
}

// ---- model building ----

class ModelBuilder {
 public:
  ModelBuilder(const Options& o, TypePlan plan) : o_(o), plan_(plan) {}

  // N(mean, std^2) values for a tensor of n elements, streamed from the tensor's own seed.
  std::vector<float> normal(const std::string& name, size_t n, double mean, double std) const {
    NormalRng rng(o_.seed, name);
    std::vector<float> v(n);
    for (float& x : v) x = float(mean + std * rng.next());
    return v;
  }

  // ne = [n_in, n_out]: a weight matrix in `want` (or its fallback).
  void add_matrix(const std::string& name, DType want, int64_t n_in, int64_t n_out, double std) {
    const DType type = fit_type(want, n_in, name);
    add(name, type, {n_in, n_out}, normal(name, size_t(n_in * n_out), 0.0, std));
  }
  void add_f32(const std::string& name, int64_t n, double mean, double std) {
    add(name, DType::kF32, {n}, normal(name, size_t(n), mean, std));
  }
  void add(const std::string& name, DType type, std::vector<int64_t> ne,
           const std::vector<float>& values) {
    ++type_counts_[dtype_name(type)];
    const int64_t row_len = ne[0];
    w_.add_tensor(name, type, std::move(ne), encode(type, values, row_len));
  }

  GgufWriter& writer() { return w_; }
  const std::map<std::string, int>& type_counts() const { return type_counts_; }

  void add_weights(int64_t n_vocab) {
    const int64_t n_embd = o_.n_embd, head_dim = o_.n_embd / o_.n_head;
    const int64_t n_kv = head_dim * o_.n_head_kv;
    const DType base = plan_.base;
    const DType mixed = plan_.k_m_mix ? DType::kQ6_K : base;
    const double lin = 1.0 / std::sqrt(double(n_embd));
    add_matrix("token_embd.weight", base, n_embd, n_vocab, 1.0);
    add_f32("output_norm.weight", n_embd, 1.0, kNormWeightStd);
    if (!o_.tied) add_matrix("output.weight", mixed, n_embd, n_vocab, kOutputLogitStd * lin);
    for (int64_t l = 0; l < o_.n_layer; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      add_f32(p + "attn_norm.weight", n_embd, 1.0, kNormWeightStd);
      add_matrix(p + "attn_q.weight", base, n_embd, n_embd, lin);
      add_matrix(p + "attn_k.weight", base, n_embd, n_kv, lin);
      add_matrix(p + "attn_v.weight", mixed, n_embd, n_kv, lin);
      if (o_.arch == "qwen2") {
        add_f32(p + "attn_q.bias", n_embd, 0.0, kBiasStd);
        add_f32(p + "attn_k.bias", n_kv, 0.0, kBiasStd);
        add_f32(p + "attn_v.bias", n_kv, 0.0, kBiasStd);
      }
      add_matrix(p + "attn_output.weight", base, n_embd, n_embd, lin);
      add_f32(p + "ffn_norm.weight", n_embd, 1.0, kNormWeightStd);
      add_matrix(p + "ffn_gate.weight", base, n_embd, o_.n_ff, lin);
      add_matrix(p + "ffn_up.weight", base, n_embd, o_.n_ff, lin);
      add_matrix(p + "ffn_down.weight", mixed, o_.n_ff, n_embd, 1.0 / std::sqrt(double(o_.n_ff)));
    }
  }

 private:
  const Options& o_;
  TypePlan plan_;
  GgufWriter w_;
  std::map<std::string, int> type_counts_;
};

// ---- metadata ----

Expected<Llama3Rope> parse_llama3_rope(const std::string& s) {
  Llama3Rope r{};
  char extra = 0;
  long long ctx = 0;
  if (std::sscanf(s.c_str(), "%lf,%lf,%lf,%lld%c", &r.factor, &r.low_freq_factor,
                  &r.high_freq_factor, &ctx, &extra) != 4 ||
      r.factor <= 0 || r.low_freq_factor <= 0 || r.high_freq_factor <= r.low_freq_factor ||
      ctx <= 0)
    return make_error(
        "--llama3-rope '{}': expected FACTOR,LOW,HIGH,ORIGCTX with 0 < LOW < HIGH (e.g. "
        "8,1,4,8192)",
        s);
  r.original_ctx = ctx;
  return r;
}

// Llama 3.1 rope scaling as per-frequency divisors (rope_freqs.weight): high frequencies are
// kept, low ones divided by `factor`, and the band between is interpolated smoothly.
std::vector<float> llama3_rope_factors(const Llama3Rope& r, double base, int64_t head_dim) {
  const double low_freq_wavelen = double(r.original_ctx) / r.low_freq_factor;
  const double high_freq_wavelen = double(r.original_ctx) / r.high_freq_factor;
  std::vector<float> out;
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    const double freq = std::pow(base, -2.0 * double(i) / double(head_dim));
    const double wavelen = 2.0 * std::numbers::pi / freq;
    double f = 1.0;
    if (wavelen > low_freq_wavelen) {
      f = r.factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (double(r.original_ctx) / wavelen - r.low_freq_factor) /
                            (r.high_freq_factor - r.low_freq_factor);
      f = 1.0 / ((1.0 - smooth) / r.factor + smooth);
    }
    out.push_back(float(f));
  }
  return out;
}

void set_hparams(GgufWriter& w, const Options& o, const TypePlan& plan, int64_t n_vocab) {
  const std::string a = o.arch + ".";
  w.set_string("general.architecture", o.arch);
  w.set_string("general.name", "silica-test-" + o.arch + "-" + o.type);
  w.set_u32("general.alignment", kAlignment);
  w.set_u32("general.file_type", plan.file_type);
  w.set_u32(a + "context_length", uint32_t(o.n_ctx));
  w.set_u32(a + "embedding_length", uint32_t(o.n_embd));
  w.set_u32(a + "block_count", uint32_t(o.n_layer));
  w.set_u32(a + "feed_forward_length", uint32_t(o.n_ff));
  w.set_u32(a + "attention.head_count", uint32_t(o.n_head));
  w.set_u32(a + "attention.head_count_kv", uint32_t(o.n_head_kv));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", float(o.rms_eps));
  w.set_f32(a + "rope.freq_base", float(o.rope_base));
  w.set_u32(a + "rope.dimension_count", uint32_t(o.n_embd / o.n_head));
  w.set_u32(a + "vocab_size", uint32_t(n_vocab));
}

// The Llama 3.1 parameters, for readers that want them. Type "none" matters: the scaling lives
// entirely in rope_freqs.weight, and llama.cpp would otherwise apply `factor` a second time as
// linear scaling (it reads rope.scaling.factor unless the type is none).
void set_llama3_rope_keys(GgufWriter& w, const Options& o, const Llama3Rope& r) {
  const std::string a = o.arch + ".rope.scaling.";
  w.set_string(a + "type", "none");
  w.set_f32(a + "factor", float(r.factor));
  w.set_f32(a + "low_freq_factor", float(r.low_freq_factor));
  w.set_f32(a + "high_freq_factor", float(r.high_freq_factor));
  w.set_u32(a + "original_context_length", uint32_t(r.original_ctx));
}

// ---- tokenizer ----

Expected<int64_t> copy_vocab(GgufWriter& w, const std::string& path) {
  SILICA_ASSIGN_OR_RETURN(GgufFile f, GgufFile::open(path));
  for (const auto& [key, value] : f.metadata())
    if (key.rfind("tokenizer.", 0) == 0) w.set_value(key, value);
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  if (!tokens || !tokens->is_array() || tokens->array_size() == 0)
    return make_error("{}: no tokenizer.ggml.tokens array: not a vocab GGUF", path);
  return int64_t(tokens->array_size());
}

Expected<nlohmann::json> read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("cannot open '{}'", path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("{}: not valid JSON", path);
  return j;
}

// "<0x0A>"-style byte tokens (SentencePiece byte fallback).
bool is_byte_token(const std::string& t) {
  return t.size() == 6 && t.rfind("<0x", 0) == 0 && t[5] == '>' && std::isxdigit(t[3]) &&
         std::isxdigit(t[4]);
}

// A special token named by tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> config_token(const nlohmann::json& cfg, const char* key) {
  if (!cfg.contains(key)) return std::nullopt;
  const auto& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return std::nullopt;
}

Expected<int64_t> convert_tokenizer_json(GgufWriter& w, const Options& o) {
  SILICA_ASSIGN_OR_RETURN(nlohmann::json tok, read_json(o.tokenizer_json));
  const auto& model = tok["model"];
  if (!model.is_object() || model.value("type", "") != "BPE" || !model["vocab"].is_object())
    return make_error("{}: expected a BPE model with a vocab object", o.tokenizer_json);
  std::map<int64_t, std::pair<std::string, int32_t>> by_id;  // id -> (text, token type)
  for (const auto& [text, id] : model["vocab"].items())
    by_id[id.get<int64_t>()] = {text, is_byte_token(text) ? 6 : 1};
  if (tok["added_tokens"].is_array())
    for (const auto& t : tok["added_tokens"])
      by_id[t["id"].get<int64_t>()] = {t["content"].get<std::string>(),
                                       t.value("special", false) ? 3 : 4};
  if (by_id.empty() || by_id.begin()->first < 0)
    return make_error("{}: empty vocabulary or negative token id", o.tokenizer_json);
  const int64_t n_vocab = by_id.rbegin()->first + 1;
  std::vector<std::string> tokens(static_cast<size_t>(n_vocab));
  std::vector<int32_t> types(size_t(n_vocab), 5);  // holes become unused "[PAD<id>]" entries
  std::map<std::string, int64_t> id_of;
  for (int64_t i = 0; i < n_vocab; ++i) tokens[size_t(i)] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [id, tt] : by_id) {
    tokens[size_t(id)] = tt.first;
    types[size_t(id)] = tt.second;
    id_of[tt.first] = id;
  }
  std::vector<std::string> merges;
  for (const auto& m : model["merges"])  // "a b" strings, or ["a", "b"] pairs in newer files
    merges.push_back(m.is_string() ? m.get<std::string>()
                                   : m[0].get<std::string>() + " " + m[1].get<std::string>());
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", o.pre);
  w.set_array_strings("tokenizer.ggml.tokens", std::move(tokens));
  w.set_array_i32("tokenizer.ggml.token_type", types);
  w.set_array_strings("tokenizer.ggml.merges", std::move(merges));
  if (o.tokenizer_config.empty()) return n_vocab;
  SILICA_ASSIGN_OR_RETURN(nlohmann::json cfg, read_json(o.tokenizer_config));
  for (auto [key, gguf_key] : {std::pair{"bos_token", "tokenizer.ggml.bos_token_id"},
                               std::pair{"eos_token", "tokenizer.ggml.eos_token_id"}}) {
    auto text = config_token(cfg, key);
    if (!text) continue;
    auto it = id_of.find(*text);
    if (it == id_of.end())
      return make_error("{}: {} '{}' is not in the vocabulary of {}", o.tokenizer_config, key,
                        *text, o.tokenizer_json);
    w.set_u32(gguf_key, uint32_t(it->second));
  }
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean())
    w.set_bool("tokenizer.ggml.add_bos_token", cfg["add_bos_token"].get<bool>());
  if (cfg.contains("chat_template") && cfg["chat_template"].is_string())
    w.set_string("tokenizer.chat_template", cfg["chat_template"].get<std::string>());
  return n_vocab;
}

// ---- main ----

Status check_shapes(const Options& o) {
  if (o.arch != "llama" && o.arch != "qwen2")
    return make_error("--arch '{}': expected llama or qwen2", o.arch);
  if (o.n_embd <= 0 || o.n_layer <= 0 || o.n_head <= 0 || o.n_head_kv <= 0 || o.n_ff <= 0 ||
      o.n_ctx <= 0)
    return make_error("--embd, --layers, --heads, --kv-heads, --ff and --ctx must be positive");
  if (o.n_embd % o.n_head != 0 || (o.n_embd / o.n_head) % 2 != 0)
    return make_error("--embd {} must be --heads {} times an even head size", o.n_embd, o.n_head);
  if (o.n_head % o.n_head_kv != 0)
    return make_error("--heads {} must be a multiple of --kv-heads {}", o.n_head, o.n_head_kv);
  if (o.vocab.empty() == o.tokenizer_json.empty())
    return make_error("give exactly one of --vocab FILE.gguf or --tokenizer-json FILE");
  return {};
}

Status run(const Options& o) {
  SILICA_RETURN_IF_ERROR(check_shapes(o));
  auto plan = plan_for(o.type);
  if (!plan) return make_error("--type '{}': unknown (see --help for the list)", o.type);
  ModelBuilder b(o, *plan);
  GgufWriter& w = b.writer();
  int64_t n_vocab = 0;
  set_hparams(w, o, *plan, 0);  // keys first, in llama.cpp's usual order; vocab size below
  if (!o.vocab.empty()) {
    SILICA_ASSIGN_OR_RETURN(n_vocab, copy_vocab(w, o.vocab));
  } else {
    SILICA_ASSIGN_OR_RETURN(n_vocab, convert_tokenizer_json(w, o));
  }
  w.set_u32(o.arch + ".vocab_size", uint32_t(n_vocab));
  if (!o.llama3_rope.empty()) {
    SILICA_ASSIGN_OR_RETURN(Llama3Rope r, parse_llama3_rope(o.llama3_rope));
    set_llama3_rope_keys(w, o, r);
    const auto factors = llama3_rope_factors(r, o.rope_base, o.n_embd / o.n_head);
    b.add("rope_freqs.weight", DType::kF32, {int64_t(factors.size())}, factors);
  }
  b.add_weights(n_vocab);
  SILICA_RETURN_IF_ERROR(w.write(o.out));
  if (!o.hf_out.empty()) {
    if (plan->base != DType::kF32 && plan->base != DType::kF16 && plan->base != DType::kBF16)
      return make_error("--hf-out needs --type f32, f16 or bf16 (found {})", o.type);
    SILICA_ASSIGN_OR_RETURN(GgufFile written, GgufFile::open(o.out));
    SILICA_RETURN_IF_ERROR(write_hf_folder(
        written, o.hf_out, HfExportOptions{o.hf_shards, o.tokenizer_json, o.tokenizer_config}));
    fmt::print("{}: Hugging Face folder of the same weights ({} shard(s))\n", o.hf_out,
               o.hf_shards);
  }

  std::string types;
  for (const auto& [name, n] : b.type_counts())
    types += fmt::format("{}{} x{}", types.empty() ? "" : ", ", name, n);
  std::FILE* f = std::fopen(o.out.c_str(), "rb");
  long size = 0;
  if (f) {
    std::fseek(f, 0, SEEK_END);
    size = std::ftell(f);
    std::fclose(f);
  }
  fmt::print("{}: {} bytes, {} {} embd {} layers {} heads {}/{} ff {} vocab {}{}: {}\n", o.out,
             size, o.arch, o.type, o.n_embd, o.n_layer, o.n_head, o.n_head_kv, o.n_ff, n_vocab,
             o.tied ? " tied" : "", types);
  return {};
}

}  // namespace
}  // namespace silica

int main(int argc, char** argv) {
  silica::Options o;
  CLI::App app{"Write a deterministic random-weight llama/qwen2 GGUF for tests"};
  app.add_option("--out", o.out, "output GGUF file")->required();
  app.add_option("--type", o.type,
                 "f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K q4_K_M");
  app.add_option("--arch", o.arch, "llama or qwen2 (adds q/k/v biases)");
  app.add_option("--embd", o.n_embd, "embedding length");
  app.add_option("--layers", o.n_layer, "block count");
  app.add_option("--heads", o.n_head, "attention heads");
  app.add_option("--kv-heads", o.n_head_kv, "key/value heads");
  app.add_option("--ff", o.n_ff, "feed-forward length");
  app.add_option("--ctx", o.n_ctx, "context length");
  app.add_option("--rope-base", o.rope_base, "rope frequency base");
  app.add_option("--rms-eps", o.rms_eps, "rms norm epsilon");
  app.add_flag("--tied", o.tied, "no output.weight: the output reuses token_embd");
  app.add_option("--llama3-rope", o.llama3_rope, "FACTOR,LOW,HIGH,ORIGCTX: Llama 3.1 scaling");
  app.add_option("--vocab", o.vocab, "copy tokenizer.* keys from this vocab-only GGUF");
  app.add_option("--tokenizer-json", o.tokenizer_json, "Hugging Face tokenizer.json (BPE)");
  app.add_option("--tokenizer-config", o.tokenizer_config,
                 "tokenizer_config.json (bos/eos, chat template)");
  app.add_option("--pre", o.pre, "tokenizer.ggml.pre for --tokenizer-json");
  app.add_option("--seed", o.seed, "random seed");
  app.add_option("--hf-out", o.hf_out,
                 "also write the same weights as a Hugging Face folder (f32/f16/bf16; tokenizer "
                 "files copied from --tokenizer-json/--tokenizer-config)");
  app.add_option("--hf-shards", o.hf_shards, "safetensors shards in --hf-out (index when > 1)");
  CLI11_PARSE(app, argc, argv);
  silica::Status st = silica::run(o);
  if (!st.ok()) {
    std::fprintf(stderr, "make_test_model: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}
