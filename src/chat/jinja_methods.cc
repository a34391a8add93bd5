// Jinja built-ins: string and dict methods, tests, and the global functions.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "chat/jinja_eval.h"

namespace silica::jinja {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw JinjaError(0, what);
}

bool is_word_byte(unsigned char c) {
  return std::isalnum(c) || c == '_';
}

// JavaScript's /\b\w/g upper-cased: ASCII word characters that start a word.
std::string title_case(const std::string& s) {
  std::string out = s;
  for (size_t k = 0; k < out.size(); ++k) {
    bool starts = is_word_byte(out[k]) && (k == 0 || !is_word_byte(out[k - 1]));
    if (starts) out[k] = char(std::toupper((unsigned char)out[k]));
  }
  return out;
}

Value affix_test(const std::string& self, const std::vector<Value>& args, bool prefix) {
  const char* name = prefix ? "startswith" : "endswith";
  if (args.empty()) fail(fmt::format("{}() requires at least one argument", name));
  auto hit = [&](const std::string& p) {
    if (p.size() > self.size()) return false;
    return prefix ? self.compare(0, p.size(), p) == 0
                  : self.compare(self.size() - p.size(), p.size(), p) == 0;
  };
  if (args[0].is_string()) return Value::boolean(hit(args[0].s));
  if (args[0].is_array()) {
    for (const Value& x : *args[0].arr) {
      if (!x.is_string()) fail(fmt::format("{}() tuple elements must be strings", name));
      if (hit(x.s)) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  fail(fmt::format("{}() argument must be a string or tuple of strings", name));
}

// Python's str.split(sep=None, maxsplit=-1).
Value split(const std::string& self, const std::vector<Value>& args) {
  Value sep = args.size() > 0 ? args[0] : Value::none();
  Value maxsplit = args.size() > 1 ? args[1] : Value::integer(-1);
  if (!sep.is_string() && !sep.is_none()) fail("sep argument must be a string or null");
  if (maxsplit.kind != Kind::kInt) fail("maxsplit argument must be a number");
  Array out;
  if (sep.is_none()) {
    std::string text = js_trim(self, true, false);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t start = pos;
      size_t p = pos;
      while (p < text.size()) {  // a run of non-space characters
        size_t q = p;
        if (js_is_space(decode_utf8(text, q))) break;
        p = q;
      }
      if (p > start) {
        if (maxsplit.i != -1 && int64_t(out.size()) >= maxsplit.i) {
          out.push_back(Value::string(text.substr(start)));
          break;
        }
        out.push_back(Value::string(text.substr(start, p - start)));
      }
      pos = p;
      while (pos < text.size()) {
        size_t q = pos;
        if (!js_is_space(decode_utf8(text, q))) break;
        pos = q;
      }
    }
    return Value::array(std::move(out));
  }
  if (sep.s.empty()) fail("empty separator");
  std::vector<std::string> parts;
  for (size_t pos = 0;;) {
    size_t hit = self.find(sep.s, pos);
    if (hit == std::string::npos) {
      parts.push_back(self.substr(pos));
      break;
    }
    parts.push_back(self.substr(pos, hit - pos));
    pos = hit + sep.s.size();
  }
  if (maxsplit.i != -1 && int64_t(parts.size()) > maxsplit.i) {
    std::string rest;
    for (size_t k = size_t(maxsplit.i); k < parts.size(); ++k)
      rest += (k > size_t(maxsplit.i) ? sep.s : "") + parts[k];
    parts.resize(size_t(maxsplit.i));
    parts.push_back(rest);
  }
  for (auto& p : parts) out.push_back(Value::string(std::move(p)));
  return Value::array(std::move(out));
}

Value replace(const std::string& self, const std::vector<Value>& args) {
  if (args.size() < 2) fail("replace() requires at least two arguments");
  if (!args[0].is_string() || !args[1].is_string()) fail("replace() arguments must be strings");
  Value count = Value::none();
  if (args.size() > 2) {
    if (args[2].is_kwargs) {
      const Value* c = args[2].obj->find("count");
      count = c ? *c : Value::none();
    } else {
      count = args[2];
    }
  }
  if (count.kind != Kind::kInt && !count.is_none())
    fail("replace() count argument must be a number or null");
  int64_t remaining = count.is_none() || count.i < 0 ? INT64_MAX : count.i;
  const std::string &from = args[0].s, &to = args[1].s;
  if (remaining == 0) return Value::string(self);
  std::string out;
  if (from.empty()) {  // an insertion at every character boundary, ends included
    std::vector<std::string> cps = code_points(self);
    for (size_t k = 0; k <= cps.size(); ++k) {
      if (remaining > 0) {
        out += to;
        --remaining;
      }
      if (k < cps.size()) out += cps[k];
    }
    return Value::string(std::move(out));
  }
  size_t pos = 0;
  while (remaining > 0) {
    size_t hit = self.find(from, pos);
    if (hit == std::string::npos) break;
    out += self.substr(pos, hit - pos) + to;
    pos = hit + from.size();
    --remaining;
  }
  out += self.substr(pos);
  return Value::string(std::move(out));
}

Value string_method(const Value& self, const std::string& name) {
  const std::string s = self.s;
  auto fn = [](auto f) { return Value::function(f); };
  if (name == "length") return Value::integer(int64_t(utf16_length(s)));
  if (name == "upper") return fn([s](auto&, auto&) { return Value::string(js_upper(s)); });
  if (name == "lower") return fn([s](auto&, auto&) { return Value::string(js_lower(s)); });
  if (name == "strip")
    return fn([s](auto&, auto&) { return Value::string(js_trim(s, true, true)); });
  if (name == "lstrip")
    return fn([s](auto&, auto&) { return Value::string(js_trim(s, true, false)); });
  if (name == "rstrip")
    return fn([s](auto&, auto&) { return Value::string(js_trim(s, false, true)); });
  if (name == "title") return fn([s](auto&, auto&) { return Value::string(title_case(s)); });
  if (name == "capitalize") {
    return fn([s](auto&, auto&) {
      std::u16string u = to_utf16(s);
      if (u.empty()) return Value::string("");
      return Value::string(js_upper(from_utf16(u.substr(0, 1))) + from_utf16(u.substr(1)));
    });
  }
  if (name == "startswith")
    return fn([s](std::vector<Value>& a, auto&) { return affix_test(s, a, true); });
  if (name == "endswith")
    return fn([s](std::vector<Value>& a, auto&) { return affix_test(s, a, false); });
  if (name == "split") return fn([s](std::vector<Value>& a, auto&) { return split(s, a); });
  if (name == "replace") return fn([s](std::vector<Value>& a, auto&) { return replace(s, a); });
  return Value();
}

Value items_of(const Value& o) {
  Array out;
  for (const auto& [k, v] : o.obj->entries()) out.push_back(Value::array({Value::string(k), v}));
  return Value::array(std::move(out));
}

// dict.dictsort(case_sensitive=False, by='key', reverse=False).
Value dictsort(const Value& o, std::vector<Value> args) {
  Object kw;
  std::vector<Value> pos;
  for (Value& a : args) {
    if (a.is_kwargs) {
      kw = *a.obj;
    } else {
      pos.push_back(a);
    }
  }
  auto arg = [&](size_t k, const char* key, Value dflt) {
    if (k < pos.size()) return pos[k];
    if (const Value* v = kw.find(key)) return *v;
    return dflt;
  };
  Value case_sensitive = arg(0, "case_sensitive", Value::boolean(false));
  if (case_sensitive.kind != Kind::kBool) fail("case_sensitive must be a boolean");
  Value by = arg(1, "by", Value::string("key"));
  if (!by.is_string()) fail("by must be a string");
  if (by.s != "key" && by.s != "value") fail("by must be either 'key' or 'value'");
  Value reverse = arg(2, "reverse", Value::boolean(false));
  if (reverse.kind != Kind::kBool) fail("reverse must be a boolean");
  Array items = *items_of(o).arr;
  size_t idx = by.s == "key" ? 0 : 1;
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    int r = compare_values((*a.arr)[idx], (*b.arr)[idx], case_sensitive.b);
    return reverse.b ? r > 0 : r < 0;
  });
  return Value::array(std::move(items));
}

