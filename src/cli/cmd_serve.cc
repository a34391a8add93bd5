// `silica serve`: Ollama- and OpenAI-compatible HTTP server.
#include <csignal>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "server/server.h"

namespace silica {
namespace {

struct ServeFlags {
  std::string host, keep_alive, api_key, origins, models;
  int port = -1, parallel = 0, max_queue = -1, threads = -1;
  int64_t ctx = 0;
};

ServerOptions resolve_options(const ServeFlags& f) {
  auto env = server_options_from_env();
  if (!env) fail(env.message());
  ServerOptions o = *env;
  if (!f.host.empty())
    if (Status st = parse_host_port(f.host, o); !st.ok()) fail(st.message());
  if (f.port >= 0) o.port = f.port;
  if (f.parallel > 0) o.n_parallel = f.parallel;
  if (f.ctx > 0) o.n_ctx = f.ctx;
  if (f.max_queue >= 0) o.max_queue = f.max_queue;
  if (f.threads >= 0) o.n_threads = f.threads;
  if (!f.keep_alive.empty()) {
    auto d = parse_duration(f.keep_alive);
    if (!d) fail("--keep-alive: " + d.message());
    o.keep_alive_ns = *d;
  }
  if (!f.api_key.empty()) o.api_key = f.api_key;
  if (!f.origins.empty()) o.origins = split_list(f.origins);
  if (!f.models.empty()) o.models_dir = f.models;
  return o;
}

void serve(const ServeFlags& flags) {
  const ServerOptions opts = resolve_options(flags);
  // Block the stop signals in every thread; one thread waits for them with sigwait.
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the server

  HttpServer server(opts);
  if (Status st = server.bind(); !st.ok()) fail(st.message());
  // One line on stdout that scripts (and the peer tests) wait for.
  fmt::print("silica serve: listening on http://{}:{} (models: {}, parallel {}, ctx {})\n",
             opts.host, server.port(), opts.models_dir, opts.n_parallel, opts.n_ctx);
  std::fflush(stdout);
  std::thread watcher([&server, stop_set] {
    int sig = 0;
    sigwait(&stop_set, &sig);
    if (sig == 0) return;
    std::fprintf(stderr, "silica serve: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
  });
  Status st = server.run();
  // run() also returns when the listener fails: wake the watcher so it can be joined.
  pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  if (!st.ok()) fail(st.message());
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve models over the Ollama and OpenAI HTTP APIs");
  cmd->add_option(
      "--host", f->host,
      "Address to listen on, host or host:port (env SILICA_HOST; default 127.0.0.1:11434)");
  cmd->add_option("--port", f->port, "Port (0 picks a free one)");
  cmd->add_option("--parallel", f->parallel,
                  "Sequences served at once per model (env SILICA_NUM_PARALLEL; default 4)");
  cmd->add_option("--ctx", f->ctx, "Context size per sequence (default 4096; num_ctx overrides)");
  cmd->add_option(
      "--keep-alive", f->keep_alive,
      "How long an idle model stays loaded: 5m, 1h, 0, -1 = forever (env SILICA_KEEP_ALIVE)");
  cmd->add_option("--api-key", f->api_key,
                  "Require 'Authorization: Bearer KEY' (env SILICA_API_KEY)");
  cmd->add_option("--origins", f->origins,
                  "Extra CORS origins, comma-separated; * for any (env SILICA_ORIGINS)");
  cmd->add_option("--max-queue", f->max_queue,
                  "Waiting requests per model before 503 (env SILICA_MAX_QUEUE; default 512)");
  cmd->add_option("--models", f->models,
                  "Models folder (env SILICA_MODELS; default ~/.silica/models)");
  cmd->add_option("--threads", f->threads, "Compute threads (0: one per physical core)");
  cmd->callback([f] { serve(*f); });
}

}  // namespace silica
