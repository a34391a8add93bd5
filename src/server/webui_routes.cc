// Serves the embedded web UI files and the defaults the page shows for per-chat settings.
#include "server/webui_routes.h"

#include <httplib.h>

#include <cmath>
#include <string>

#include "server/api_request.h"
#include "server/options.h"
#include "server/webui_assets.h"

namespace silica {

namespace {

// Everything the page loads comes from this server: no other host, no inline script; style
// attributes stay off too (the page sets styles through the CSSOM only).
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// A float's value as a short decimal (0.8f prints as 0.800000011920929 otherwise).
double shown(float x) {
  return std::round(double(x) * 1e6) / 1e6;
}

// Same values /api/chat uses when a request leaves an option out, so the page shows the truth.
std::string defaults_json(const ServerOptions& opts) {
  const GenerateParams p = ollama_default_params();
  Json j = {{"temperature", shown(p.sampling.temperature)},
            {"top_p", shown(p.sampling.top_p)},
            {"top_k", p.sampling.top_k},
            {"min_p", shown(p.sampling.min_p)},
            {"repeat_penalty", shown(p.sampling.repeat_penalty)},
            {"num_predict", p.n_predict},
            {"seed", -1},  // random per request
            {"num_ctx", opts.n_ctx},
            {"ui_built", kWebUiBuilt}};
  return j.dump();
}

void send_asset(const httplib::Request& req, httplib::Response& res) {
  const WebAsset* a = find_web_asset(req.matches[1].str());
  if (!a) {
    res.status = 404;
    res.set_content("no such web UI file: " + req.path, "text/plain; charset=utf-8");
    return;
  }
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(reinterpret_cast<const char*>(a->data), a->size, a->content_type);
}

}  // namespace

void register_webui_routes(httplib::Server& svr, const ServerOptions& opts) {
  svr.Get("/ui",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/", 301); });
  const std::string defaults = defaults_json(opts);
  svr.Get("/ui/defaults.json", [defaults](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_content(defaults, "application/json; charset=utf-8");
  });
  svr.Get(R"(/ui/([A-Za-z0-9_.\-/]*))", send_asset);
}

}  // namespace silica
