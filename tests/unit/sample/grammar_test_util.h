// Test helpers for constrained generation: a fake random model, and a small JSON-schema
// validator that is the reference for the schema compiler (kept simple and obviously right).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "sample/grammar_constraint.h"
#include "sample/rng.h"
#include "sample/sampler.h"

namespace silica::test {

using OJson = nlohmann::ordered_json;

// Plain temperature-1 sampling: every stage that could hide the grammar's effect is off.
inline SamplerParams random_model_params(uint64_t seed) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.typical_p = 1.0f;
  p.repeat_last_n = 0;
  p.seed = seed;
  return p;
}

struct Generation {
  std::string text;
  int n_tokens = 0;
  bool finished = false;  // ended with an EOG token (not at the length cap)
  std::string error;      // non-empty if the constraint misbehaved
  // Timing: constrained draw + accept, and an unconstrained draw on the same logits by a second
  // sampler; their difference is what the constraint costs.
  double constrained_ms = 0, plain_ms = 0;
};

// Random standard-normal logits from a seeded Rng, sampled under the constraint until EOG or
// max_tokens. The constraint must never reject what it let through.
inline Generation generate_random(GrammarConstraint& c, const std::vector<std::string>& pieces,
                                  const std::vector<int32_t>& eog_ids, uint64_t seed,
                                  int max_tokens) {
  Sampler sampler(random_model_params(seed), c.n_vocab());
  Sampler plain(random_model_params(seed), c.n_vocab());
  Rng rng(seed * 7919 + 1);
  std::vector<float> logits(size_t(c.n_vocab())), scratch;
  Generation g;
  c.reset();
  for (; g.n_tokens < max_tokens; ++g.n_tokens) {
    for (float& l : logits) {
      // Box-Muller: two uniforms -> one normal; 1 - u keeps log away from 0.
      const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
      l = float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
    const auto t0 = std::chrono::steady_clock::now();
    const int32_t t = sample_constrained(sampler, c, logits.data(), scratch);
    const bool accepted = t >= 0 && c.accept(t);
    const auto t1 = std::chrono::steady_clock::now();
    plain.sample(logits.data());
    const auto t2 = std::chrono::steady_clock::now();
    g.constrained_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    g.plain_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    if (t < 0) {
      g.error = "no token allowed after: " + g.text;
      return g;
    }
    if (!accepted) {
      g.error = "constraint rejected its own choice " + std::to_string(t) + " after: " + g.text;
      return g;
    }
    if (std::find(eog_ids.begin(), eog_ids.end(), t) != eog_ids.end()) {
      g.finished = true;
      return g;
    }
    g.text += pieces[size_t(t)];
  }
  return g;
}

inline size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (uint8_t(c) & 0xC0) != 0x80;
  return n;
}

// Validates `v` against the schema subset silica compiles. Returns "" or the first violation.
class SchemaValidator {
 public:
  explicit SchemaValidator(const OJson& root) : root_(root) {}
  std::string check(const OJson& v) const { return check(root_, v, "$"); }

 private:
  std::string check(const OJson& s, const OJson& v, const std::string& at) const {
    if (s.is_boolean()) return s.get<bool>() ? "" : at + ": schema false";
    if (s.contains("$ref")) {
      return check(root_.at(OJson::json_pointer(s["$ref"].get<std::string>().substr(1))), v, at);
    }
    if (s.value("nullable", false) && v.is_null()) return "";
    if (s.contains("const") && v != s["const"]) return at + ": not the const";
    if (s.contains("enum")) {
      bool found = false;
      for (const OJson& e : s["enum"]) found = found || e == v;
      if (!found) return at + ": not in enum";
    }
    if (s.contains("anyOf") && count_matches(s["anyOf"], v, at) == 0) return at + ": no anyOf";
    if (s.contains("oneOf") && count_matches(s["oneOf"], v, at) != 1) return at + ": oneOf != 1";
    if (s.contains("allOf")) {
      for (const OJson& sub : s["allOf"]) {
        std::string e = check(sub, v, at);
        if (!e.empty()) return e;
      }
    }
    if (s.contains("type") && !type_ok(s["type"], v)) return at + ": wrong type " + v.dump();
    if (v.is_object()) return check_object(s, v, at);
    if (v.is_array()) return check_array(s, v, at);
    if (v.is_string()) return check_string(s, v.get<std::string>(), at);
    return "";
  }

  size_t count_matches(const OJson& list, const OJson& v, const std::string& at) const {
    size_t n = 0;
    for (const OJson& sub : list) n += check(sub, v, at).empty();
    return n;
  }

  static bool type_ok(const OJson& t, const OJson& v) {
    if (t.is_array()) {
      for (const OJson& x : t) {
        if (type_ok(x, v)) return true;
      }
      return false;
    }
    const std::string n = t.get<std::string>();
    if (n == "object") return v.is_object();
    if (n == "array") return v.is_array();
    if (n == "string") return v.is_string();
    if (n == "number") return v.is_number();
    if (n == "integer") return v.is_number_integer();
    if (n == "boolean") return v.is_boolean();
    if (n == "null") return v.is_null();
    return false;
  }

  std::string check_object(const OJson& s, const OJson& v, const std::string& at) const {
    if (s.contains("required")) {
      for (const OJson& r : s["required"]) {
        if (!v.contains(r.get<std::string>())) return at + ": missing " + r.dump();
      }
    }
    const OJson props = s.value("properties", OJson::object());
    for (const auto& [k, x] : v.items()) {
      std::string e;
      if (props.contains(k)) {
        e = check(props[k], x, at + "." + k);
      } else if (s.contains("additionalProperties")) {
        e = check(s["additionalProperties"], x, at + "." + k);
      }
      if (!e.empty()) return e;
    }
    return "";
  }

  std::string check_array(const OJson& s, const OJson& v, const std::string& at) const {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return at + ": short";
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return at + ": long";
    const size_t n_prefix = s.contains("prefixItems") ? s["prefixItems"].size() : 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string ai = at + "[" + std::to_string(i) + "]";
      std::string e;
      if (i < n_prefix) {
        e = check(s["prefixItems"][i], v[i], ai);
      } else if (s.contains("items")) {
        e = check(s["items"], v[i], ai);
      }
      if (!e.empty()) return e;
    }
    return "";
  }

  static std::string check_string(const OJson& s, const std::string& v, const std::string& at) {
    const size_t n = utf8_length(v);
    if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return at + ": too short";
    if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return at + ": too long";
    if (!s.contains("format")) return "";
    static const std::regex kDate(R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))");
    static const std::regex kTime(
        R"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))");
    static const std::regex kUuid(
        R"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})");
    const std::string f = s["format"].get<std::string>();
    bool ok = false;
    if (f == "date") ok = std::regex_match(v, kDate);
    if (f == "time") ok = std::regex_match(v, kTime);
    if (f == "uuid") ok = std::regex_match(v, kUuid);
    if (f == "date-time") {
      const size_t t = v.find('T');
      ok = t != std::string::npos && std::regex_match(v.substr(0, t), kDate) &&
           std::regex_match(v.substr(t + 1), kTime);
    }
    return ok ? "" : at + ": bad " + f + " '" + v + "'";
  }

  const OJson& root_;
};

}  // namespace silica::test
