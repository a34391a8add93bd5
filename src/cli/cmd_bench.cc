// `silica bench MODEL...`: prompt-processing and generation speed as llama-bench measures them
// (pp: one prompt of N tokens in batches; tg: N tokens one at a time on an empty context), with
// time to first token, load time (cold and warm page cache), peak RSS and the memory-bandwidth
// bound, optionally side by side with llama.cpp (node-llama-cpp) in the same run, reps
// interleaved.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "base/mapped_file.h"
#include "base/thread_pool.h"
#include "base/timer.h"
#include "cli/bench_llamacpp.h"
#include "cli/bench_machine.h"
#include "cli/bench_report.h"
#include "cli/commands.h"
#include "engine/session.h"
#include "kernels/packed.h"
#include "model/weights.h"
#include "sample/stages.h"
#include "store/model_layers.h"

namespace silica {
namespace {

struct BenchOptions {
  std::vector<std::string> models;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  std::vector<int> threads;  // empty: one per physical core
  int reps = 3;
  int64_t batch = 512;
  int64_t depth = 0;  // tokens in the context before each test
  bool vs_llamacpp = false;
  bool no_cold = false;
  std::string json_path;  // "-": stdout
  std::string plot_path;
};

// The rows of one model at one thread count, for each engine.
struct RowSet {
  BenchRow pp, tg;
};

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? kNotMeasured : s / double(v.size());
}

// Bytes one decode step reads: every weight tensor, but of an untied token embedding only the
// one row the token looks up; and the fp16 K and V rows that attention reads, at the average
// context of n_gen steps after `depth` tokens (2 MiB at 64 tokens, 128 MiB at 4096 for the 1B
// shape).
double bytes_per_token(const Model& m, int64_t depth, int64_t n_gen) {
  double n = double(m.weight_bytes());
  const TensorRef& emb = m.weights().tok_embd;
  if (m.file().find_tensor("output.weight") != nullptr && emb)
    n -= double(emb.rows() - 1) * double(emb.row_bytes());
  const ModelHParams& hp = m.hparams();
  const double kv_per_position = double(hp.n_layer) * 2 * double(hp.n_embd_kv()) * 2;
  return n + kv_per_position * (double(depth) + double(n_gen + 1) / 2);
}

// The memory one decode step streams: every matrix as the kernels read it (its packed copy,
// else the file's bytes); the norms are noise beside them.
std::vector<MemorySpan> decode_spans(const Model& m) {
  std::vector<MemorySpan> spans;
  auto add = [&](const TensorRef& t) {
    if (!t) return;
    if (t.packed)
      spans.push_back({t.packed->group(0), t.packed->bytes()});
    else
      spans.push_back({t.data, size_t(t.rows()) * t.row_bytes()});
  };
  for (const LayerWeights& l : m.weights().layers)
    for (const TensorRef* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) add(*t);
  add(m.weights().output);
  return spans;
}

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Deterministic token ids spread over the vocabulary (the content does not change the cost).
std::vector<int32_t> bench_prompt(int64_t n, int64_t n_vocab) {
  std::vector<int32_t> prompt(size_t(std::max<int64_t>(n, 1)));
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& t : prompt) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    t = int32_t(x % uint64_t(n_vocab));
  }
  return prompt;
}

// One silica pp rep after the first `keep` tokens of the context: (tokens/s, TTFT ms); the
// clock covers prompt eval + the first greedy token.
std::pair<double, double> silica_pp(Session& s, const std::vector<int32_t>& prompt, int64_t keep) {
  s.truncate(keep);
  const int64_t t0 = now_ns();
  if (auto st = s.eval(prompt); !st.ok()) fail(st.message());
  (void)argmax_logits(s.last_logits());
  const double ns = double(now_ns() - t0);
  return {double(prompt.size()) * 1e9 / ns, ns / 1e6};
}

