// JSON schema -> GBNF: one rule per object / array / $ref, primitives shared by all.
#include "sample/json_schema.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

namespace silica {
namespace {

using Json = nlohmann::ordered_json;

const std::string kPrimitives = fmt::format(
    R"(value ::= object | array | string | number | boolean | null
object ::= "{{" ws ( member ( "," ws member )* )? "}}"
member ::= string ws ":" ws value ws
array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
string ::= "\"" char* "\""
char ::= [^"\\\x00-\x1f] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{{4}} )
keychar ::= [^"\\\x00-\x1f]
number ::= integer ( "." [0-9]{{1,16}} )? ( [eE] [-+]? [0-9]{{1,2}} )?
integer ::= "-"? ( "0" | [1-9] [0-9]{{0,15}} )
boolean ::= "true" | "false"
null ::= "null"
ws ::= ( " " | "\n" [ \t]{{0,{}}} )?
date ::= [0-9]{{4}} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] )
time ::= ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{{1,6}} )? tz
tz ::= "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9]
hex ::= [0-9a-f]
uuid ::= hex{{8}} "-" hex{{4}} "-" hex{{4}} "-" hex{{4}} "-" hex{{12}}
)",
    kJsonMaxIndent);

const std::set<std::string> kAnnotations = {"title",    "description", "examples", "default",
                                            "$schema",  "$id",         "$comment", "deprecated",
                                            "readOnly", "writeOnly",   "$defs",    "definitions"};
const std::set<std::string> kSupported = {
    "type",   "properties",  "required",  "additionalProperties",
    "items",  "prefixItems", "minItems",  "maxItems",
    "enum",   "const",       "anyOf",     "oneOf",
    "allOf",  "$ref",        "minLength", "maxLength",
    "format", "nullable"};

