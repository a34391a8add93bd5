// Jinja evaluator: expressions, statements, scopes, loops and macros.
#include "chat/jinja_eval.h"

#include <fmt/format.h>

#include <cmath>

namespace silica::jinja {
namespace {

// Loop control travels as exceptions so that, as in the reference, the text of an iteration
// that breaks or continues is dropped.
struct BreakSignal {};
struct ContinueSignal {};

[[noreturn]] void fail(const std::string& what) {
  throw JinjaError(0, what);
}

}  // namespace

Value Environment::lookup(const std::string& name) const {
  for (const Environment* e = this; e; e = e->parent_) {
    auto it = e->vars_.find(name);
    if (it != e->vars_.end()) return it->second;
  }
  return Value();
}

void Environment::declare(const std::string& name, Value v) {
  if (vars_.count(name)) fail("Variable already declared: " + name);
  vars_[name] = std::move(v);
}

std::string Interpreter::render(const NodeList& program, Environment& env) {
  try {
    return block(program, env).s;
  } catch (const BreakSignal&) {
    fail("break outside of a loop");
  } catch (const ContinueSignal&) {
    fail("continue outside of a loop");
  }
}

Value Interpreter::block(const NodeList& body, Environment& env) {
  std::string out;
  for (const auto& n : body) {
    Value v = eval(*n, env);
    if (v.is_none() || v.is_undefined()) continue;
    if (v.is_string()) {
      out += v.s;
    } else {
      try {
        out += display(v);
      } catch (const JinjaError& e) {
        throw JinjaError(e.line() ? e.line() : n->line, e.what());
      }
    }
  }
  return Value::string(std::move(out));
}

Value Interpreter::eval(const Node& n, Environment& env) {
  try {
    return n.kind >= NodeKind::kIf ? eval_statement(n, env) : eval_expression(n, env);
  } catch (const JinjaError& e) {
    if (e.line()) throw;
    throw JinjaError(n.line, e.what());
  }
}

Value Interpreter::eval_expression(const Node& n, Environment& env) {
  switch (n.kind) {
    case NodeKind::kInt:
      return Value::integer(n.i);
    case NodeKind::kFloat:
      return Value::number(n.f);
    case NodeKind::kString:
      return Value::string(n.str);
    case NodeKind::kIdent:
      return env.lookup(n.str);
    case NodeKind::kArray:
    case NodeKind::kTuple: {
      Array items;
      for (const auto& x : n.list) items.push_back(eval(*x, env));
      Value v = Value::array(std::move(items));
      v.is_tuple = n.kind == NodeKind::kTuple;
      return v;
    }
    case NodeKind::kObject: {
      Object o;
      for (const auto& [k, v] : n.pairs) {
        Value key = eval(*k, env);
        if (!key.is_string()) fail("Object keys must be strings: got " + type_name(key));
        o.set(key.s, eval(*v, env));
      }
      return Value::object(std::move(o));
    }
    case NodeKind::kMember:
      return member(n, env);
    case NodeKind::kCall:
      return call(n, env);
    case NodeKind::kUnary:
      return unary(n, env);
    case NodeKind::kBinary:
      return binary(n, env);
    case NodeKind::kFilter:
      return apply_filter(*this, eval(*n.a, env), *n.b, env);
    case NodeKind::kTest:
      return test(n, env);
    case NodeKind::kSelect:
      return truthy(eval(*n.b, env)) ? eval(*n.a, env) : Value();
    case NodeKind::kTernary:
      return truthy(eval(*n.b, env)) ? eval(*n.a, env) : eval(*n.c, env);
    default:
      fail("Unknown node type in an expression");
  }
}

Value Interpreter::eval_statement(const Node& n, Environment& env) {
  switch (n.kind) {
    case NodeKind::kIf:
      return block(truthy(eval(*n.a, env)) ? n.body : n.alt, env);
    case NodeKind::kFor:
      return for_loop(n, env);
    case NodeKind::kSet:
      return set(n, env);
    case NodeKind::kMacro:
      return macro(n, env);
    case NodeKind::kCallBlock:
      return call_block(n, env);
    case NodeKind::kFilterBlock:
      return apply_filter(*this, block(n.body, env), *n.a, env);
    case NodeKind::kBreak:
      throw BreakSignal{};
    case NodeKind::kContinue:
      throw ContinueSignal{};
    case NodeKind::kComment:
      return Value::none();
    default:
      fail("Unknown statement type");
  }
}

namespace {

Value arithmetic(const std::string& op, const Value& l, const Value& r) {
  bool is_float = l.kind == Kind::kFloat || r.kind == Kind::kFloat;
  double a = l.as_double(), b = r.as_double();
  auto number = [&](double x) { return is_float ? Value::number(x) : Value::integer(int64_t(x)); };
  if (op == "+" || op == "-" || op == "*") {
    if (!is_float) {
      int64_t x = l.i, y = r.i;
      return Value::integer(op == "+" ? x + y : op == "-" ? x - y : x * y);
    }
    return Value::number(op == "+" ? a + b : op == "-" ? a - b : a * b);
  }
  if (op == "/") return Value::number(a / b);
  if (op == "//") {
    if (!is_float && b == 0) fail("integer division by zero");
    return number(std::floor(a / b));
  }
  if (op == "%") {
    if (!is_float) {
      if (r.i == 0) fail("integer modulo by zero");
      return Value::integer(l.i % r.i);  // the sign of the dividend, as JavaScript's %
    }
    return Value::number(std::fmod(a, b));
  }
  if (op == "<") return Value::boolean(a < b);
  if (op == ">") return Value::boolean(a > b);
  if (op == "<=") return Value::boolean(a <= b);
  if (op == ">=") return Value::boolean(a >= b);
  return Value();
}

bool array_contains(const Value& arr, const Value& x) {
  for (const Value& e : *arr.arr)
    if (strict_equal(e, x)) return true;
  return false;
}

}  // namespace

Value Interpreter::binary(const Node& n, Environment& env) {
  const std::string& op = n.str;
  Value l = eval(*n.a, env);
  if (op == "and") return truthy(l) ? eval(*n.b, env) : l;
  if (op == "or") return truthy(l) ? l : eval(*n.b, env);
  Value r = eval(*n.b, env);
  if (op == "==") return Value::boolean(loose_equal(l, r));
  if (op == "!=") return Value::boolean(!loose_equal(l, r));
  bool membership = op == "in" || op == "not in";
  if (l.is_undefined() || r.is_undefined()) {
    if (r.is_undefined() && membership) return Value::boolean(op == "not in");
    fail(fmt::format("Cannot perform operation {} on undefined values", op));
  }
  if (l.is_none() || r.is_none()) fail("Cannot perform operation on null values");
  if (op == "~") return Value::string(js_string(l) + js_string(r));
  auto numeric_like = [](const Value& v) { return v.is_number() || v.kind == Kind::kBool; };
  if (op == "**" && numeric_like(l) && numeric_like(r)) {
    double a = l.as_double(), b = r.as_double();
    if (a == 0 && b < 0) fail("0.0 cannot be raised to a negative power");
    double res = std::pow(a, b);
    if (!std::isfinite(res)) fail("Exponentiation result is not a finite real number");
    bool is_float = l.kind == Kind::kFloat || r.kind == Kind::kFloat || b < 0;
    return is_float ? Value::number(res) : Value::integer(int64_t(res));
  }
  if (l.is_number() && r.is_number()) {
    Value v = arithmetic(op, l, r);
    if (!v.is_undefined()) return v;
  } else if (l.is_array() && r.is_array()) {
    if (op == "+") {
      Array items = *l.arr;
      items.insert(items.end(), r.arr->begin(), r.arr->end());
      return Value::array(std::move(items));
    }
  } else if (r.is_array() && membership) {
    return Value::boolean(array_contains(r, l) == (op == "in"));
  }
  if ((l.is_string() || r.is_string()) && op == "+")
    return Value::string(js_string(l) + js_string(r));
  if (l.is_string() && r.is_string() && membership)
    return Value::boolean((r.s.find(l.s) != std::string::npos) == (op == "in"));
  if (l.is_string() && r.is_mapping() && membership)
    return Value::boolean((r.obj->find(l.s) != nullptr) == (op == "in"));
  fail(fmt::format("Unknown operator \"{}\" between {} and {}", op, type_name(l), type_name(r)));
}

Value Interpreter::unary(const Node& n, Environment& env) {
  Value v = eval(*n.a, env);
  if (n.str == "not") return Value::boolean(!truthy(v));
  double sign = n.str == "-" ? -1 : 1;
  if (v.kind == Kind::kFloat) return Value::number(sign * v.f);
  if (v.kind == Kind::kInt) return Value::integer(int64_t(sign) * v.i);
  if (v.kind == Kind::kBool) return Value::integer(int64_t(sign) * (v.b ? 1 : 0));
  fail(fmt::format("Unknown operator \"{}\" for {}", n.str, type_name(v)));
}

Value Interpreter::test(const Node& n, Environment& env) {
  Value v = eval(*n.a, env);
  bool r = run_test(n.str, v);
  return Value::boolean(n.flag ? !r : r);
}

namespace {

// Python-style slice bounds with JavaScript's clamping, as the reference computes them.
std::vector<size_t> slice_indices(size_t len, const Value& start, const Value& stop,
                                  const Value& step) {
  int64_t n = int64_t(len), st = step.is_undefined() ? 1 : step.i;
  std::vector<size_t> out;
  if (st >= 0) {
    int64_t b = start.is_undefined() ? 0 : start.i, e = stop.is_undefined() ? n : stop.i;
    b = b < 0 ? std::max(n + b, int64_t(0)) : std::min(b, n);
    e = e < 0 ? std::max(n + e, int64_t(0)) : std::min(e, n);
    if (st == 0) return out;
    for (int64_t k = b; k < e; k += st) out.push_back(size_t(k));
  } else {
    int64_t b = start.is_undefined() ? n - 1 : start.i, e = stop.is_undefined() ? -1 : stop.i;
    b = b < 0 ? std::max(n + b, int64_t(-1)) : std::min(b, n - 1);
    e = e < -1 ? std::max(n + e, int64_t(-1)) : std::min(e, n - 1);
    for (int64_t k = b; k > e; k += st) out.push_back(size_t(k));
  }
  return out;
}

}  // namespace

Value Interpreter::slice(const Value& object, const Node& n, Environment& env) {
  if (!object.is_array() && !object.is_string()) fail("Slice object must be an array or string");
  Value parts[3];
  const Node* nodes[3] = {n.a.get(), n.b.get(), n.c.get()};
  static const char* kNames[3] = {"start", "stop", "step"};
  for (int k = 0; k < 3; ++k) {
    if (nodes[k]) parts[k] = eval(*nodes[k], env);
    if (parts[k].kind != Kind::kInt && !parts[k].is_undefined())
      fail(fmt::format("Slice {} must be numeric or undefined", kNames[k]));
  }
  if (object.is_array()) {
    Array items;
    for (size_t k : slice_indices(object.arr->size(), parts[0], parts[1], parts[2]))
      items.push_back((*object.arr)[k]);
    return Value::array(std::move(items));
  }
  std::vector<std::string> cps = code_points(object.s);
  std::string out;
  for (size_t k : slice_indices(cps.size(), parts[0], parts[1], parts[2])) out += cps[k];
  return Value::string(std::move(out));
}

Value Interpreter::member(const Node& n, Environment& env) {
  Value object = eval(*n.a, env);
  Value prop;
  if (n.flag) {
    if (n.b->kind == NodeKind::kSlice) return slice(object, *n.b, env);
    prop = eval(*n.b, env);
  } else if (n.b->kind == NodeKind::kInt) {
    prop = Value::integer(n.b->i);
  } else {
    prop = Value::string(n.b->str);
  }
  if (object.is_object()) {
    if (!prop.is_string()) fail("Cannot access property with non-string: got " + type_name(prop));
    if (const Value* v = object.obj->find(prop.s)) return *v;
    return object.is_namespace ? Value() : builtin_member(object, prop.s);
  }
  if (object.is_array() || object.is_string()) {
    if (prop.kind == Kind::kInt) {
      if (object.is_array()) {
        int64_t len = int64_t(object.arr->size()), k = prop.i < 0 ? prop.i + len : prop.i;
        return k >= 0 && k < len ? (*object.arr)[size_t(k)] : Value();
      }
      std::u16string u = to_utf16(object.s);  // JavaScript's String.at: UTF-16 units
      int64_t len = int64_t(u.size()), k = prop.i < 0 ? prop.i + len : prop.i;
      return k >= 0 && k < len ? Value::string(from_utf16(u.substr(size_t(k), 1))) : Value();
    }
    if (prop.is_string()) return builtin_member(object, prop.s);
    fail("Cannot access property with non-string/non-number: got " + type_name(prop));
  }
  if (!prop.is_string()) fail("Cannot access property with non-string: got " + type_name(prop));
  return Value();
}

CallArgs Interpreter::eval_args(const NodeList& args, Environment& env) {
  CallArgs out;
  for (const auto& a : args) {
    if (a->kind == NodeKind::kSpread) {
      Value v = eval(*a->a, env);
      if (!v.is_array()) fail("Cannot unpack non-iterable type: " + type_name(v));
      for (const Value& x : *v.arr) out.positional.push_back(x);
    } else if (a->kind != NodeKind::kKwarg && a->kind != NodeKind::kKwSpread) {
      out.positional.push_back(eval(*a, env));
    }
  }
  auto add = [&](const std::string& key, Value v) {
    if (out.keywords.find(key))
      fail(fmt::format("Got multiple values for keyword argument '{}'", key));
    out.keywords.set(key, std::move(v));
  };
  for (const auto& a : args) {
    if (a->kind == NodeKind::kKwarg) add(a->str, eval(*a->a, env));
    if (a->kind == NodeKind::kKwSpread) {
      Value v = eval(*a->a, env);
      if (!v.is_mapping()) fail("Argument after ** must be a mapping, not " + type_name(v));
      for (const auto& [k, x] : v.obj->entries()) add(k, x);
    }
  }
  return out;
}

namespace {

Value kwargs_value(Object o) {
  Value v = Value::object(std::move(o));
  v.is_kwargs = true;
  return v;
}

}  // namespace

Value Interpreter::call(const Node& n, Environment& env) {
  CallArgs a = eval_args(n.list, env);
  if (a.keywords.size() > 0) a.positional.push_back(kwargs_value(std::move(a.keywords)));
  Value fn = eval(*n.a, env);
  if (fn.kind != Kind::kFunction)
    fail("Cannot call something that is not a function: got " + type_name(fn));
  return (*fn.fn)(a.positional, env);
}

Value Interpreter::for_loop(const Node& n, Environment& env) {
  Environment scope(&env);
  const Node* iter_node = n.b.get();
  const Node* filter = nullptr;
  if (iter_node->kind == NodeKind::kSelect) {
    filter = iter_node->b.get();
    iter_node = iter_node->a.get();
  }
  Value iterable = eval(*iter_node, scope);
  if (!iterable.is_array() && !iterable.is_mapping())
    fail("Expected iterable or object type in for loop: got " + type_name(iterable));
  Array all;
  if (iterable.is_array()) {
    all = *iterable.arr;
  } else {
    for (const auto& [k, v] : iterable.obj->entries()) all.push_back(Value::string(k));
  }
  const Node& target = *n.a;
  auto bind = [&](Environment& e, const Value& item) {
    if (target.kind == NodeKind::kIdent) return e.set(target.str, item);
    if (!item.is_array() || item.is_tuple)
      fail("Cannot unpack non-iterable type: " + type_name(item));
    if (item.arr->size() != target.list.size())
      fail(fmt::format("Too {} items to unpack",
                       target.list.size() > item.arr->size() ? "few" : "many"));
    for (size_t k = 0; k < target.list.size(); ++k) {
      if (target.list[k]->kind != NodeKind::kIdent) fail("Cannot unpack non-identifier type");
      e.set(target.list[k]->str, (*item.arr)[k]);
    }
  };
  Array items;
  for (const Value& item : all) {
    if (filter) {
      Environment probe(&scope);
      bind(probe, item);
      if (!truthy(eval(*filter, probe))) continue;
    }
    items.push_back(item);
  }
  std::string out;
  bool no_iteration = true;
  for (size_t k = 0; k < items.size(); ++k) {
    Object loop;
    int64_t len = int64_t(items.size()), i = int64_t(k);
    loop.set("index", Value::integer(i + 1));
    loop.set("index0", Value::integer(i));
    loop.set("revindex", Value::integer(len - i));
    loop.set("revindex0", Value::integer(len - i - 1));
    loop.set("first", Value::boolean(i == 0));
    loop.set("last", Value::boolean(i == len - 1));
    loop.set("length", Value::integer(len));
    loop.set("previtem", k > 0 ? items[k - 1] : Value());
    loop.set("nextitem", k + 1 < items.size() ? items[k + 1] : Value());
    scope.set("loop", Value::object(std::move(loop)));
    bind(scope, items[k]);
    try {
      out += block(n.body, scope).s;
    } catch (const ContinueSignal&) {
      continue;
    } catch (const BreakSignal&) {
      break;
    }
    no_iteration = false;
  }
  if (no_iteration) out += block(n.alt, scope).s;
  return Value::string(std::move(out));
}

Value Interpreter::set(const Node& n, Environment& env) {
  Value rhs = n.b ? eval(*n.b, env) : block(n.body, env);
  const Node& target = *n.a;
  if (target.kind == NodeKind::kIdent) {
    env.set(target.str, std::move(rhs));
  } else if (target.kind == NodeKind::kTuple) {
    if (!rhs.is_array()) fail("Cannot unpack non-iterable type in set: " + type_name(rhs));
    if (rhs.arr->size() != target.list.size())
      fail(fmt::format("Too {} items to unpack in set",
                       target.list.size() > rhs.arr->size() ? "few" : "many"));
    for (size_t k = 0; k < target.list.size(); ++k) {
      if (target.list[k]->kind != NodeKind::kIdent) fail("Cannot unpack to non-identifier in set");
      env.set(target.list[k]->str, (*rhs.arr)[k]);
    }
  } else if (target.kind == NodeKind::kMember) {
    Value object = eval(*target.a, env);
    if (!object.is_namespace) fail("cannot assign attribute on non-namespace object");
    if (target.flag || target.b->kind != NodeKind::kIdent)
      fail("Cannot assign to member with non-identifier property");
    object.obj->set(target.b->str, std::move(rhs));
  } else {
    fail("Invalid left-hand side of a set statement");
  }
  return Value::none();
}

void Interpreter::bind_macro_args(const std::string& display_name, const Node& def,
                                  const NodeList& params, std::vector<Value> args,
                                  Environment& scope) {
  Object keywords;
  if (!args.empty() && args.back().is_kwargs) {
    keywords = *args.back().obj;
    args.pop_back();
  }
  std::vector<const Node*> pending;
  for (size_t k = 0; k < params.size(); ++k) {
    const Node& p = *params[k];
    Value v = k < args.size() ? args[k] : Value();
    bool given = k < args.size();
    if (!given && keywords.find(p.str)) {
      v = *keywords.find(p.str);
      keywords.erase(p.str);
      given = true;
    }
    if (!given && p.kind == NodeKind::kKwarg) pending.push_back(&p);
    scope.set(p.str, v);
  }
  if (def.uses_kwargs) {
    scope.set("kwargs", Value::object(std::move(keywords)));
  } else if (keywords.size() > 0) {
    fail(fmt::format("macro {} takes no keyword argument '{}'", display_name,
                     keywords.entries().front().first));
  }
  if (def.uses_varargs) {
    Array rest;
    for (size_t k = params.size(); k < args.size(); ++k) rest.push_back(args[k]);
    scope.set("varargs", Value::array(std::move(rest)));
  } else if (args.size() > params.size()) {
    fail(fmt::format("macro {} takes not more than {} argument(s)", display_name, params.size()));
  }
  for (const Node* p : pending) scope.set(p->str, eval(*p->a, scope));
}

Value Interpreter::macro(const Node& n, Environment& env) {
  const Node* def = &n;
  env.set(n.str, Value::function([this, def](std::vector<Value>& args, Environment& caller) {
            Environment scope(&caller);
            bind_macro_args("'" + def->str + "'", *def, def->list, args, scope);
            return block(def->body, scope);
          }));
  return Value::none();
}

Value Interpreter::call_block(const Node& n, Environment& env) {
  const Node* def = &n;
  Environment* outer = &env;
  Value caller = Value::function([this, def, outer](std::vector<Value>& args, Environment&) {
    Environment scope(outer);
    bind_macro_args("None", *def, def->list, args, scope);
    return block(def->body, scope);
  });
  CallArgs a = eval_args(n.a->list, env);
  a.positional.push_back(kwargs_value(std::move(a.keywords)));
  Value fn = eval(*n.a->a, env);
  if (fn.kind != Kind::kFunction)
    fail("Cannot call something that is not a function: got " + type_name(fn));
  Environment with_caller(&env);
  with_caller.set("caller", caller);
  return (*fn.fn)(a.positional, with_caller);
}

}  // namespace silica::jinja
