// `silica pull | list | rm | cp | create`: the model store from the command line; `ps` and
// `stop` ask a running `silica serve`.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "store/http_client.h"
#include "store/modelfile.h"
#include "store/pull.h"
#include "store/store.h"

namespace silica {
namespace {

std::atomic<bool> g_pull_cancel{false};

void on_sigint(int) {
  g_pull_cancel.store(true);
}

Store open_store() {
  auto s = Store::open(Store::default_root());
  if (!s) fail(s.message());
  return std::move(*s);
}

ModelName name_or_fail(const std::string& text) {
  auto n = parse_model_name(text);
  if (!n) fail(n.message());
  return std::move(*n);
}

std::string size_text(double b) {
  if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} KB", b / 1e3);
  return fmt::format("{} B", int64_t(b));
}

std::string duration_text(double s) {
  if (s < 60) return fmt::format("{}s", int(s));
  if (s < 3600) return fmt::format("{}m{:02}s", int(s) / 60, int(s) % 60);
  return fmt::format("{}h{:02}m", int(s) / 3600, int(s) / 60 % 60);
}

// "About a minute ago", as `ollama list` prints MODIFIED.
std::string ago(int64_t unix_s) {
  int64_t d = std::max<int64_t>(0, std::time(nullptr) - unix_s);
  auto unit = [](int64_t n, const char* u) {
    return fmt::format("{} {}{} ago", n, u, n == 1 ? "" : "s");
  };
  if (d < 60) return "Less than a minute ago";
  if (d < 3600) return unit(d / 60, "minute");
  if (d < 86400) return unit(d / 3600, "hour");
  if (d < 86400 * 7) return unit(d / 86400, "day");
  if (d < 86400 * 30) return unit(d / 86400 / 7, "week");
  return unit(d / 86400 / 30, "month");
}

// Renders pull progress: a redrawn bar on a terminal, a line per 10% (and per step) otherwise.
class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(::isatty(STDERR_FILENO)) {}
  void operator()(const PullProgress& p) {
    if (p.digest.empty() || p.status.rfind("pulling ", 0) != 0) {
      end_bar();
      fmt::print(stderr, "{}\n", p.status);
      return;
    }
    if (p.digest != digest_) start(p);
    auto now = Clock::now();
    double secs = std::chrono::duration<double>(now - t0_).count();
    double rate = secs > 0 ? double(p.completed - start_bytes_) / secs : 0;
    double left = rate > 0 ? double(p.total - p.completed) / rate : 0;
    int pct = p.total > 0 ? int(100.0 * double(p.completed) / double(p.total)) : 0;
    if (tty_) {
      if (now - last_draw_ < std::chrono::milliseconds(100) && p.completed < p.total) return;
      last_draw_ = now;
      int filled = pct / 4;
      fmt::print(stderr, "\r{} {:3}% [{}{}] {}/{} {}/s {} left\x1b[K", p.status, pct,
                 std::string(size_t(filled), '#'), std::string(size_t(25 - filled), '.'),
                 size_text(double(p.completed)), size_text(double(p.total)), size_text(rate),
                 duration_text(left));
      drawn_ = true;
    } else if (pct >= next_pct_ || p.completed == p.total) {
      fmt::print(stderr, "{} {}% {}/{} {}/s\n", p.status, pct, size_text(double(p.completed)),
                 size_text(double(p.total)), size_text(rate));
      next_pct_ = (pct / 10 + 1) * 10;
      if (p.completed == p.total) next_pct_ = 1000;
    }
  }
  void end_bar() {
    if (drawn_) fmt::print(stderr, "\n");
    drawn_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  void start(const PullProgress& p) {
    end_bar();
    digest_ = p.digest;
    t0_ = Clock::now();
    start_bytes_ = p.completed;
    next_pct_ = 0;
  }
  bool tty_;
  bool drawn_ = false;
  std::string digest_;
  Clock::time_point t0_, last_draw_;
  int64_t start_bytes_ = 0;
  int next_pct_ = 0;
};

void pull(const std::string& name, bool insecure) {
  Store store = open_store();
  PullOptions o;
  o.insecure = insecure;
  o.cancel = &g_pull_cancel;
  auto printer = std::make_shared<ProgressPrinter>();
  o.progress = [printer](const PullProgress& p) { (*printer)(p); };
  // Ctrl-C stops the transfer cleanly: the partial file keeps what arrived, for the next pull.
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  auto r = pull_model(store, name, o);
  printer->end_bar();
  if (!r) fail(r.message());
}

void list_models() {
  Store store = open_store();
  auto models = store.list();
  if (!models) fail(models.message());
  std::sort(models->begin(), models->end(),
            [](const auto& a, const auto& b) { return a.modified_unix > b.modified_unix; });
  size_t w = 4;
  for (const auto& m : *models) w = std::max(w, m.name.display().size());
  fmt::print("{:<{}}    {:<12}    {:<8}    {}\n", "NAME", w, "ID", "SIZE", "MODIFIED");
  for (const auto& m : *models) {
    fmt::print("{:<{}}    {:<12}    {:<8}    {}\n", m.name.display(), w,
               m.manifest_sha256.substr(0, 12), size_text(double(m.size)), ago(m.modified_unix));
  }
}

void remove_models(const std::vector<std::string>& names) {
  Store store = open_store();
  for (const auto& n : names) {
    Status st = store.remove(name_or_fail(n));
    if (!st.ok()) fail(st.message());
    fmt::print("deleted '{}'\n", n);
  }
}

void copy_model(const std::string& src, const std::string& dst) {
  Store store = open_store();
  Status st = store.copy(name_or_fail(src), name_or_fail(dst));
  if (!st.ok()) fail(st.message());
  fmt::print("copied '{}' to '{}'\n", src, dst);
}

void create(const std::string& name, const std::string& file) {
  ModelName n = name_or_fail(name);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(fmt::format("cannot read Modelfile {}", file));
  std::stringstream ss;
  ss << in.rdbuf();
  auto mf = parse_modelfile(ss.str(), file);
  if (!mf) fail(mf.message());
  Store store = open_store();
  std::string dir = std::filesystem::absolute(file).parent_path().string();
  auto m = create_model(store, n, *mf, dir);
  if (!m) fail(m.message());
  fmt::print("created '{}' ({} layers)\n", n.display(), m->layers.size());
}

constexpr const char* kDefaultServer = "127.0.0.1:11434";
// Ollama shows a model kept forever with an expiry this far away (year 2318).
constexpr int64_t kForeverAfterS = int64_t(100) * 365 * 24 * 3600;

// SILICA_HOST, else OLLAMA_HOST ("host", "host:port", ":port", "http://host:port"), as a URL.
std::string server_url() {
  const char* env = std::getenv("SILICA_HOST");
  if (!env || !*env) env = std::getenv("OLLAMA_HOST");
  std::string h = env && *env ? env : kDefaultServer;
  std::string scheme = "http://";
  if (size_t p = h.find("://"); p != std::string::npos)
    scheme = h.substr(0, p + 3), h.erase(0, p + 3);
  while (!h.empty() && h.back() == '/') h.pop_back();
  if (h.empty() || h[0] == ':') h = "127.0.0.1" + (h.empty() ? ":11434" : h);
  if (h.find(':') == std::string::npos) h += ":11434";
  if (h.starts_with("0.0.0.0")) h.replace(0, 7, "127.0.0.1");  // listening everywhere
  return scheme + h;
}

[[noreturn]] void no_server(const std::string& url, const std::string& why) {
  fail(
      fmt::format("could not reach a silica server at {} ({}): start one with `silica serve`, "
                  "or set SILICA_HOST / OLLAMA_HOST to where it listens",
                  url, why));
}

// "2025-01-02T03:04:05.123Z" -> unix seconds; 0 when it does not parse.
int64_t parse_rfc3339(const std::string& t) {
  std::tm tm{};
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return int64_t(timegm(&tm));
}

std::string until_text(const std::string& expires_at) {
  const int64_t left = parse_rfc3339(expires_at) - int64_t(std::time(nullptr));
  if (left > kForeverAfterS) return "Forever";
  if (left <= 0) return "Stopping...";
  if (left < 120) return fmt::format("{} seconds from now", left);
  if (left < 7200) return fmt::format("{} minutes from now", left / 60);
  return fmt::format("{} hours from now", left / 3600);
}

void ps() {
  const std::string url = server_url();
  auto r = http_get(url + "/api/ps", {});
  if (!r) no_server(url, r.message());
  if (r->status != 200) fail(fmt::format("GET {}/api/ps: HTTP {}: {}", url, r->status, r->body));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("models") || !j["models"].is_array())
    fail(fmt::format("GET {}/api/ps: not a model list: {}", url, r->body.substr(0, 200)));
  fmt::print("{:<32} {:<14} {:<10} {:<10} {}\n", "NAME", "ID", "SIZE", "PROCESSOR", "UNTIL");
  for (const auto& m : j["models"]) {
    const int64_t size = m.value("size", int64_t(0)), vram = m.value("size_vram", int64_t(0));
    const int gpu = size > 0 ? int(100 * vram / size) : 0;
    const std::string proc = gpu == 0     ? "100% CPU"
                             : gpu == 100 ? "100% GPU"
                                          : fmt::format("{}%/{}% CPU/GPU", 100 - gpu, gpu);
    fmt::print("{:<32} {:<14} {:<10} {:<10} {}\n", m.value("name", ""),
               m.value("digest", "").substr(0, 12), size_text(double(size)), proc,
               until_text(m.value("expires_at", "")));
  }
}