// One silica tg rep: n greedy decode steps after the first `keep` tokens of the context, each
// feeding back its token.
double silica_tg(Session& s, int32_t first, int64_t n, int64_t keep) {
  s.truncate(keep);
  int32_t tok = first;
  const int64_t t0 = now_ns();
  for (int64_t i = 0; i < n; ++i) {
    if (auto st = s.eval({tok}); !st.ok()) fail(st.message());
    tok = argmax_logits(s.last_logits());
  }
  return double(n) * 1e9 / double(now_ns() - t0);
}

template <typename T>
T need(Expected<T> e) {
  if (!e) fail(e.message());
  return std::move(*e);
}

void llama_pp(LlamaCppRunner& r, const std::vector<int32_t>& prompt, int64_t keep, RowSet& rows,
              bool count) {
  auto j = need(r.call({{"op", "pp"}, {"tokens", prompt}, {"keep", keep}}));
  const double ms = j.at("ms").get<double>();
  if (!count) return;
  rows.pp.tokens_per_s.push_back(double(prompt.size()) * 1e3 / ms);
  rows.pp.ttft_ms += ms;  // summed here, divided by reps at the end
}

void llama_tg(LlamaCppRunner& r, int32_t first, int64_t n, int64_t keep, RowSet& rows, bool count) {
  auto j = need(r.call({{"op", "tg"}, {"token", first}, {"n", n}, {"keep", keep}}));
  if (j.at("n").get<int64_t>() != n)
    fail(fmt::format("llama.cpp generated {} of {} tokens", j.at("n").get<int64_t>(), n));
  if (count) rows.tg.tokens_per_s.push_back(double(n) * 1e3 / j.at("ms").get<double>());
}

RowSet make_rows(const char* engine, const std::string& model, const Model& m, int threads,
                 const BenchOptions& o) {
  RowSet rs;
  for (BenchRow* r : {&rs.pp, &rs.tg}) {
    r->engine = engine;
    r->model = model;
    r->type = upper(m.dominant_type());
    r->size_bytes = int64_t(m.weight_bytes());
    r->threads = threads;
  }
  // Named as llama-bench names them: "pp512", "tg128 @ d4096".
  const std::string at = o.depth > 0 ? fmt::format(" @ d{}", o.depth) : "";
  rs.pp.test = fmt::format("pp{}{}", o.n_prompt, at), rs.pp.n_tokens = o.n_prompt;
  rs.tg.test = fmt::format("tg{}{}", o.n_gen, at), rs.tg.n_tokens = o.n_gen;
  rs.pp.depth = rs.tg.depth = o.depth;
  rs.pp.ttft_ms = 0;
  rs.tg.bytes_per_token = bytes_per_token(m, o.depth, o.n_gen);
  return rs;
}

