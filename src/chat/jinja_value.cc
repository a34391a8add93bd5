// Runtime values of the Jinja engine: printing, JSON, equality and ordering as the reference does.
#include "chat/jinja_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace silica::jinja {

const Value* Object::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

void Object::set(const std::string& key, Value v) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].second = std::move(v);
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(key, std::move(v));
}

bool Object::erase(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  entries_.erase(entries_.begin() + it->second);
  index_.clear();
  for (size_t k = 0; k < entries_.size(); ++k) index_.emplace(entries_[k].first, k);
  return true;
}

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined:
      return "UndefinedValue";
    case Kind::kNone:
      return "NullValue";
    case Kind::kBool:
      return "BooleanValue";
    case Kind::kInt:
      return "IntegerValue";
    case Kind::kFloat:
      return "FloatValue";
    case Kind::kString:
      return "StringValue";
    case Kind::kArray:
      return v.is_tuple ? "TupleValue" : "ArrayValue";
    case Kind::kObject:
      return v.is_namespace ? "NamespaceValue"
             : v.is_kwargs  ? "KeywordArgumentsValue"
                            : "ObjectValue";
    case Kind::kFunction:
      return "FunctionValue";
  }
  return "?";
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return v.b;
    case Kind::kInt:
      return v.i != 0;
    case Kind::kFloat:
      return v.f != 0 && !std::isnan(v.f);
    case Kind::kString:
      return !v.s.empty();
    case Kind::kArray:
      return !v.arr->empty();
    // A namespace is a JavaScript Map object in the reference: always truthy.
    case Kind::kObject:
      return v.is_namespace || v.obj->size() > 0;
    case Kind::kFunction:
      return true;
  }
  return false;
}

std::string js_number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  // Shortest round-trip digits, then ECMAScript's Number::toString layout rules.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t e = sci.find('e');
  std::string digits;
  for (size_t k = 0; k < e; ++k)
    if (sci[k] != '.') digits += sci[k];
  int n = std::atoi(sci.c_str() + e + 1) + 1;  // decimal point position
  int k = int(digits.size());
  std::string out = d < 0 ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(-n, '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{}", n - 1 >= 0 ? "+" : "-", std::abs(n - 1));
  }
  return out;
}

namespace {

// FloatValue.toString: integral values keep one decimal ("2.0"), like Python.
std::string float_display(double f) {
  if (f == 0 && std::signbit(f)) return "-0.0";
  if (std::isfinite(f) && std::fmod(f, 1.0) == 0) {
    if (std::fabs(f) >= 1e21) return js_number(f);
    return fmt::format("{:.1f}", f);
  }
  return js_number(f);
}

}  // namespace

std::string display(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined:
    case Kind::kNone:
      return "undefined";
    case Kind::kBool:
      return v.b ? "true" : "false";
    case Kind::kInt:
      return std::to_string(v.i);
    case Kind::kFloat:
      return float_display(v.f);
    case Kind::kString:
      return v.s;
    case Kind::kArray:
    case Kind::kObject:
      return to_json(v, {}, 0, false);
    case Kind::kFunction:
      throw JinjaError(0, "cannot print a function (FunctionValue)");
  }
  return "";
}

std::string js_string(const Value& v) {
  switch (v.kind) {
    case Kind::kFloat:
      return js_number(v.f);
    case Kind::kArray: {
      std::string out;
      for (size_t k = 0; k < v.arr->size(); ++k) {
        if (k) out += ',';
        out += display((*v.arr)[k]);
      }
      return out;
    }
    case Kind::kObject:
      return "[object Map]";
    default:
      return display(v);
  }
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
  return out;
}

