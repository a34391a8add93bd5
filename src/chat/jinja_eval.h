// Jinja evaluator: walks the syntax tree over Values, scoped as the reference renderer scopes.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace silica::jinja {

// A variable scope. `for` bodies and macro calls open child scopes; `if` bodies do not.
class Environment {
 public:
  explicit Environment(Environment* parent = nullptr) : parent_(parent) {}
  Value lookup(const std::string& name) const;
  void set(const std::string& name, Value v) { vars_[name] = std::move(v); }
  // For the render context: a name that is already a global is an error, as in the reference.
  void declare(const std::string& name, Value v);

 private:
  Environment* parent_;
  std::unordered_map<std::string, Value> vars_;
};

// Positional arguments and keyword arguments of one call, evaluated.
struct CallArgs {
  std::vector<Value> positional;
  Object keywords;
};

class Interpreter {
 public:
  // Renders the program in `env` (globals and the context already set).
  std::string render(const NodeList& program, Environment& env);

  Value eval(const Node& n, Environment& env);
  Value block(const NodeList& body, Environment& env);
  CallArgs eval_args(const NodeList& args, Environment& env);

 private:
  Value eval_expression(const Node& n, Environment& env);
  Value eval_statement(const Node& n, Environment& env);
  Value binary(const Node& n, Environment& env);
  Value unary(const Node& n, Environment& env);
  Value member(const Node& n, Environment& env);
  Value slice(const Value& object, const Node& n, Environment& env);
  Value call(const Node& n, Environment& env);
  Value test(const Node& n, Environment& env);
  Value for_loop(const Node& n, Environment& env);
  Value set(const Node& n, Environment& env);
  Value macro(const Node& n, Environment& env);
  Value call_block(const Node& n, Environment& env);
  void bind_macro_args(const std::string& display_name, const Node& def, const NodeList& params,
                       std::vector<Value> args, Environment& scope);
};

// The globals every render sees: true/false/none (and Python spellings), range, namespace,
// raise_exception, strftime_now.
void setup_globals(Environment& env);

// Filters, tests and built-in methods (jinja_filters.cc).
Value apply_filter(Interpreter& in, const Value& operand, const Node& filter, Environment& env);
bool run_test(const std::string& name, const Value& operand);
// `obj.name` on a string, array or object when `name` is not a key: its built-in method.
Value builtin_member(const Value& object, const std::string& name);

}  // namespace silica::jinja