// A GBNF literal matching exactly `text` (raw UTF-8 kept; quote, backslash, controls escaped).
std::string literal(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (uint8_t(c) < 0x20) {
      out += fmt::format("\\x{:02x}", unsigned(uint8_t(c)));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto b0 = uint8_t(s[i]);
    const int n = b0 < 0x80 ? 0 : (b0 >> 5) == 6 ? 1 : (b0 >> 4) == 14 ? 2 : 3;
    uint32_t cp = n == 0 ? b0 : n == 1 ? (b0 & 0x1F) : n == 2 ? (b0 & 0x0F) : (b0 & 0x07);
    for (int k = 1; k <= n && i + size_t(k) < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    out.push_back(cp);
    i += size_t(n) + 1;
  }
  return out;
}

std::string cp_escape(uint32_t cp) {
  return fmt::format("\\U{:08x}", cp);
}

class SchemaCompiler {
 public:
  explicit SchemaCompiler(const Json& root) : root_(root) {}

  Expected<std::string> run() {
    std::string body;
    if (!visit(root_, "#", body)) return Error{err_};
    std::string out = "root ::= " + body + "\n";
    for (const auto& [name, def] : rules_) out += name + " ::= " + def + "\n";
    return out + kPrimitives;
  }

 private:
  bool fail(const std::string& path, const std::string& msg) {
    if (err_.empty()) err_ = fmt::format("json schema: {} at {}", msg, path);
    return false;
  }

  std::string new_rule_name(const std::string& hint) {
    std::string n = "s";
    for (char c : hint) n += (std::isalnum(uint8_t(c)) ? c : '-');
    return fmt::format("{}-{}", n, ++counter_);
  }

  std::string add_rule(const std::string& hint, const std::string& def) {
    std::string name = new_rule_name(hint);
    rules_.emplace_back(name, def);
    return name;
  }

  bool check_keywords(const Json& s, const std::string& path) {
    for (const auto& [key, val] : s.items()) {
      if (kAnnotations.count(key) || kSupported.count(key)) continue;
      return fail(path, fmt::format("unsupported keyword '{}'", key));
    }
    return true;
  }

  bool visit(const Json& s, const std::string& path, std::string& expr) {
    if (s.is_boolean()) {
      if (s.get<bool>()) expr = "value";
      return s.get<bool>() || fail(path, "schema 'false' can never be satisfied");
    }
    if (!s.is_object()) return fail(path, "expected a schema object or boolean");
    if (!check_keywords(s, path)) return false;
    std::string inner;
    if (!visit_inner(s, path, inner)) return false;
    const bool nullable = s.contains("nullable") && s["nullable"] == true;
    expr = nullable ? "( " + inner + " | null )" : inner;
    return true;
  }

  bool visit_inner(const Json& s, const std::string& path, std::string& expr) {
    if (s.contains("$ref")) return visit_ref(s, path, expr);
    if (s.contains("const")) {
      expr = literal(s["const"].dump());
      return true;
    }
    if (s.contains("enum")) return visit_enum(s, path, expr);
    for (const char* k : {"anyOf", "oneOf"}) {
      if (s.contains(k)) return visit_any_of(s[k], path + "/" + k, expr);
    }
    if (s.contains("allOf")) return visit_all_of(s, path, expr);
    if (!s.contains("type")) return visit_type(infer_type(s), s, path, expr);
    const Json& t = s["type"];
    if (t.is_string()) return visit_type(t.get<std::string>(), s, path, expr);
    if (!t.is_array() || t.empty()) return fail(path + "/type", "expected a type name or list");
    std::string alts;
    for (const Json& name : t) {
      if (!name.is_string()) return fail(path + "/type", "expected type names");
      std::string e;
      if (!visit_type(name.get<std::string>(), s, path, e)) return false;
      alts += (alts.empty() ? "" : " | ") + e;
    }
    expr = "( " + alts + " )";
    return true;
  }

  static std::string infer_type(const Json& s) {
    if (s.contains("properties") || s.contains("additionalProperties")) return "object";
    if (s.contains("items") || s.contains("prefixItems") || s.contains("minItems") ||
        s.contains("maxItems")) {
      return "array";
    }
    if (s.contains("minLength") || s.contains("maxLength") || s.contains("format")) {
      return "string";
    }
    return "any";
  }

  bool visit_type(const std::string& t, const Json& s, const std::string& path, std::string& expr) {
    if (t == "object") return visit_object(s, path, expr);
    if (t == "array") return visit_array(s, path, expr);
    if (t == "string") return visit_string(s, path, expr);
    static const std::map<std::string, std::string> kSimple = {{"number", "number"},
                                                               {"integer", "integer"},
                                                               {"boolean", "boolean"},
                                                               {"null", "null"},
                                                               {"any", "value"}};
    auto it = kSimple.find(t);
    if (it == kSimple.end()) return fail(path + "/type", fmt::format("unknown type '{}'", t));
    expr = it->second;
    return true;
  }

  bool resolve(const std::string& ref, const std::string& path, const Json*& target) {
    if (ref.rfind("#", 0) != 0)
      return fail(path, fmt::format("only local $ref is supported, got '{}'", ref));
    try {
      target = &root_.at(Json::json_pointer(ref.substr(1)));
    } catch (const std::exception&) {
      return fail(path, fmt::format("$ref '{}' points at nothing", ref));
    }
    return true;
  }

  bool visit_ref(const Json& s, const std::string& path, std::string& expr) {
    for (const auto& [key, val] : s.items()) {
      if (key != "$ref" && key != "nullable" && !kAnnotations.count(key)) {
        return fail(path, fmt::format("keyword '{}' next to $ref is not supported", key));
      }
    }
    if (!s["$ref"].is_string()) return fail(path + "/$ref", "expected a string");
    const std::string ref = s["$ref"].get<std::string>();
    auto it = refs_.find(ref);
    if (it != refs_.end()) {
      expr = it->second;
      return true;
    }
    const Json* target = nullptr;
    if (!resolve(ref, path + "/$ref", target)) return false;
    // Name the rule before visiting, so recursive schemas refer to it.
    const std::string name = new_rule_name(ref.substr(ref.rfind('/') + 1));
    refs_[ref] = name;
    const size_t slot = rules_.size();
    rules_.emplace_back(name, "");
    std::string body;
    if (!visit(*target, ref, body)) return false;
    rules_[slot].second = body;
    expr = name;
    return true;
  }

  bool visit_enum(const Json& s, const std::string& path, std::string& expr) {
    const Json& e = s["enum"];
    if (!e.is_array() || e.empty()) return fail(path + "/enum", "expected a non-empty array");
    std::string alts;
    for (const Json& v : e) alts += (alts.empty() ? "" : " | ") + literal(v.dump());
    expr = "( " + alts + " )";
    return true;
  }

  bool visit_any_of(const Json& list, const std::string& path, std::string& expr) {
    if (!list.is_array() || list.empty()) return fail(path, "expected a non-empty array");
    std::string alts;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string e;
      if (!visit(list[i], fmt::format("{}/{}", path, i), e)) return false;
      alts += (alts.empty() ? "" : " | ") + e;
    }
    expr = "( " + alts + " )";
    return true;
  }

  // allOf of object schemas: properties merged in order, required united.
  bool visit_all_of(const Json& s, const std::string& path, std::string& expr) {
    Json merged = Json::object();
    merged["type"] = "object";
    merged["properties"] = Json::object();
    merged["required"] = Json::array();
    const Json& list = s["allOf"];
    if (!list.is_array() || list.empty())
      return fail(path + "/allOf", "expected a non-empty array");
    std::vector<const Json*> parts;
    for (const Json& p : list) parts.push_back(&p);
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string at = fmt::format("{}/allOf/{}", path, i);
      const Json* p = parts[i];
      while (p->is_object() && p->contains("$ref")) {
        if (!resolve((*p)["$ref"].get<std::string>(), at, p)) return false;
      }
      if (!p->is_object()) return fail(at, "allOf supports object schemas only");
      for (const auto& [key, val] : p->items()) {
        if (key == "properties") {
          for (const auto& [name, sub] : val.items()) merged["properties"][name] = sub;
        } else if (key == "required") {
          for (const Json& r : val) merged["required"].push_back(r);
        } else if (key == "additionalProperties") {
          merged["additionalProperties"] = val;
        } else if (key == "type" && val == "object") {
        } else if (!kAnnotations.count(key)) {
          return fail(at, fmt::format("allOf of '{}' is not supported (objects only)", key));
        }
      }
    }
    for (const auto& [key, val] : s.items()) {
      if (key != "allOf" && key != "type" && key != "nullable" && !kAnnotations.count(key)) {
        return fail(path, fmt::format("keyword '{}' next to allOf is not supported", key));
      }
    }
    return visit_object(merged, path, expr);
  }

  bool visit_object(const Json& s, const std::string& path, std::string& expr);
  bool visit_array(const Json& s, const std::string& path, std::string& expr);
  bool visit_string(const Json& s, const std::string& path, std::string& expr);
  std::string key_not_in(const std::vector<std::string>& names);

  const Json& root_;
  std::vector<std::pair<std::string, std::string>> rules_;  // in definition order
  std::map<std::string, std::string> refs_;                 // $ref -> rule name
  int counter_ = 0;
  std::string err_;
};