Value object_method(const Value& self, const std::string& name) {
  Value o = self;
  if (name == "get") {
    return Value::function([o](std::vector<Value>& a, auto&) {
      if (a.empty() || !a[0].is_string())
        fail("Object key must be a string: got " +
             (a.empty() ? "UndefinedValue" : type_name(a[0])));
      if (const Value* v = o.obj->find(a[0].s)) return *v;
      return a.size() > 1 ? a[1] : Value::none();
    });
  }
  if (name == "items") return Value::function([o](auto&, auto&) { return items_of(o); });
  if (name == "keys") {
    return Value::function([o](auto&, auto&) {
      Array out;
      for (const auto& [k, v] : o.obj->entries()) out.push_back(Value::string(k));
      return Value::array(std::move(out));
    });
  }
  if (name == "values") {
    return Value::function([o](auto&, auto&) {
      Array out;
      for (const auto& [k, v] : o.obj->entries()) out.push_back(v);
      return Value::array(std::move(out));
    });
  }
  if (name == "dictsort")
    return Value::function([o](std::vector<Value>& a, auto&) { return dictsort(o, a); });
  return Value();
}

}  // namespace

Value builtin_member(const Value& object, const std::string& name) {
  if (object.is_string()) return string_method(object, name);
  if (object.is_array())
    return name == "length" ? Value::integer(int64_t(object.arr->size())) : Value();
  if (object.is_mapping()) return object_method(object, name);
  return Value();
}

