// The node child process behind `silica bench --vs-llamacpp` (POSIX pipes + fork/exec).
#include "cli/bench_llamacpp.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace silica {
namespace {

#ifdef SILICA_SOURCE_DIR
constexpr const char* kSourceDir = SILICA_SOURCE_DIR;
#else
constexpr const char* kSourceDir = "";
#endif

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

Expected<LlamaCppPaths> find_llamacpp_peer() {
  namespace fs = std::filesystem;
  const std::string src = kSourceDir;
  LlamaCppPaths p;
  p.node = env_or("SILICA_NODE", "node");
  p.runner = env_or("SILICA_BENCH_RUNNER", src.empty() ? "" : src + "/bench/llamacpp_runner.mjs");
  p.peers_dir = env_or("SILICA_PEERS_DIR", src.empty() ? "" : src + "/tests/peers");
  if (p.runner.empty() || !fs::is_regular_file(p.runner))
    return make_error(
        "--vs-llamacpp: the runner script '{}' does not exist; set SILICA_BENCH_RUNNER to "
        "bench/llamacpp_runner.mjs of a silica source tree",
        p.runner);
  const fs::path pkg = fs::path(p.peers_dir) / "node_modules" / "node-llama-cpp" / "package.json";
  if (p.peers_dir.empty() || !fs::is_regular_file(pkg))
    return make_error(
        "--vs-llamacpp needs node-llama-cpp, which is not installed: expected {}; install it "
        "with scripts/setup.sh --peers (or point SILICA_PEERS_DIR at a folder whose "
        "node_modules holds node-llama-cpp)",
        pkg.string());
  return p;
}

Expected<std::unique_ptr<LlamaCppRunner>> LlamaCppRunner::start(const LlamaCppPaths& paths) {
  int in[2], out[2];  // in: parent -> child stdin; out: child stdout -> parent
  if (pipe(in) != 0) return make_error("--vs-llamacpp: pipe() failed");
  if (pipe(out) != 0) {
    close(in[0]), close(in[1]);
    return make_error("--vs-llamacpp: pipe() failed");
  }
  const pid_t pid = fork();
  if (pid < 0) return make_error("--vs-llamacpp: fork() failed");
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    execlp(paths.node.c_str(), paths.node.c_str(), paths.runner.c_str(), paths.peers_dir.c_str(),
           static_cast<char*>(nullptr));
    std::fprintf(stderr, "error: cannot run '%s' (node, for --vs-llamacpp; set SILICA_NODE)\n",
                 paths.node.c_str());
    _exit(127);
  }
  close(in[0]), close(out[1]);
  // Our ends stay out of later children; a runner that died fails a write instead of
  // killing silica with SIGPIPE.
  fcntl(in[1], F_SETFD, FD_CLOEXEC);
  fcntl(out[0], F_SETFD, FD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<LlamaCppRunner> r(new LlamaCppRunner());
  r->pid_ = pid;
  r->to_child_ = fdopen(in[1], "w");
  r->from_child_ = fdopen(out[0], "r");
  if (!r->to_child_ || !r->from_child_) return make_error("--vs-llamacpp: fdopen() failed");
  SILICA_RETURN_IF_ERROR(r->read_reply("start " + paths.runner).status());
  return r;
}

Expected<nlohmann::json> LlamaCppRunner::read_reply(const std::string& what) {
  char* line = nullptr;
  size_t cap = 0;
  for (;;) {
    const ssize_t n = getline(&line, &cap, from_child_);
    if (n < 0) {
      std::free(line);
      return make_error(
          "llama.cpp runner: no reply to '{}' (the node process ended; see its "
          "messages above)",
          what);
    }
    std::string s(line, size_t(n));
    if (s.empty() || s[0] != '{') continue;  // not a reply: stray output of the library
    std::free(line);
    auto j = nlohmann::json::parse(s, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return make_error("llama.cpp runner: reply to '{}' is not JSON: {}", what, s);
    if (!j.value("ok", false))
      return make_error("llama.cpp runner: {} failed: {}", what, j.value("error", s));
    return j;
  }
}

Expected<nlohmann::json> LlamaCppRunner::call(const nlohmann::json& request) {
  const std::string line = request.dump() + "\n";
  const std::string what = request.value("op", "?");
  if (std::fputs(line.c_str(), to_child_) < 0 || std::fflush(to_child_) != 0)
    return make_error("llama.cpp runner: cannot send '{}' (the node process ended)", what);
  return read_reply(what);
}

LlamaCppRunner::~LlamaCppRunner() {
  if (to_child_) {
    std::fputs("{\"op\":\"quit\"}\n", to_child_);
    std::fclose(to_child_);  // EOF on its stdin ends it too
  }
  if (from_child_) std::fclose(from_child_);
  if (pid_ > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

}  // namespace silica
