// The `silica` subcommands. Each file cmd_<name>.cc adds one to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace silica {

// Each returns nothing; the command's callback throws CLI::RuntimeError(exit_code) on failure.
void add_run_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_show_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_template_command(CLI::App& app);
void add_serve_command(CLI::App& app);
// pull, list (ls), rm, cp, create: the model store.
void add_store_commands(CLI::App& app);

// Prints "error: <message>" to stderr and fails the command with exit code 1.
[[noreturn]] void fail(const std::string& message);

}  // namespace silica
