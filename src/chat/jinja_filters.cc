// Jinja filters (`x | name` and `x | name(args)`), with the reference renderer's per-type rules.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "chat/jinja_eval.h"

namespace silica::jinja {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw JinjaError(0, what);
}

[[noreturn]] void cannot(const std::string& filter, const Value& v) {
  fail(fmt::format("Cannot apply filter \"{}\" to type: {}", filter, type_name(v)));
}

// Keyword, then positional, then default: the reference's lookup order for filter options.
Value option(const CallArgs& a, size_t k, const char* key, Value dflt) {
  if (k < a.positional.size()) return a.positional[k];
  if (const Value* v = a.keywords.find(key)) return *v;
  return dflt;
}

// JavaScript parseInt(s, 10) / parseFloat(s): the longest numeric prefix after blanks.
std::optional<double> parse_prefix(const std::string& s, bool integer) {
  std::string t = js_trim(s, true, false);
  size_t k = 0;
  if (k < t.size() && (t[k] == '+' || t[k] == '-')) ++k;
  size_t digits_start = k;
  while (k < t.size() && std::isdigit((unsigned char)t[k])) ++k;
  if (integer) {
    if (k == digits_start) return std::nullopt;
    return std::strtod(t.substr(0, k).c_str(), nullptr);
  }
  if (t.compare(digits_start, 8, "Infinity") == 0) return t[0] == '-' ? -INFINITY : INFINITY;
  bool any = k > digits_start;
  if (k < t.size() && t[k] == '.') {
    size_t f = ++k;
    while (k < t.size() && std::isdigit((unsigned char)t[k])) ++k;
    any = any || k > f;
  }
  if (!any) return std::nullopt;
  if (k < t.size() && (t[k] == 'e' || t[k] == 'E')) {
    size_t e = k + 1;
    if (e < t.size() && (t[e] == '+' || t[e] == '-')) ++e;
    size_t ed = e;
    while (e < t.size() && std::isdigit((unsigned char)t[e])) ++e;
    if (e > ed) k = e;
  }
  return std::strtod(t.substr(0, k).c_str(), nullptr);
}

Value js_join(const Array& items, const std::string& sep) {
  std::string out;
  for (size_t k = 0; k < items.size(); ++k) {
    if (k) out += sep;
    const Value& x = items[k];
    if (!x.is_none() && !x.is_undefined()) out += js_string(x);  // Array.join drops nullish
  }
  return Value::string(std::move(out));
}

// Attribute paths as in `map(attribute='a.b')`: dotted keys, numeric parts index arrays.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_object()) {
      const Value* x = v.obj->find(part);
      v = x ? *x : Value();
    } else if (v.is_array()) {
      auto n = parse_prefix(part, true);
      if (!n || *n < 0 || *n >= double(v.arr->size())) return Value();
      v = (*v.arr)[size_t(*n)];
    } else {
      return Value();
    }
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Value indent(const std::string& s, int64_t width, bool first, bool blank) {
  std::string pad(size_t(std::max<int64_t>(width, 0)), ' ');
  std::string out;
  size_t start = 0, line = 0;
  while (true) {
    size_t nl = s.find('\n', start);
    std::string x = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    bool keep = (!first && line == 0) || (!blank && x.empty());
    out += keep ? x : pad + x;
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
    ++line;
  }
  return Value::string(std::move(out));
}

Value unique(const Array& items) {
  Array out;
  for (const Value& x : items) {
    bool seen = false;
    for (const Value& y : out) seen = seen || strict_equal(x, y);
    if (!seen) out.push_back(x);
  }
  return Value::array(std::move(out));
}

Value sorted(const Array& items, bool reverse, bool case_sensitive, const Value& attribute) {
  Array out = items;
  auto key = [&](const Value& v) {
    if (attribute.is_none()) return v;
    return attribute_path(v,
                          attribute.kind == Kind::kInt ? std::to_string(attribute.i) : attribute.s);
  };
  std::stable_sort(out.begin(), out.end(), [&](const Value& a, const Value& b) {
    int r = compare_values(key(a), key(b), case_sensitive);
    return reverse ? r > 0 : r < 0;
  });
  return Value::array(std::move(out));
}