bool read_count(const Json& s, const char* key, const std::string& path, uint64_t& out,
                std::string& err) {
  if (!s.contains(key)) return true;
  if (!s[key].is_number_unsigned() && !(s[key].is_number_integer() && s[key].get<int64_t>() >= 0)) {
    err = fmt::format("json schema: '{}' must be a non-negative integer at {}", key, path);
    return false;
  }
  out = s[key].get<uint64_t>();
  return true;
}

// Ordered properties, each required or optional; commas only between present members.
bool SchemaCompiler::visit_object(const Json& s, const std::string& path, std::string& expr) {
  const bool has_props = s.contains("properties");
  const Json& props = has_props ? s["properties"] : Json::object();
  if (!props.is_object()) return fail(path + "/properties", "expected an object");
  const Json addl =
      s.contains("additionalProperties") ? s["additionalProperties"] : Json(props.empty());
  if (!has_props && addl == true) {
    expr = "object";
    return true;
  }
  std::set<std::string> required;
  if (s.contains("required")) {
    for (const Json& r : s["required"]) {
      if (!r.is_string() || !props.contains(r.get<std::string>())) {
        return fail(path + "/required",
                    fmt::format("required property {} is not in properties", r.dump()));
      }
      required.insert(r.get<std::string>());
    }
  }
  std::vector<std::string> names, kvs;
  for (const auto& [name, sub] : props.items()) {
    std::string v;
    if (!visit(sub, path + "/properties/" + name, v)) return false;
    names.push_back(name);
    kvs.push_back(literal(Json(name).dump()) + " ws \":\" ws " + v + " ws");
  }
  std::string rest, first;  // rules for "members i.. after one was written" / "none yet"
  if (addl != false) {
    std::string v;
    if (!visit(addl, path + "/additionalProperties", v)) return false;
    const std::string kv = key_not_in(names) + " ws \":\" ws " + v + " ws";
    rest = add_rule(path + "-rest", "( \",\" ws " + kv + " )*");
    first = add_rule(path + "-first", "( " + kv + " " + rest + " )?");
  }
  for (size_t i = names.size(); i-- > 0;) {
    const bool req = required.count(names[i]) > 0;
    const std::string r =
        req ? "\",\" ws " + kvs[i] + " " + rest : "( \",\" ws " + kvs[i] + " )? " + rest;
    const std::string f = req ? kvs[i] + " " + rest : kvs[i] + " " + rest + " | " + first;
    rest = add_rule(path + "-rest", r);
    first = add_rule(path + "-first", f);
  }
  expr = add_rule(path, "\"{\" ws " + first + " \"}\"");
  return true;
}