namespace {

// ensure_ascii: every UTF-16 unit from 0x7f up becomes \uXXXX (astral characters as two).
std::string ascii_safe(std::string_view s) {
  std::string out;
  for (char16_t u : to_utf16(s)) {
    if (u >= 0x7f) {
      out += fmt::format("\\u{:04x}", unsigned(u));
    } else {
      out += char(u);
    }
  }
  return out;
}

// String.prototype.localeCompare, approximated for keys: case-insensitive first, then
// lowercase before uppercase (the root collation's order for ASCII letters).
bool locale_less(const std::string& a, const std::string& b) {
  std::string la = js_lower(a), lb = js_lower(b);
  if (la != lb) return la < lb;
  return a > b;
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& o, int depth, bool undefined_as_null) {
  std::string item_sep = o.has_separators ? o.item_sep : o.indent ? "," : ", ";
  std::string key_sep = o.has_separators ? o.key_sep : ": ";
  switch (v.kind) {
    case Kind::kNone:
      return "null";
    case Kind::kUndefined:
      return undefined_as_null ? "null" : "undefined";
    case Kind::kInt:
      return std::to_string(v.i);
    case Kind::kFloat:
      return std::isfinite(v.f) ? js_number(v.f) : "null";
    case Kind::kBool:
      return v.b ? "true" : "false";
    case Kind::kString:
      return o.ensure_ascii ? ascii_safe(json_quote(v.s)) : json_quote(v.s);
    case Kind::kFunction:
      throw JinjaError(0, "Cannot convert to JSON: FunctionValue");
    default:
      break;
  }
  if (v.is_tuple || v.is_kwargs) throw JinjaError(0, "Cannot convert to JSON: " + type_name(v));
  std::string indent_str(std::max(o.indent, 0), ' ');
  std::string base_pad = "\n";
  for (int d = 0; d < depth; ++d) base_pad += indent_str;
  std::string child_pad = base_pad + indent_str;
  std::vector<std::string> core;
  if (v.kind == Kind::kArray) {
    for (const Value& x : *v.arr) core.push_back(to_json(x, o, depth + 1, undefined_as_null));
    std::string out = "[";
    for (size_t k = 0; k < core.size(); ++k) {
      if (k) out += item_sep;
      if (o.indent) out += child_pad;
      out += core[k];
    }
    if (o.indent && !core.empty()) out += base_pad;
    return out + "]";
  }
  std::vector<const std::pair<std::string, Value>*> entries;
  for (const auto& e : v.obj->entries()) entries.push_back(&e);
  if (o.sort_keys) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](auto* a, auto* b) { return locale_less(a->first, b->first); });
  }
  std::string out = "{";
  for (size_t k = 0; k < entries.size(); ++k) {
    if (k) out += item_sep;
    if (o.indent) out += child_pad;
    std::string key = json_quote(entries[k]->first);
    out += (o.ensure_ascii ? ascii_safe(key) : key) + key_sep +
           to_json(entries[k]->second, o, depth + 1, undefined_as_null);
  }
  if (o.indent && !entries.empty()) out += base_pad;
  return out + "}";
}

namespace {

// JavaScript ToNumber on a string: trimmed, "" is 0, anything unparsable NaN.
double js_to_number(const std::string& s) {
  std::string t = js_trim(s, true, true);
  if (t.empty()) return 0;
  if (t == "Infinity" || t == "+Infinity") return INFINITY;
  if (t == "-Infinity") return -INFINITY;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    char* end = nullptr;
    double r = double(std::strtoull(t.c_str() + 2, &end, 16));
    return *end ? NAN : r;
  }
  for (char c : t)
    if (!(std::isdigit((unsigned char)c) || c == '.' || c == 'e' || c == 'E' || c == '+' ||
          c == '-'))
      return NAN;
  char* end = nullptr;
  double r = std::strtod(t.c_str(), &end);
  return *end ? NAN : r;
}

bool is_primitive(const Value& v) {
  return v.kind == Kind::kBool || v.is_number() || v.kind == Kind::kString;
}

}  // namespace

