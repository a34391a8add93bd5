// Environment and duration parsing for the server.
#include "server/options.h"

#include <cmath>
#include <cstdlib>

namespace silica {

int64_t duration_from_seconds(double seconds) {
  if (seconds < 0) return kKeepForever;
  const double ns = seconds * double(kNsPerSecond);
  return ns >= 9.0e18 ? kKeepForever : int64_t(ns);
}

Expected<int64_t> parse_duration(const std::string& text) {
  if (text.empty()) return make_error("empty duration");
  // A bare number is seconds (Ollama accepts "300" as well as 300).
  char* end = nullptr;
  const double plain = std::strtod(text.c_str(), &end);
  if (end && *end == '\0') return duration_from_seconds(plain);
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') negative = text[0] == '-', ++i;
  double total_s = 0;
  bool any = false;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && (std::isdigit(uint8_t(text[j])) || text[j] == '.')) ++j;
    if (j == i) return make_error("invalid duration '{}': expected a number at offset {}", text, i);
    const double v = std::atof(text.substr(i, j - i).c_str());
    size_t k = j;
    while (k < text.size() && std::isalpha(uint8_t(text[k]))) ++k;
    const std::string unit = text.substr(j, k - j);
    double scale;
    if (unit == "h")
      scale = 3600;
    else if (unit == "m")
      scale = 60;
    else if (unit == "s")
      scale = 1;
    else if (unit == "ms")
      scale = 1e-3;
    else if (unit == "us" || unit == "µs")
      scale = 1e-6;
    else if (unit == "ns")
      scale = 1e-9;
    else
      return make_error("invalid duration '{}': unknown unit '{}' (use h, m, s, ms)", text, unit);
    total_s += v * scale;
    any = true;
    i = k;
  }
  if (!any) return make_error("invalid duration '{}'", text);
  return duration_from_seconds(negative ? -total_s : total_s);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

Status parse_host_port(const std::string& text, ServerOptions& o) {
  std::string t = text;
  for (const char* scheme : {"http://", "https://"})
    if (t.rfind(scheme, 0) == 0) t = t.substr(std::char_traits<char>::length(scheme));
  while (!t.empty() && t.back() == '/') t.pop_back();
  const size_t colon = t.rfind(':');
  if (colon != std::string::npos && t.find(']') == std::string::npos) {
    const std::string port = t.substr(colon + 1);
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 0 || p > 65535)
      return make_error("invalid port '{}' in host '{}'", port, text);
    o.port = int(p);
    t = t.substr(0, colon);
  }
  if (!t.empty()) o.host = t;
  return {};
}

namespace {

Status env_int(const char* name, int& out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return {};
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 0) return make_error("{}={}: expected a non-negative integer", name, v);
  out = int(n);
  return {};
}

}  // namespace

Expected<ServerOptions> server_options_from_env() {
  ServerOptions o;
  if (const char* home = std::getenv("HOME")) o.models_dir = std::string(home) + "/.silica/models";
  if (const char* v = std::getenv("SILICA_HOST"); v && *v)
    SILICA_RETURN_IF_ERROR(parse_host_port(v, o));
  if (const char* v = std::getenv("SILICA_KEEP_ALIVE"); v && *v) {
    auto d = parse_duration(v);
    if (!d) return make_error("SILICA_KEEP_ALIVE: {}", d.message());
    o.keep_alive_ns = *d;
  }
  SILICA_RETURN_IF_ERROR(env_int("SILICA_NUM_PARALLEL", o.n_parallel));
  SILICA_RETURN_IF_ERROR(env_int("SILICA_MAX_QUEUE", o.max_queue));
  if (const char* v = std::getenv("SILICA_MODELS"); v && *v) o.models_dir = v;
  if (const char* v = std::getenv("SILICA_ORIGINS"); v && *v) o.origins = split_list(v);
  if (const char* v = std::getenv("SILICA_API_KEY"); v && *v) o.api_key = v;
  if (o.n_parallel < 1) o.n_parallel = 1;
  return o;
}

}  // namespace silica
