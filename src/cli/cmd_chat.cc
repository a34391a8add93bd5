// `silica chat MODEL`: an interactive conversation in the terminal, formatted by the model's
// own chat template, with the history kept in the context (its prefix reused turn to turn).
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/chat_command.h"
#include "cli/commands.h"
#include "engine/chat_format.h"
#include "engine/session.h"
#include "store/model_layers.h"

namespace silica {
namespace {

using ojson = nlohmann::ordered_json;

std::atomic<bool> g_interrupted{false};
void on_sigint(int) {
  g_interrupted.store(true);
}

enum class ReadResult { kLine, kEof, kInterrupted };

// Reads one line without SA_RESTART, so Ctrl-C at the prompt interrupts the read.
ReadResult read_line(std::string& line) {
  line.clear();
  for (;;) {
    errno = 0;
    const int c = std::fgetc(stdin);
    if (c == EOF) {
      if (errno == EINTR || g_interrupted.exchange(false)) {
        std::clearerr(stdin);
        return ReadResult::kInterrupted;
      }
      return line.empty() ? ReadResult::kEof : ReadResult::kLine;
    }
    if (c == '\n') return ReadResult::kLine;
    line += char(c);
  }
}

class Chat {
 public:
  Chat(const ChatOptions& o, LoadedModel& lm, ChatFormatter fmt, std::unique_ptr<Session> s,
       std::vector<ojson> preset)
      : o_(o), lm_(lm), fmt_(std::move(fmt)), session_(std::move(s)), preset_(std::move(preset)) {
    interactive_ = isatty(STDIN_FILENO);
  }

  int run() {
    if (o_.once) {
      answer(*o_.once);
      return 0;
    }
    if (interactive_)
      std::printf("silica chat: %s. Type /help for commands, /bye to leave.\n", o_.model.c_str());
    std::string line;
    for (;;) {
      if (interactive_) {
        std::printf(">>> ");
        std::fflush(stdout);
      }
      const ReadResult r = read_line(line);
      if (r == ReadResult::kEof) break;
      if (r == ReadResult::kInterrupted) {
        if (interactive_) std::printf("\n(Use /bye or Ctrl-D to leave.)\n");
        continue;
      }
      if (interactive_ && line == "\"\"\"") line = read_multiline();
      if (line.empty()) continue;
      if (line[0] == '/') {
        if (!command(line)) break;
        continue;
      }
      answer(line);
    }
    return 0;
  }

 private:
  std::string read_multiline() {
    std::string text, l;
    while (read_line(l) == ReadResult::kLine && l != "\"\"\"")
      text += (text.empty() ? "" : "\n") + l;
    return text;
  }

  ojson conversation() const {
    ojson msgs = ojson::array();
    if (!system_.empty()) msgs.push_back({{"role", "system"}, {"content", system_}});
    for (const auto& m : preset_) msgs.push_back(m);  // a store model's MESSAGE turns
    for (const auto& m : turns_) msgs.push_back(m);
    return msgs;
  }