// All reps of one model at one thread count; appends to `silica` and `llama` rows.
void bench_threads(const LoadedModel& lm, int threads, const BenchOptions& o, LlamaCppRunner* peer,
                   RowSet& silica, RowSet& llama) {
  const int64_t n_vocab = lm.model->hparams().n_vocab;
  // The depth's tokens, then the prompt's (at least one: tg starts from prompt[0]).
  const std::vector<int32_t> all =
      bench_prompt(o.depth + std::max<int64_t>(o.n_prompt, 1), n_vocab);
  const std::vector<int32_t> context(all.begin(), all.begin() + o.depth);
  const std::vector<int32_t> prompt(all.begin() + o.depth, all.end());
  const int64_t n_batch = std::max<int64_t>(1, std::min(o.batch, std::max(o.n_prompt, o.depth)));
  ForwardOptions fo;
  fo.n_ctx = o.depth + std::max(o.n_prompt, o.n_gen) + 1;
  fo.n_batch = n_batch;
  fo.n_threads = threads;
  std::unique_ptr<Session> session = need(Session::create(lm, fo));
  // The bandwidth bound is measured right before and right after every counted tg rep of either
  // engine (the host's bandwidth moves by tens of percent within minutes), by reading the
  // weights themselves; the rep's own bound is the mean of its two probes.
  ThreadPool probe_pool(threads);
  const std::vector<MemorySpan> spans = decode_spans(*lm.model);
  std::vector<double> gbps;
  auto probed = [&](BenchRow& row, auto&& run_rep) {
    const double before = measure_span_read_gbps(probe_pool, spans);
    run_rep();
    const double after = measure_span_read_gbps(probe_pool, spans);
    gbps.insert(gbps.end(), {before, after});
    row.bandwidth_samples_gbps.push_back((before + after) / 2);
  };
  if (peer)
    need(peer->call(
        {{"op", "context"}, {"threads", threads}, {"n_ctx", fo.n_ctx}, {"n_batch", n_batch}}));
  // The depth is evaluated once (untimed); every rep then cuts the context back to it.
  if (o.depth > 0) {
    fmt::print(stderr, "\r{}: {} thread(s), filling {} tokens of context        ",
               lm.model->file().path(), threads, o.depth);
    if (auto st = session->eval(context); !st.ok()) fail(st.message());
    if (peer) need(peer->call({{"op", "depth"}, {"tokens", context}}));
  }
  for (int r = 0; r <= o.reps; ++r) {  // round 0 warms caches and is not counted
    const bool count = r > 0;
    fmt::print(stderr, "\r{}: {} thread(s), {}        ", lm.model->file().path(), threads,
               count ? fmt::format("rep {}/{}", r, o.reps) : std::string("warm-up"));
    std::fflush(stderr);
    if (o.n_prompt > 0) {
      auto [tps, ttft] = silica_pp(*session, prompt, o.depth);
      if (count) silica.pp.tokens_per_s.push_back(tps), silica.pp.ttft_ms += ttft;
    }
    if (o.n_gen > 0) {
      auto rep = [&] {
        const double tps = silica_tg(*session, prompt[0], o.n_gen, o.depth);
        if (count) silica.tg.tokens_per_s.push_back(tps);
      };
      count ? probed(silica.tg, rep) : rep();
    }
    if (peer && o.n_prompt > 0) llama_pp(*peer, prompt, o.depth, llama, count);
    if (peer && o.n_gen > 0) {
      auto rep = [&] { llama_tg(*peer, prompt[0], o.n_gen, o.depth, llama, count); };
      count ? probed(llama.tg, rep) : rep();
    }
  }
  fmt::print(stderr, "\n");
  silica.tg.bandwidth_gbps = llama.tg.bandwidth_gbps = mean_of(gbps);
  silica.pp.ttft_ms /= o.reps;
  llama.pp.ttft_ms /= o.reps;
}

// Drops `path` from the page cache so that the next load reads the disk; false, with a warning,
// where its pages stay in memory (another process maps it, tmpfs, an OS that does not let us).
bool make_cold(const std::string& path) {
  constexpr double kColdEnough = 0.05;  // of the file's pages still in memory
  auto left = evict_from_page_cache(path);
  if (left && *left <= kColdEnough) return true;
  fmt::print(stderr, "warning: {}: cold load not measured ({})\n", path,
             left ? fmt::format("{:.0f}% of the file stayed in the page cache: another process "
                                "may map it, or it lives on tmpfs",
                                *left * 100)
                  : left.message());
  return false;
}

// Reads the file through once, untimed: the warm samples then find it in the page cache even
// where no cold load read it first (--no-cold), instead of the first engine to load paying for
// the disk (a 1.2 GiB Q8_0 file: 4717 ms, then 359).
void read_through(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> buf(size_t(1) << 20);
  while (f.read(buf.data(), std::streamsize(buf.size())) || f.gcount() > 0) {
  }
}

// Load times in ms, one per rep: a single load moves by a factor of two on a shared host.
struct LoadSamples {
  std::vector<double> cold, warm, llama_cold, llama_warm;
};