bool run_test(const std::string& name, const Value& v) {
  if (name == "boolean") return v.kind == Kind::kBool;
  if (name == "callable") return v.kind == Kind::kFunction;
  if (name == "odd" || name == "even") {
    if (v.kind != Kind::kInt) fail(fmt::format("cannot {} on {}", name, type_name(v)));
    return (v.i % 2 != 0) == (name == "odd");
  }
  if (name == "false") return v.kind == Kind::kBool && !v.b;
  if (name == "true") return v.kind == Kind::kBool && v.b;
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind == Kind::kInt;
  if (name == "iterable") return (v.is_array() && !v.is_tuple) || v.is_string();
  if (name == "mapping") return v.is_mapping();
  if (name == "sequence") return v.is_array() || v.is_mapping() || v.is_string();
  if (name == "lower") return v.is_string() && v.s == js_lower(v.s);
  if (name == "upper") return v.is_string() && v.s == js_upper(v.s);
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  // The reference calls tests with the operand alone, so a test needing an argument fails.
  if (name == "equalto" || name == "eq") fail(fmt::format("test '{}' needs an argument", name));
  fail("Unknown test: " + name);
}

namespace {

Value namespace_fn(std::vector<Value>& args, Environment&) {
  std::vector<Value> pos = args;
  Object kw;
  if (!pos.empty() && pos.back().is_kwargs) {
    kw = *pos.back().obj;
    pos.pop_back();
  }
  if (pos.size() > 1)
    fail(fmt::format("namespace expected at most 1 argument, got {}", pos.size()));
  Object entries;
  if (pos.size() == 1) {
    const Value& src = pos[0];
    if (src.is_mapping()) {
      for (const auto& [k, v] : src.obj->entries()) entries.set(k, v);
    } else if (src.is_array()) {
      for (const Value& pair : *src.arr) {
        std::vector<Value> kv;
        if (pair.is_array()) kv = *pair.arr;
        if (pair.is_string())
          for (auto& c : code_points(pair.s)) kv.push_back(Value::string(c));
        if (kv.size() != 2)
          fail("namespace expected an object or an iterable of [key, value] pairs");
        if (!kv[0].is_string()) fail("namespace keys must be strings");
        entries.set(kv[0].s, kv[1]);
      }
    } else {
      fail(fmt::format("'{}' object is not iterable", type_name(src)));
    }
  }
  for (const auto& [k, v] : kw.entries()) entries.set(k, v);
  Value ns = Value::object(std::move(entries));
  ns.is_namespace = true;
  return ns;
}

Value range_fn(std::vector<Value>& args, Environment&) {
  std::vector<double> n;
  for (const Value& a : args) {
    if (!a.is_number() && a.kind != Kind::kBool) fail("range() arguments must be numbers");
    n.push_back(a.as_double());
  }
  if (n.empty() || n.size() > 3) fail("range() expects 1 to 3 arguments");
  double start = n.size() == 1 ? 0 : n[0], stop = n.size() == 1 ? n[0] : n[1];
  double step = n.size() == 3 ? n[2] : 1;
  if (step == 0) fail("range() step must not be zero");
  Array out;
  auto num = [](double x) {
    return std::fmod(x, 1.0) == 0 ? Value::integer(int64_t(x)) : Value::number(x);
  };
  for (double x = start; step > 0 ? x < stop : x > stop; x += step) out.push_back(num(x));
  return Value::array(std::move(out));
}

// strftime_now with the reference's directives (%Y %m %d %b %B %H %M %%); others stay as text.
Value strftime_fn(std::vector<Value>& args, Environment&) {
  if (args.empty() || !args[0].is_string()) fail("strftime_now() expects a format string");
  static const char* kLong[] = {"January",   "February", "March",    "April",
                                "May",       "June",     "July",     "August",
                                "September", "October",  "November", "December"};
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  const std::string& f = args[0].s;
  std::string out;
  for (size_t k = 0; k < f.size(); ++k) {
    if (f[k] != '%' || k + 1 >= f.size()) {
      out += f[k];
      continue;
    }
    char d = f[k + 1];
    std::string rep;
    switch (d) {
      case 'Y':
        rep = std::to_string(tm.tm_year + 1900);
        break;
      case 'm':
        rep = fmt::format("{:02}", tm.tm_mon + 1);
        break;
      case 'd':
        rep = fmt::format("{:02}", tm.tm_mday);
        break;
      case 'b':
        rep = std::string(kLong[tm.tm_mon]).substr(0, 3);
        break;
      case 'B':
        rep = kLong[tm.tm_mon];
        break;
      case 'H':
        rep = fmt::format("{:02}", tm.tm_hour);
        break;
      case 'M':
        rep = fmt::format("{:02}", tm.tm_min);
        break;
      case '%':
        rep = "%";
        break;
      default:
        out += f[k];
        continue;
    }
    out += rep;
    ++k;
  }
  return Value::string(std::move(out));
}

}  // namespace

void setup_globals(Environment& env) {
  env.declare("false", Value::boolean(false));
  env.declare("true", Value::boolean(true));
  env.declare("none", Value::none());
  env.declare("raise_exception",
              Value::function([](std::vector<Value>& args, Environment&) -> Value {
                std::string msg;
                for (size_t k = 0; k < args.size(); ++k) msg += (k ? "," : "") + display(args[k]);
                throw JinjaError(0, "raise_exception: " + msg);
              }));
  env.declare("range", Value::function(range_fn));
  env.declare("strftime_now", Value::function(strftime_fn));
  env.declare("True", Value::boolean(true));
  env.declare("False", Value::boolean(false));
  env.declare("None", Value::none());
  env.declare("namespace", Value::function(namespace_fn));
}

}  // namespace silica::jinja