// Filters written without arguments: `x | name`.
Value plain_filter(const std::string& f, const Value& v, Environment& env) {
  if (f == "safe") return v;
  if (f == "tojson") return Value::string(to_json(v, {}));
  if (v.is_array()) {
    const Array& a = *v.arr;
    if (f == "list") return v;
    if (f == "first") return a.empty() ? Value() : a.front();
    if (f == "last") return a.empty() ? Value() : a.back();
    if (f == "length" || f == "count") return Value::integer(int64_t(a.size()));
    if (f == "reverse") return Value::array(Array(a.rbegin(), a.rend()));
    if (f == "sort") return sorted(a, false, false, Value::none());
    if (f == "join") return js_join(a, "");
    if (f == "string") return Value::string(to_json(v, {}, 0, false));
    if (f == "unique") return unique(a);
    fail("Unknown ArrayValue filter: " + f);
  }
  if (v.is_string()) {
    if (f == "length" || f == "count") return Value::integer(int64_t(utf16_length(v.s)));
    if (f == "upper" || f == "lower" || f == "title" || f == "capitalize") {
      std::vector<Value> none;
      return (*builtin_member(v, f).fn)(none, env);
    }
    if (f == "trim") return Value::string(js_trim(v.s, true, true));
    if (f == "indent") return indent(v.s, 4, false, false);
    if (f == "join" || f == "string") return v;
    if (f == "int") {
      auto n = parse_prefix(v.s, true);
      return Value::integer(n ? int64_t(*n) : 0);
    }
    if (f == "float") {
      auto n = parse_prefix(v.s, false);
      return Value::number(n ? *n : 0);
    }
    if (f == "wordcount") {  // an extension: the reference has no wordcount
      std::vector<Value> none;
      return Value::integer(int64_t((*builtin_member(v, "split").fn)(none, env).arr->size()));
    }
    fail("Unknown StringValue filter: " + f);
  }
  if (v.is_number()) {
    if (f == "abs")
      return v.kind == Kind::kInt ? Value::integer(std::llabs(v.i)) : Value::number(std::fabs(v.f));
    if (f == "int") return Value::integer(int64_t(std::floor(v.as_double())));
    if (f == "float") return Value::number(v.as_double());
    if (f == "string") return Value::string(display(v));
    if (f == "round") return Value::number(std::nearbyint(v.as_double()));  // an extension
    fail("Unknown NumericValue filter: " + f);
  }
  if (v.is_mapping()) {
    if (f == "items") {
      std::vector<Value> none;
      return (*builtin_member(v, "items").fn)(none, env);
    }
    if (f == "length" || f == "count") return Value::integer(int64_t(v.obj->size()));
    Value b = builtin_member(v, f);
    if (b.kind == Kind::kFunction) {
      std::vector<Value> none;
      return (*b.fn)(none, env);
    }
    if (!b.is_undefined()) return b;
    fail("Unknown ObjectValue filter: " + f);
  }
  if (v.kind == Kind::kBool) {
    if (f == "bool") return v;
    if (f == "int") return Value::integer(v.b ? 1 : 0);
    if (f == "float") return Value::number(v.b ? 1 : 0);
    if (f == "string") return Value::string(v.b ? "true" : "false");
    fail("Unknown BooleanValue filter: " + f);
  }
  cannot(f, v);
}

Value tojson_filter(const Value& v, const CallArgs& a) {
  JsonOptions o;
  Value ind = option(a, size_t(-1), "indent", Value::none());
  if (ind.kind != Kind::kInt && !ind.is_none()) fail("If set, indent must be a number");
  o.indent = ind.is_none() ? 0 : int(ind.i);
  Value ascii = option(a, size_t(-1), "ensure_ascii", Value::boolean(false));
  if (ascii.kind != Kind::kBool) fail("If set, ensure_ascii must be a boolean");
  o.ensure_ascii = ascii.b;
  Value sort = option(a, size_t(-1), "sort_keys", Value::boolean(false));
  if (sort.kind != Kind::kBool) fail("If set, sort_keys must be a boolean");
  o.sort_keys = sort.b;
  Value seps = option(a, size_t(-1), "separators", Value::none());
  if (seps.is_array()) {
    const Array& s = *seps.arr;
    if (s.size() != 2 || !s[0].is_string() || !s[1].is_string())
      fail("separators must be a tuple of two strings");
    o.has_separators = true;
    o.item_sep = s[0].s;
    o.key_sep = s[1].s;
  } else if (!seps.is_none()) {
    fail("If set, separators must be a tuple of two strings");
  }
  return Value::string(to_json(v, o));
}

Value select_filter(Interpreter& in, const std::string& f, const Value& v, const Node& call,
                    Environment& env) {
  bool select = f == "selectattr";
  for (const Value& x : *v.arr)
    if (!x.is_object()) fail(fmt::format("`{}` can only be applied to array of objects", f));
  for (const auto& arg : call.list)
    if (arg->kind != NodeKind::kString) fail(fmt::format("arguments of `{}` must be strings", f));
  if (call.list.empty()) fail(fmt::format("`{}` needs an attribute name", f));
  const std::string& attr = call.list[0]->str;
  std::string test = call.list.size() > 1 ? call.list[1]->str : "";
  Array out;
  for (const Value& item : *v.arr) {
    const Value* x = item.obj->find(attr);
    bool r = false;
    if (x) {
      if (test.empty()) {
        r = truthy(*x);
      } else if (test == "equalto" || test == "eq") {
        Value want = call.list.size() > 2 ? in.eval(*call.list[2], env) : Value();
        r = strict_equal(*x, want);
      } else {
        r = run_test(test, *x);
      }
    }
    if (r == select) out.push_back(item);
  }
  return Value::array(std::move(out));
}