// A quoted key (no escapes) that is none of `names`: a trie over the names, leaving it at
// any point where the text so far is not a name.
std::string SchemaCompiler::key_not_in(const std::vector<std::string>& names) {
  if (names.empty()) return "string";
  std::vector<std::u32string> cps;
  for (const std::string& n : names) cps.push_back(decode_utf8(n));
  std::function<std::string(const std::u32string&)> node = [&](const std::u32string& prefix) {
    std::set<uint32_t> next;
    bool terminal = false;
    for (const auto& n : cps) {
      if (n.size() >= prefix.size() && n.compare(0, prefix.size(), prefix) == 0) {
        if (n.size() == prefix.size()) {
          terminal = true;
        } else {
          next.insert(n[prefix.size()]);
        }
      }
    }
    std::string alts = terminal ? "" : "\"\\\"\"";
    std::string excluded;
    for (uint32_t c : next) {
      alts += (alts.empty() ? "" : " | ") + std::string("[") + cp_escape(c) + "] " +
              node(prefix + char32_t(c));
      excluded += cp_escape(c);
    }
    alts += (alts.empty() ? "" : " | ") + std::string("[^\"\\\\\\x00-\\x1f") + excluded +
            "] keychar* \"\\\"\"";
    return add_rule("key", alts);
  };
  return "( \"\\\"\" " + node(U"") + " )";
}