  void answer(const std::string& user) {
    turns_.push_back({{"role", "user"}, {"content", user}});
    const int64_t reserve = o_.gen.n_predict > 0 ? o_.gen.n_predict : 256;
    std::vector<int32_t> prompt;
    for (;;) {
      auto toks = fmt_.tokenize(conversation(), true);
      if (!toks.ok()) {
        std::fprintf(stderr, "error: %s\n", toks.message().c_str());
        turns_.pop_back();
        return;
      }
      prompt = std::move(toks.value());
      if (int64_t(prompt.size()) + reserve <= o_.ctx || turns_.size() <= 1) break;
      // The context is full: drop the oldest exchange (the system prompt stays).
      if (!said_dropping_) {
        std::fprintf(stderr, "(the context is full: dropping the oldest turns)\n");
        said_dropping_ = true;
      }
      turns_.erase(turns_.begin(), turns_.begin() + std::min<size_t>(2, turns_.size() - 1));
    }
    if (int64_t(prompt.size()) >= o_.ctx) {
      std::fprintf(stderr,
                   "error: this message alone (%zu tokens) does not fit in the context "
                   "(%lld): raise --ctx or send less\n",
                   prompt.size(), (long long)o_.ctx);
      turns_.pop_back();
      return;
    }
    GenerateParams gp = o_.gen;
    gp.n_predict = std::min<int64_t>(o_.gen.n_predict < 0 ? o_.ctx : o_.gen.n_predict,
                                     o_.ctx - int64_t(prompt.size()));
    g_interrupted.store(false);
    std::string reply;
    auto stats = session_->generate(prompt, gp, [&](std::string_view text) {
      if (g_interrupted.load()) return false;
      reply += text;
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n");
    if (g_interrupted.exchange(false) && interactive_) std::printf("(stopped)\n");
    if (!stats.ok()) {
      std::fprintf(stderr, "error: %s\n", stats.message().c_str());
      turns_.pop_back();
      session_->reset();
      return;
    }
    turns_.push_back({{"role", "assistant"}, {"content", reply}});
    if (o_.verbose)
      std::fprintf(
          stderr, "[prompt %lld tokens (%lld cached), %lld generated, %.1f tokens/s]\n",
          (long long)stats->n_prompt, (long long)stats->n_cached, (long long)stats->n_generated,
          stats->generate_ns > 0 ? stats->n_generated * 1e9 / double(stats->generate_ns) : 0.0);
  }

  // Returns false to leave.
  bool command(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    std::string rest;
    std::getline(in >> std::ws, rest);
    if (cmd == "/bye" || cmd == "/exit") return false;
    if (cmd == "/help" || cmd == "/?") {
      std::printf(
          "  /system TEXT       set the system prompt (and start over)\n"
          "  /set NAME VALUE    temperature, top_k, top_p, min_p, repeat_penalty, seed, "
          "num_predict\n"
          "  /show              the settings in use\n"
          "  /clear             forget the conversation\n"
          "  /save FILE         save the conversation as JSON\n"
          "  /load FILE         load a saved conversation\n"
          "  /bye               leave (or Ctrl-D)\n"
          "  \"\"\"                 start and end a multi-line message\n"
          "  Ctrl-C stops an answer.\n");
    } else if (cmd == "/system") {
      system_ = rest;
      turns_.clear();
      std::printf("(system prompt set; conversation cleared)\n");
    } else if (cmd == "/clear") {
      turns_.clear();
      std::printf("(conversation cleared)\n");
    } else if (cmd == "/set") {
      set_option(rest);
    } else if (cmd == "/show") {
      const SamplerParams& s = o_.gen.sampling;
      std::printf(
          "temperature %g, top_k %d, top_p %g, min_p %g, repeat_penalty %g, seed %llu, "
          "num_predict %lld, ctx %lld, template: %s\n",
          s.temperature, s.top_k, s.top_p, s.min_p, s.repeat_penalty, (unsigned long long)s.seed,
          (long long)o_.gen.n_predict, (long long)o_.ctx,
          fmt_.has_model_template() ? "the model's" : "fallback (the model has none)");
    } else if (cmd == "/save") {
      save(rest);
    } else if (cmd == "/load") {
      load(rest);
    } else {
      std::printf("unknown command %s: /help lists them\n", cmd.c_str());
    }
    return true;
  }

  void set_option(const std::string& args) {
    std::istringstream in(args);
    std::string name;
    double v;
    if (!(in >> name >> v)) {
      std::printf("usage: /set NAME VALUE (e.g. /set temperature 0.7)\n");
      return;
    }
    SamplerParams& s = o_.gen.sampling;
    if (name == "temperature" || name == "temp")
      s.temperature = float(v);
    else if (name == "top_k")
      s.top_k = int(v);
    else if (name == "top_p")
      s.top_p = float(v);
    else if (name == "min_p")
      s.min_p = float(v);
    else if (name == "repeat_penalty")
      s.repeat_penalty = float(v);
    else if (name == "repeat_last_n")
      s.repeat_last_n = int(v);
    else if (name == "presence_penalty")
      s.presence_penalty = float(v);
    else if (name == "frequency_penalty")
      s.frequency_penalty = float(v);
    else if (name == "seed")
      s.seed = uint64_t(v);
    else if (name == "num_predict")
      o_.gen.n_predict = int64_t(v);
    else {
      std::printf("unknown setting '%s': /help lists them\n", name.c_str());
      return;
    }
    std::printf("(%s = %g)\n", name.c_str(), v);
  }

  void save(const std::string& path) {
    ojson j = {{"model", o_.model}, {"system", system_}, {"messages", turns_}};
    std::ofstream out(path);
    if (!(out << j.dump(2) << "\n")) {
      std::printf("error: cannot write '%s'\n", path.c_str());
      return;
    }
    std::printf("(saved %zu messages to %s)\n", turns_.size(), path.c_str());
  }

  void load(const std::string& path) {
    std::ifstream in(path);
    ojson j = ojson::parse(in, nullptr, false);
    if (!in.good() && !in.eof()) j = ojson();
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) {
      std::printf("error: '%s' is not a saved conversation (JSON with \"messages\")\n",
                  path.c_str());
      return;
    }
    for (const auto& m : j["messages"])
      if (!m.is_object() || !m.contains("role") || !m.contains("content")) {
        std::printf("error: '%s': every message needs a role and content\n", path.c_str());
        return;
      }
    turns_ = j["messages"].get<std::vector<ojson>>();
    system_ = j.value("system", "");
    std::printf("(loaded %zu messages)\n", turns_.size());
  }

  ChatOptions o_;
  LoadedModel& lm_;
  ChatFormatter fmt_;
  std::unique_ptr<Session> session_;
  std::string system_ = o_.system;
  std::vector<ojson> preset_;
  std::vector<ojson> turns_;
  bool interactive_ = false;
  bool said_dropping_ = false;
};

struct ParamFlag {
  const char* key;   // Ollama's PARAMETER name
  const char* flag;  // the CLI flag that overrides it
};
constexpr ParamFlag kParamFlags[] = {
    {"num_predict", "--n-predict"},
    {"temperature", "--temp"},
    {"top_k", "--top-k"},
    {"top_p", "--top-p"},
    {"min_p", "--min-p"},
    {"repeat_penalty", "--repeat-penalty"},
    {"repeat_last_n", "--repeat-last-n"},
    {"presence_penalty", "--presence-penalty"},
    {"frequency_penalty", "--frequency-penalty"},
    {"seed", "--seed"},
    {"num_ctx", "--ctx"},
    {"num_thread", "--threads"},
};

}  // namespace

void apply_param_defaults(const ojson& params, const CLI::App& cmd, GenerateParams& gen,
                          int64_t& ctx, int& threads) {
  if (!params.is_object()) return;
  SamplerParams& s = gen.sampling;
  for (const ParamFlag& pf : kParamFlags) {
    auto it = params.find(pf.key);
    if (it == params.end() || !it->is_number() || cmd.count(pf.flag) > 0) continue;
    const double v = it->get<double>();
    const std::string key = pf.key;
    if (key == "num_predict") gen.n_predict = int64_t(v);
    if (key == "temperature") s.temperature = float(v);
    if (key == "top_k") s.top_k = int(v);
    if (key == "top_p") s.top_p = float(v);
    if (key == "min_p") s.min_p = float(v);
    if (key == "repeat_penalty") s.repeat_penalty = float(v);
    if (key == "repeat_last_n") s.repeat_last_n = int(v);
    if (key == "presence_penalty") s.presence_penalty = float(v);
    if (key == "frequency_penalty") s.frequency_penalty = float(v);
    if (key == "seed" && v >= 0) s.seed = uint64_t(v);
    if (key == "num_ctx") ctx = int64_t(v);
    if (key == "num_thread") threads = int(v);
  }
  auto stop = params.find("stop");
  if (stop != params.end() && stop->is_array()) {
    gen.stop.clear();
    for (const ojson& x : *stop)
      if (x.is_string()) gen.stop.push_back(x.get<std::string>());
  }
}

void run_chat(ChatOptions o, const CLI::App& cmd) {
  auto layers = resolve_model_layers(o.model);  // a file path, or a name in the store
  if (!layers) fail(layers.message());
  apply_param_defaults(layers->params, cmd, o.gen, o.ctx, o.threads);
  if (cmd.count("--system") == 0 && !layers->system.empty()) o.system = layers->system;
  std::vector<ojson> preset;
  if (layers->messages.is_array())
    for (const ojson& m : layers->messages) preset.push_back(m);
  auto lm = load_model_with_tokenizer(layers->model_path);
  if (!lm) fail(lm.message());
  auto fmt = ChatFormatter::create(*lm);
  if (!fmt) fail(fmt.message());
  ForwardOptions fo;
  fo.n_ctx = o.ctx;
  fo.n_threads = o.threads;
  auto session = Session::create(*lm, fo);
  if (!session) fail(session.message());
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: Ctrl-C interrupts a blocking read
  sigaction(SIGINT, &sa, nullptr);
  Chat c(o, *lm, std::move(fmt.value()), std::move(session.value()), std::move(preset));
  c.run();
}

void add_sampling_flags(CLI::App& cmd, ChatOptions& o) {
  cmd.add_option("-n,--n-predict", o.gen.n_predict, "Most tokens per answer (-1: no limit)")
      ->capture_default_str();
  cmd.add_option("--temp", o.gen.sampling.temperature, "Temperature; 0 means greedy")
      ->capture_default_str();
  cmd.add_option("--top-k", o.gen.sampling.top_k, "Keep the K most likely tokens (0: off)")
      ->capture_default_str();
  cmd.add_option("--top-p", o.gen.sampling.top_p, "Nucleus sampling threshold (1: off)")
      ->capture_default_str();
  cmd.add_option("--min-p", o.gen.sampling.min_p, "Drop tokens below min-p x the top probability")
      ->capture_default_str();
  cmd.add_option("--repeat-penalty", o.gen.sampling.repeat_penalty,
                 "Penalty for repeated tokens (1: off)")
      ->capture_default_str();
  cmd.add_option("--repeat-last-n", o.gen.sampling.repeat_last_n,
                 "Window of the repeat penalties (-1: all)")
      ->capture_default_str();
  cmd.add_option("--presence-penalty", o.gen.sampling.presence_penalty,
                 "Subtracted once per present token")
      ->capture_default_str();
  cmd.add_option("--frequency-penalty", o.gen.sampling.frequency_penalty,
                 "Subtracted per occurrence")
      ->capture_default_str();
  cmd.add_option("--seed", o.gen.sampling.seed, "Random seed (same seed, same text)");
  cmd.add_option("-t,--threads", o.threads, "CPU threads (default: one per physical core)");
  cmd.add_option("-c,--ctx", o.ctx, "Context size in tokens")->capture_default_str();
}

void add_chat_command(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  o->gen.n_predict = -1;
  CLI::App* cmd = app.add_subcommand(
      "chat", "Chat with a model in the terminal (history kept; Ctrl-C stops an answer)");
  cmd->add_option("model", o->model, "A GGUF model file or a model name from the store")
      ->required();
  cmd->add_option("--system", o->system, "System prompt (default: a store model's SYSTEM)");
  add_sampling_flags(*cmd, *o);
  cmd->add_flag("-v,--verbose", o->verbose, "Print prompt/cache statistics after each answer");
  cmd->callback([o, cmd] { run_chat(*o, *cmd); });
}

}  // namespace silica