// As `ollama stop`: a generate request with no prompt and keep_alive 0 unloads the model.
void stop(const std::string& name) {
  const std::string url = server_url();
  const nlohmann::json body = {{"model", name}, {"keep_alive", 0}};
  auto r = http_post_json(url + "/api/generate", body.dump());
  if (!r) no_server(url, r.message());
  if (r->status == 404) fail(fmt::format("model '{}' not found", name));
  if (r->status != 200) fail(fmt::format("stop {}: HTTP {}: {}", name, r->status, r->body));
}

}  // namespace

void add_store_commands(CLI::App& app) {
  struct Args {
    std::string name, dst, file = "Modelfile";
    std::vector<std::string> names;
    bool insecure = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* p = app.add_subcommand("pull", "Download a model from a registry or Hugging Face");
  p->add_option("model", a->name, "NAME, host/namespace/model:tag or hf.co/org/repo[:quant]")
      ->required();
  p->add_flag("--insecure", a->insecure, "Use http instead of https for the registry");
  p->callback([a] { pull(a->name, a->insecure); });

  CLI::App* l = app.add_subcommand("list", "List the models in the store");
  l->alias("ls");
  l->callback([] { list_models(); });

  CLI::App* r = app.add_subcommand("rm", "Remove models (and blobs no other model uses)");
  r->add_option("models", a->names, "Model names")->required();
  r->callback([a] { remove_models(a->names); });

  CLI::App* c = app.add_subcommand("cp", "Copy a model under a new name (blobs are shared)");
  c->add_option("source", a->name, "Existing model")->required();
  c->add_option("destination", a->dst, "New name")->required();
  c->callback([a] { copy_model(a->name, a->dst); });

  CLI::App* cr = app.add_subcommand("create", "Create a model from a Modelfile");
  cr->add_option("model", a->name, "Name of the new model")->required();
  cr->add_option("-f,--file", a->file, "Modelfile path")->capture_default_str();
  cr->callback([a] { create(a->name, a->file); });

  app.add_subcommand("ps", "List the models a running server has loaded")->callback([] { ps(); });
  CLI::App* st = app.add_subcommand("stop", "Unload a model from a running server");
  st->add_option("model", a->name, "Model name")->required();
  st->callback([a] { stop(a->name); });
}

}  // namespace silica