void bench_model(const std::string& path, const BenchOptions& o,
                 const std::vector<int>& thread_counts, const LlamaCppPaths* peer_paths,
                 std::vector<BenchRow>& out) {
  std::unique_ptr<LlamaCppRunner> peer;
  if (peer_paths) peer = need(LlamaCppRunner::start(*peer_paths));
  auto llama_load = [&] {
    return need(peer->call({{"op", "load"}, {"model", path}})).at("load_ms").get<double>();
  };
  auto silica_load_ms = [&] { return double(need(load_model_with_tokenizer(path)).load_ns) / 1e6; };
  // Cold loads first, -r of them per engine, interleaved, each from an emptied page cache (an
  // engine's model is closed before the other's eviction: a mapped file cannot be dropped).
  LoadSamples ls;
  for (int r = 0; r < o.reps && !o.no_cold; ++r) {
    if (!make_cold(path)) break;
    ls.cold.push_back(silica_load_ms());
    if (!peer) continue;
    if (!make_cold(path)) break;
    ls.llama_cold.push_back(llama_load());
    need(peer->call({{"op", "unload"}}));
  }
  // Then the warm loads (the file just read), interleaved; each engine's last stays for the runs.
  if (ls.cold.empty()) read_through(path);
  std::optional<LoadedModel> lm;
  for (int r = 0; r < o.reps; ++r) {
    lm.reset();  // one model in memory at a time, as a user would have
    lm.emplace(need(load_model_with_tokenizer(path)));
    ls.warm.push_back(double(lm->load_ns) / 1e6);
    if (peer) ls.llama_warm.push_back(llama_load());
  }
  std::vector<BenchRow> silica_rows, llama_rows;
  for (int threads : thread_counts) {
    RowSet s = make_rows("silica", path, *lm->model, threads, o);
    RowSet l = make_rows("llama.cpp", path, *lm->model, threads, o);
    bench_threads(*lm, threads, o, peer.get(), s, l);
    for (RowSet* rs : {&s, &l}) {
      if (o.n_prompt > 0) (rs == &s ? silica_rows : llama_rows).push_back(rs->pp);
      if (o.n_gen > 0) (rs == &s ? silica_rows : llama_rows).push_back(rs->tg);
    }
  }
  const int64_t silica_rss = peak_rss_bytes();
  const nlohmann::json llama_rss =
      peer ? need(peer->call({{"op", "rss"}})) : nlohmann::json::object();
  for (auto& r : silica_rows) {
    r.load_samples_ms = ls.warm, r.load_cold_samples_ms = ls.cold;
    r.load_ms = median_of(ls.warm), r.load_cold_ms = median_of(ls.cold);
    r.peak_rss_bytes = silica_rss;
  }
  for (auto& r : llama_rows) {
    r.load_samples_ms = ls.llama_warm, r.load_cold_samples_ms = ls.llama_cold;
    r.load_ms = median_of(ls.llama_warm), r.load_cold_ms = median_of(ls.llama_cold);
    r.peak_rss_bytes = llama_rss.value("peak_rss_bytes", int64_t(0));
    r.runtime_rss_bytes = llama_rss.value("node_rss_bytes", int64_t(0));
  }
  out.insert(out.end(), silica_rows.begin(), silica_rows.end());
  if (peer) out.insert(out.end(), llama_rows.begin(), llama_rows.end());
}

void check_options(BenchOptions& o) {
  if (o.threads.empty()) o.threads.push_back(ThreadPool::default_threads());
  for (int t : o.threads)
    if (t < 1) fail(fmt::format("-t/--threads: thread counts must be at least 1, got {}", t));
  if (o.reps < 1) fail(fmt::format("-r/--reps: must be at least 1, got {}", o.reps));
  if (o.n_prompt < 0 || o.n_gen < 0)
    fail(fmt::format("-p/-n: token counts must not be negative, got -p {} -n {}", o.n_prompt,
                     o.n_gen));
  if (o.n_prompt == 0 && o.n_gen == 0) fail("-p 0 and -n 0: nothing to measure");
  if (o.batch < 1) fail(fmt::format("-b/--batch: must be at least 1, got {}", o.batch));
  if (o.depth < 0) fail(fmt::format("-d/--depth: must not be negative, got {}", o.depth));
  for (auto& m : o.models) {  // a file path, or a name in the store (resolved to its blob)
    if (std::filesystem::is_regular_file(m)) continue;
    auto layers = resolve_model_layers(m);
    if (!layers)
      fail(fmt::format("{}: no such model file, nor a model in the store ({})", m,
                       layers.message()));
    m = layers->model_path;
  }
}

