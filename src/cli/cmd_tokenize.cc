// `silica tokenize MODEL TEXT...`: token ids of a text, as the model's tokenizer makes them.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "format/gguf.h"
#include "model/vocab_loader.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/tokenizer.h"

namespace silica {
namespace {

struct TokenizeOptions {
  std::string model;
  std::vector<std::string> text;
  std::string file;
  bool special = false, no_bos = false, pieces = false, json_lines = false;
};

void print_ids(const Tokenizer& tok, const std::vector<int32_t>& ids, bool pieces) {
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += pieces
                ? fmt::format("{}:{}", ids[i],
                              nlohmann::json(tok.token_to_piece(ids[i]))
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
                : std::to_string(ids[i]);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(fmt::format("cannot read '{}'", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// MODEL is a GGUF file (a full model or vocab-only), a tokenizer.json, or a folder holding
// tokenizer.json; tokenizer_config.json beside it is read when present.
Vocab load_vocab(const std::string& model) {
  namespace fs = std::filesystem;
  fs::path json_path = model;
  if (fs::is_directory(json_path)) {
    json_path /= "tokenizer.json";
  } else {
    std::ifstream in(model, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    if (in && std::string_view(magic, 4) == "GGUF") {
      auto file = GgufFile::open(model);
      if (!file) fail(file.message());
      auto vocab = vocab_from_gguf(*file);
      if (!vocab) fail(vocab.message());
      return std::move(*vocab);
    }
  }
  const fs::path config_path = json_path.parent_path() / "tokenizer_config.json";
  const std::string config = fs::exists(config_path) ? read_all(config_path) : std::string();
  auto vocab = vocab_from_hf_json(read_all(json_path), config);
  if (!vocab) fail(fmt::format("{}: {}", json_path.string(), vocab.message()));
  return std::move(*vocab);
}

void tokenize(const TokenizeOptions& o) {
  auto tok = Tokenizer::create(load_vocab(o.model));
  if (!tok) fail(tok.message());
  std::string text;
  if (!o.file.empty()) {
    text = read_all(o.file);
  } else {
    for (size_t i = 0; i < o.text.size(); ++i) text += (i ? " " : "") + o.text[i];
  }
  if (o.json_lines) {
    // One JSON string per line in, one line of ids per line out: many texts in one process.
    std::istringstream lines(text);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      ++n;
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_string()) fail(fmt::format("{}: line {} is not a JSON string", o.file, n));
      print_ids(*tok, tok->encode(j.get<std::string>(), !o.no_bos, o.special), o.pieces);
    }
    return;
  }
  print_ids(*tok, tok->encode(text, !o.no_bos, o.special), o.pieces);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd =
      app.add_subcommand("tokenize", "Print the token ids of a text, space-separated on one line");
  cmd->add_option(
         "model", o->model,
         "A GGUF model (or vocab-only GGUF) file, a tokenizer.json, or a folder holding one")
      ->required();
  cmd->add_option("text", o->text, "Text to tokenize (words are joined by spaces)");
  cmd->add_option("-f,--file", o->file, "Read the text from a file instead");
  cmd->add_flag("--special", o->special, "Parse special tokens such as <|eot_id|> in the text");
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the beginning-of-sequence token");
  cmd->add_flag("--pieces", o->pieces, "Show each token's text beside its id");
  cmd->add_flag("--json-lines", o->json_lines,
                "The input holds one JSON string per line; print one line of ids for each");
  cmd->callback([o] { tokenize(*o); });
}

}  // namespace silica