bool SchemaCompiler::visit_array(const Json& s, const std::string& path, std::string& expr) {
  uint64_t mn = 0, mx = UINT64_MAX;
  if (!read_count(s, "minItems", path, mn, err_) || !read_count(s, "maxItems", path, mx, err_)) {
    return false;
  }
  std::vector<std::string> prefix;
  if (s.contains("prefixItems")) {
    const Json& p = s["prefixItems"];
    if (!p.is_array()) return fail(path + "/prefixItems", "expected an array");
    for (size_t i = 0; i < p.size(); ++i) {
      std::string e;
      if (!visit(p[i], fmt::format("{}/prefixItems/{}", path, i), e)) return false;
      prefix.push_back(e);
    }
  }
  std::string item = "value";
  if (s.contains("items")) {
    if (s["items"] == false) {
      mx = std::min<uint64_t>(mx, prefix.size());
    } else if (!visit(s["items"], path + "/items", item)) {
      return false;
    }
  }
  if (mx < mn) return fail(path, fmt::format("maxItems {} is below minItems {}", mx, mn));
  const auto bound = [](uint64_t v) { return v == UINT64_MAX ? std::string() : std::to_string(v); };
  // Elements from index i on, i already written (so each is preceded by a comma when i > 0).
  std::function<std::string(uint64_t)> from = [&](uint64_t i) -> std::string {
    if (i >= mx) return "";
    const std::string sep = i == 0 ? "" : "\",\" ws ";
    if (i < prefix.size()) {
      const std::string e = sep + prefix[i] + " ws " + from(i + 1);
      return i < mn ? e : "( " + e + " )?";
    }
    const uint64_t rmin = mn > i ? mn - i : 0;
    const uint64_t rmax = mx == UINT64_MAX ? mx : mx - i;
    const std::string one = "( " + item + " ) ws";
    const auto reps = [&](uint64_t lo, uint64_t hi) {
      return "( \",\" ws " + one + " ){" + std::to_string(lo) + "," + bound(hi) + "}";
    };
    if (i > 0) return reps(rmin, rmax);
    const uint64_t hi = rmax == UINT64_MAX ? rmax : rmax - 1;
    if (rmin > 0) return one + " " + reps(rmin - 1, hi);
    return "( " + one + " " + reps(0, hi) + " )?";
  };
  expr = add_rule(path, "\"[\" ws " + from(0) + " \"]\"");
  return true;
}

bool SchemaCompiler::visit_string(const Json& s, const std::string& path, std::string& expr) {
  if (s.contains("format")) {
    static const std::map<std::string, std::string> kFormats = {
        {"date", "date"}, {"time", "time"}, {"date-time", "date \"T\" time"}, {"uuid", "uuid"}};
    const std::string f = s["format"].is_string() ? s["format"].get<std::string>() : "?";
    auto it = kFormats.find(f);
    if (it == kFormats.end()) {
      return fail(path + "/format", fmt::format("unsupported string format '{}'", f));
    }
    expr = "\"\\\"\" " + it->second + " \"\\\"\"";
    return true;
  }
  uint64_t mn = 0, mx = UINT64_MAX;
  if (!read_count(s, "minLength", path, mn, err_) || !read_count(s, "maxLength", path, mx, err_)) {
    return false;
  }
  if (mx < mn) return fail(path, fmt::format("maxLength {} is below minLength {}", mx, mn));
  if (mn == 0 && mx == UINT64_MAX) {
    expr = "string";
    return true;
  }
  expr = fmt::format("\"\\\"\" char{{{},{}}} \"\\\"\"", mn,
                     mx == UINT64_MAX ? std::string() : std::to_string(mx));
  return true;
}

}  // namespace

const std::string& json_gbnf() {
  static const std::string kText = "root ::= object\n" + kPrimitives;
  return kText;
}

Expected<Grammar> json_grammar() {
  return parse_grammar(json_gbnf());
}

Expected<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema) {
  return SchemaCompiler(schema).run();
}

Expected<std::string> json_schema_to_gbnf(std::string_view schema_text) {
  Json schema;
  try {
    schema = Json::parse(schema_text);
  } catch (const std::exception& e) {
    return make_error("json schema: not valid JSON: {}", e.what());
  }
  return json_schema_to_gbnf(schema);
}

Expected<Grammar> json_schema_grammar(std::string_view schema_text) {
  SILICA_ASSIGN_OR_RETURN(std::string gbnf, json_schema_to_gbnf(schema_text));
  auto g = parse_grammar(gbnf);
  if (!g.ok()) return make_error("{} (compiled from a JSON schema)", g.message());
  return g;
}

}  // namespace silica
