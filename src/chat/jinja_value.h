// Runtime values of the Jinja engine: a small dynamic type with the reference renderer's
// (@huggingface/jinja) truthiness, printing, JSON and string rules.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace silica::jinja {

// A template failure; `line` is the template line (1-based) or 0 when not known.
class JinjaError : public std::runtime_error {
 public:
  JinjaError(int line, const std::string& what) : std::runtime_error(what), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject, kFunction };

struct Value;
class Environment;
using Array = std::vector<Value>;
// Called with positional arguments (keyword arguments ride last as an is_kwargs object) and
// the caller's environment: macros see the scope they are called from, as in the reference.
using Callable = std::function<Value(std::vector<Value>& args, Environment& env)>;

// Keys keep insertion order, as JavaScript Maps (and Python dicts) do.
class Object {
 public:
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
  bool erase(const std::string& key);
  size_t size() const { return entries_.size(); }
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

struct Value {
  Kind kind = Kind::kUndefined;
  bool is_tuple = false;      // (a, b): an array the reference will not serialize or iterate as one
  bool is_kwargs = false;     // keyword arguments passed to a call
  bool is_namespace = false;  // namespace(): the only object `set a.b = ...` may change
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<Array> arr;  // shared: == on arrays compares identity, as in JavaScript
  std::shared_ptr<Object> obj;
  std::shared_ptr<Callable> fn;

  static Value none() { return make(Kind::kNone); }
  static Value boolean(bool v) {
    Value r = make(Kind::kBool);
    r.b = v;
    return r;
  }
  static Value integer(int64_t v) {
    Value r = make(Kind::kInt);
    r.i = v;
    return r;
  }
  static Value number(double v) {
    Value r = make(Kind::kFloat);
    r.f = v;
    return r;
  }
  static Value string(std::string v) {
    Value r = make(Kind::kString);
    r.s = std::move(v);
    return r;
  }
  static Value array(Array items = {}) {
    Value r = make(Kind::kArray);
    r.arr = std::make_shared<Array>(std::move(items));
    return r;
  }
  static Value object(Object o = {}) {
    Value r = make(Kind::kObject);
    r.obj = std::make_shared<Object>(std::move(o));
    return r;
  }
  static Value function(Callable c) {
    Value r = make(Kind::kFunction);
    r.fn = std::make_shared<Callable>(std::move(c));
    return r;
  }
  static Value make(Kind k) {
    Value r;
    r.kind = k;
    return r;
  }

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_array() const { return kind == Kind::kArray; }
  bool is_object() const { return kind == Kind::kObject; }
  bool is_mapping() const { return kind == Kind::kObject && !is_namespace; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat; }
  double as_double() const { return kind == Kind::kInt ? double(i) : kind == Kind::kBool ? b : f; }
};

// The reference's type names, for error messages ("StringValue", "ArrayValue", ...).
std::string type_name(const Value& v);
bool truthy(const Value& v);
// What `{{ v }}` prints (Python-ish: 1.0 prints "1.0", true prints "true", lists as JSON).
std::string display(const Value& v);
// JavaScript's `v.value.toString()`, which `~` and string `+` use (1.0 prints "1").
std::string js_string(const Value& v);
// JavaScript Number.prototype.toString.
std::string js_number(double d);

struct JsonOptions {
  int indent = 0;  // 0: one line
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool has_separators = false;
  std::string item_sep, key_sep;
};
// tojson as the reference formats it: ", " and ": " on one line, "," and ": " when indented.
std::string to_json(const Value& v, const JsonOptions& o, int depth = 0,
                    bool undefined_as_null = true);
// JSON.stringify of one string.
std::string json_quote(std::string_view s);

// JavaScript `==` (loose) and `===` (strict) on the values the reference compares.
bool loose_equal(const Value& a, const Value& b);
bool strict_equal(const Value& a, const Value& b);
// Ordering for sort/dictsort; throws on types the reference refuses to compare.
int compare_values(const Value& a, const Value& b, bool case_sensitive);

// Object keys keep the file's order, except that integer-like keys come first in numeric
// order, as JavaScript's Object.entries lists them.
Value from_json(const nlohmann::ordered_json& j);

// Strings are UTF-8 here but JavaScript counts and indexes UTF-16 code units.
std::u16string to_utf16(std::string_view s);
std::string from_utf16(std::u16string_view s);
std::vector<std::string> code_points(std::string_view s);
size_t utf16_length(std::string_view s);

std::string js_trim(std::string_view s, bool start, bool end);
std::string js_upper(std::string_view s);
std::string js_lower(std::string_view s);
bool js_is_space(char32_t c);
char32_t decode_utf8(std::string_view s, size_t& pos);
void append_utf8(std::string& out, char32_t c);

}  // namespace silica::jinja
