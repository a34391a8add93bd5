// silica: run large language models on your own computer.
#include <cstdio>

#include "cli/commands.h"

namespace silica {

void fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  throw CLI::RuntimeError(1);
}

}  // namespace silica

int main(int argc, char** argv) {
  CLI::App app{
      "silica: run large language models on your own computer.\n\n"
      "Examples:\n"
      "  silica run model.gguf -p \"The capital of France is\" -n 32\n"
      "  silica show model.gguf\n"
      "  silica tokenize model.gguf \"Hello world\"\n"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "silica 0.1.0");
  silica::add_run_command(app);
  silica::add_chat_command(app);
  silica::add_show_command(app);
  silica::add_tokenize_command(app);
  silica::add_bench_command(app);
  silica::add_eval_command(app);
  silica::add_template_command(app);
  silica::add_serve_command(app);
  silica::add_store_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
