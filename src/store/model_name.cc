// Model name parsing: defaults, and the character rules that keep names inside the store.
#include "store/model_name.h"

#include <vector>

namespace silica {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A path component: starts with a letter, digit or '_' (so never "." or ".."), then letters,
// digits, '_', '-', '.'. Nothing else can reach the file system.
Status check_part(std::string_view text, std::string_view part, const char* what) {
  if (part.empty()) return make_error("model name '{}': the {} is empty", text, what);
  if (part.size() > kMaxPartLength)
    return make_error("model name '{}': the {} is {} characters long, at most {} allowed", text,
                      what, part.size(), kMaxPartLength);
  if (!is_alnum(part[0]) && part[0] != '_')
    return make_error("model name '{}': the {} '{}' must start with a letter, digit or '_'", text,
                      what, part);
  for (char c : part) {
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.')
      return make_error(
          "model name '{}': the {} '{}' holds '{}'; allowed are letters, digits, "
          "'_', '-' and '.'",
          text, what, part, c);
  }
  return {};
}

// A host: DNS labels with an optional ":port".
Status check_host(std::string_view text, std::string_view host) {
  if (host.empty() || host.size() > kMaxHostLength)
    return make_error("model name '{}': the host must have 1 to {} characters", text,
                      kMaxHostLength);
  size_t colon = host.find(':');
  std::string_view dns = host.substr(0, colon);
  if (dns.empty() || !is_alnum(dns[0]) || dns.find("..") != std::string_view::npos)
    return make_error("model name '{}': '{}' is not a host name", text, host);
  for (char c : dns) {
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
      return make_error("model name '{}': the host '{}' holds '{}'", text, host, c);
  }
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5)
      return make_error("model name '{}': bad port in host '{}'", text, host);
    for (char c : port) {
      if (c < '0' || c > '9') return make_error("model name '{}': bad port in '{}'", text, host);
    }
  }
  return {};
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

std::string ModelName::full() const {
  return host + "/" + name_space + "/" + model + ":" + tag;
}

std::string ModelName::display() const {
  if (host == kDefaultHost && name_space == kDefaultNamespace) return model + ":" + tag;
  if (host == kDefaultHost) return name_space + "/" + model + ":" + tag;
  return full();
}

std::string ModelName::manifest_rel_path() const {
  return "manifests/" + host + "/" + name_space + "/" + model + "/" + tag;
}

Expected<ModelName> parse_model_name(std::string_view text) {
  ModelName n;
  std::string_view rest = text;
  for (const char* scheme : {"http", "https"}) {
    std::string prefix = std::string(scheme) + "://";
    if (rest.substr(0, prefix.size()) == prefix) {
      n.scheme = scheme;
      rest.remove_prefix(prefix.size());
    }
  }
  if (rest.empty()) return make_error("model name is empty");
  // The tag is after the last ':' that follows the last '/' (a ':' before it is a host's port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  std::string_view path = rest;
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    n.tag = std::string(rest.substr(colon + 1));
    path = rest.substr(0, colon);
    SILICA_RETURN_IF_ERROR(check_part(text, n.tag, "tag"));
  } else {
    n.tag = kDefaultTag;
  }
  std::vector<std::string_view> parts = split(path, '/');
  if (parts.size() > 3)
    return make_error(
        "model name '{}': {} '/'-separated parts, expected at most 3 "
        "([host/][namespace/]model)",
        text, parts.size());
  n.host = parts.size() == 3 ? std::string(parts[0]) : kDefaultHost;
  n.name_space = parts.size() >= 2 ? std::string(parts[parts.size() - 2]) : kDefaultNamespace;
  n.model = std::string(parts.back());
  if (parts.size() == 3) SILICA_RETURN_IF_ERROR(check_host(text, n.host));
  SILICA_RETURN_IF_ERROR(check_part(text, n.name_space, "namespace"));
  SILICA_RETURN_IF_ERROR(check_part(text, n.model, "model"));
  if (!n.scheme.empty() && parts.size() != 3)
    return make_error("model name '{}': a URL name needs a host", text);
  return n;
}

}  // namespace silica