// Checks an output path before the (long) measurement, so a bad one fails at once; leaves no
// file behind (an existing one stays as it was until the results are written).
void check_output(const std::string& path, const char* flag) {
  if (path.empty() || path == "-") return;
  const bool existed = std::filesystem::exists(path);
  if (!std::ofstream(path, std::ios::app))
    fail(fmt::format("{} {}: cannot open for writing", flag, path));
  if (!existed) std::filesystem::remove(path);
}

void write_output(const std::string& path, const char* flag, const std::string& text) {
  std::ofstream f(path);
  if (!(f << text).flush()) fail(fmt::format("{} {}: write failed", flag, path));
}

void bench(BenchOptions o, bool json_given) {
  check_options(o);
  check_output(o.json_path, "--json");
  check_output(o.plot_path, "--plot");
  std::unique_ptr<LlamaCppPaths> peer;
  if (o.vs_llamacpp) peer = std::make_unique<LlamaCppPaths>(need(find_llamacpp_peer()));

  std::vector<BenchRow> rows;
  for (const auto& m : o.models) {
    reset_peak_rss();  // where it works (Linux), each model's peak is its own
    bench_model(m, o, o.threads, peer.get(), rows);
  }
  const nlohmann::json j = bench_json(rows);
  const bool json_to_stdout = json_given && (o.json_path.empty() || o.json_path == "-");
  fmt::print("{}", json_to_stdout ? j.dump(2) + "\n" : bench_markdown(rows));
  if (json_given && !json_to_stdout) write_output(o.json_path, "--json", j.dump(2) + "\n");
  if (!o.plot_path.empty()) write_output(o.plot_path, "--plot", bench_svg(rows));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure prompt processing and generation speed (optionally beside llama.cpp)");
  cmd->add_option("model", o->models, "GGUF model files")->required();
  cmd->add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens (pp test; 0: skip)")
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", o->n_gen, "Generated tokens (tg test; 0: skip)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads,
                  "Thread counts, comma-separated (default: one per physical core)")
      ->delimiter(',');
  cmd->add_option("-r,--reps", o->reps, "Measured repetitions after one warm-up round")
      ->capture_default_str();
  cmd->add_option("-b,--batch", o->batch, "Prompt tokens per forward step")->capture_default_str();
  cmd->add_option("-d,--depth", o->depth,
                  "Tokens already in the context when each test starts, as llama-bench's -d "
                  "(evaluated once per thread count, untimed): attention's cost at long context")
      ->capture_default_str();
  cmd->add_flag("--no-cold", o->no_cold,
                "Skip the cold loads (by default each engine first loads the model -r times "
                "after the file is dropped from the OS page cache, then -r times warm; the "
                "medians are reported)");
  cmd->add_flag("--vs-llamacpp", o->vs_llamacpp,
                "Also measure llama.cpp (node-llama-cpp), reps interleaved, with ratios");
  CLI::Option* json = cmd->add_option("--json", o->json_path,
                                      "Write the results as a JSON array to FILE (no FILE or -: "
                                      "print it instead of the table)")
                          ->expected(0, 1);
  cmd->add_option("--plot", o->plot_path, "Write an SVG bar chart to FILE");
  cmd->callback([o, json] { bench(*o, json->count() > 0); });
}

}  // namespace silica