Value call_filter_on_array(Interpreter& in, const std::string& f, const Value& v, const Node& call,
                           Environment& env) {
  if (f == "selectattr" || f == "rejectattr") return select_filter(in, f, v, call, env);
  CallArgs a = in.eval_args(call.list, env);
  if (f == "sort") {
    Value reverse = option(a, 0, "reverse", Value::boolean(false));
    if (reverse.kind != Kind::kBool) fail("reverse must be a boolean");
    Value cs = option(a, 1, "case_sensitive", Value::boolean(false));
    if (cs.kind != Kind::kBool) fail("case_sensitive must be a boolean");
    Value attr = option(a, 2, "attribute", Value::none());
    if (!attr.is_string() && attr.kind != Kind::kInt && !attr.is_none())
      fail("attribute must be a string, integer, or null");
    return sorted(*v.arr, reverse.b, cs.b, attr);
  }
  if (f == "map") {
    const Value* attr = a.keywords.find("attribute");
    if (!attr) fail("`map` expressions without `attribute` set are not currently supported.");
    if (!attr->is_string()) fail("attribute must be a string");
    const Value* dflt = a.keywords.find("default");
    Array out;
    for (const Value& item : *v.arr) {
      if (!item.is_object()) fail("items in map must be an object");
      Value x = attribute_path(item, attr->s);
      out.push_back(x.is_undefined() && dflt ? *dflt : x);
    }
    return Value::array(std::move(out));
  }
  fail("Unknown ArrayValue filter: " + f);
}

// Filters written with arguments: `x | name(...)`.
Value call_filter(Interpreter& in, const Value& v, const Node& call, Environment& env) {
  if (call.a->kind != NodeKind::kIdent) fail("Unknown filter: not a name");
  const std::string& f = call.a->str;
  if (f == "tojson") return tojson_filter(v, in.eval_args(call.list, env));
  if (f == "join") {
    Array items;
    if (v.is_string()) {
      for (auto& c : code_points(v.s)) items.push_back(Value::string(c));
    } else if (v.is_array()) {
      items = *v.arr;
    } else {
      cannot(f, v);
    }
    Value sep = option(in.eval_args(call.list, env), 0, "separator", Value::string(""));
    if (!sep.is_string()) fail("separator must be a string");
    return js_join(items, sep.s);
  }
  if (f == "int" || f == "float") {
    CallArgs a = in.eval_args(call.list, env);
    bool integer = f == "int";
    Value dflt = option(a, 0, "default", integer ? Value::integer(0) : Value::number(0));
    if (v.is_string()) {
      auto n = parse_prefix(v.s, integer);
      if (!n) return dflt;
      return integer ? Value::integer(int64_t(*n)) : Value::number(*n);
    }
    if (v.is_number()) return v;
    if (v.kind == Kind::kBool) return integer ? Value::integer(v.b) : Value::number(v.b);
    cannot(f, v);
  }
  if (f == "default") {
    CallArgs a = in.eval_args(call.list, env);
    Value dflt = a.positional.size() > 0 ? a.positional[0] : Value::string("");
    Value boolean = option(a, 1, "boolean", Value::boolean(false));
    if (boolean.kind != Kind::kBool) fail("`default` filter flag must be a boolean");
    return v.is_undefined() || (boolean.b && !truthy(v)) ? dflt : v;
  }
  if (v.is_array()) return call_filter_on_array(in, f, v, call, env);
  if (v.is_string()) {
    CallArgs a = in.eval_args(call.list, env);
    if (f == "indent") {
      Value width = option(a, 0, "width", Value::integer(4));
      if (width.kind != Kind::kInt) fail("width must be a number");
      Value first = option(a, 1, "first", Value::boolean(false));
      Value blank = option(a, 2, "blank", Value::boolean(false));
      return indent(v.s, width.i, truthy(first), truthy(blank));
    }
    if (f == "replace") {
      std::vector<Value> args = a.positional;
      Value kw = Value::object(a.keywords);
      kw.is_kwargs = true;
      args.push_back(kw);
      return (*builtin_member(v, "replace").fn)(args, env);
    }
    fail("Unknown StringValue filter: " + f);
  }
  if (v.is_mapping()) {
    Value b = builtin_member(v, f);
    if (b.kind == Kind::kFunction) {
      CallArgs a = in.eval_args(call.list, env);
      if (a.keywords.size() > 0) {
        Value kw = Value::object(a.keywords);
        kw.is_kwargs = true;
        a.positional.push_back(kw);
      }
      return (*b.fn)(a.positional, env);
    }
    fail("Unknown ObjectValue filter: " + f);
  }
  cannot(f, v);
}

}  // namespace

Value apply_filter(Interpreter& in, const Value& operand, const Node& filter, Environment& env) {
  if (filter.kind == NodeKind::kIdent) return plain_filter(filter.str, operand, env);
  if (filter.kind == NodeKind::kCall) return call_filter(in, operand, filter, env);
  fail("Unknown filter");
}

}  // namespace silica::jinja