bool loose_equal(const Value& a, const Value& b) {
  bool a_nullish = a.is_undefined() || a.is_none(), b_nullish = b.is_undefined() || b.is_none();
  if (a_nullish || b_nullish) return a_nullish && b_nullish;
  if (is_primitive(a) && is_primitive(b)) {
    if (a.is_string() && b.is_string()) return a.s == b.s;
    double x = a.is_string() ? js_to_number(a.s) : a.as_double();
    double y = b.is_string() ? js_to_number(b.s) : b.as_double();
    if (a.kind == Kind::kBool && b.kind == Kind::kBool) return a.b == b.b;
    return x == y;
  }
  return strict_equal(a, b);
}

bool strict_equal(const Value& a, const Value& b) {
  bool a_nullish = a.is_undefined() || a.is_none(), b_nullish = b.is_undefined() || b.is_none();
  if (a_nullish || b_nullish) return a_nullish && b_nullish;
  if (a.is_number() && b.is_number()) return a.as_double() == b.as_double();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kBool:
      return a.b == b.b;
    case Kind::kString:
      return a.s == b.s;
    case Kind::kArray:
      return a.arr == b.arr;
    case Kind::kObject:
      return a.obj == b.obj;
    case Kind::kFunction:
      return a.fn == b.fn;
    default:
      return false;
  }
}

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
  if (a.is_none() && b.is_none()) return 0;
  if (a.is_none() || b.is_none())
    throw JinjaError(0, fmt::format("Cannot compare {} with {}", type_name(a), type_name(b)));
  if (a.is_undefined() && b.is_undefined()) return 0;
  if (a.is_undefined() || b.is_undefined())
    throw JinjaError(0, fmt::format("Cannot compare {} with {}", type_name(a), type_name(b)));
  auto numeric = [](const Value& v) { return v.is_number() || v.kind == Kind::kBool; };
  if (numeric(a) && numeric(b)) {
    double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (type_name(a) != type_name(b))
    throw JinjaError(
        0, fmt::format("Cannot compare different types: {} and {}", type_name(a), type_name(b)));
  if (!a.is_string()) throw JinjaError(0, "Cannot compare type: " + type_name(a));
  std::u16string x = to_utf16(case_sensitive ? a.s : js_lower(a.s));
  std::u16string y = to_utf16(case_sensitive ? b.s : js_lower(b.s));
  return x < y ? -1 : x > y ? 1 : 0;
}

namespace {

// A canonical array index ("0", "17", not "017" or "-1"): JavaScript lists these keys first.
std::optional<uint32_t> array_index(const std::string& k) {
  if (k.empty() || k.size() > 10 || (k.size() > 1 && k[0] == '0')) return std::nullopt;
  uint64_t n = 0;
  for (char c : k) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + uint64_t(c - '0');
  }
  if (n >= 0xffffffffull) return std::nullopt;
  return uint32_t(n);
}

}  // namespace

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value::integer(int64_t(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: {
      // JSON.parse gives one number type; the reference calls integral ones integers.
      double d = j.get<double>();
      if (std::isfinite(d) && std::fmod(d, 1.0) == 0 && std::fabs(d) < 9.2e18)
        return Value::integer(int64_t(d));
      return Value::number(d);
    }
    case nlohmann::ordered_json::value_t::string:
      return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array items;
      for (const auto& x : j) items.push_back(from_json(x));
      return Value::array(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Object o;
      std::vector<std::pair<uint32_t, std::string>> index_keys;
      for (auto it = j.begin(); it != j.end(); ++it)
        if (auto n = array_index(it.key())) index_keys.emplace_back(*n, it.key());
      std::sort(index_keys.begin(), index_keys.end());
      for (const auto& [n, key] : index_keys) o.set(key, from_json(j.at(key)));
      for (auto it = j.begin(); it != j.end(); ++it)
        if (!array_index(it.key())) o.set(it.key(), from_json(it.value()));
      return Value::object(std::move(o));
    }
    default:
      return Value();
  }
}

}  // namespace silica::jinja
