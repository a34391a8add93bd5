// Routes of the embedded web chat page: /ui/ (the page) and /ui/defaults.json (server defaults).
#pragma once

namespace httplib {
class Server;
}

namespace silica {

struct ServerOptions;

// Registers GET /ui, /ui/ and /ui/<asset>, and /ui/defaults.json (the sampling defaults the
// page shows). Call once while setting up the server's routes.
void register_webui_routes(httplib::Server& svr, const ServerOptions& opts);

}  // namespace silica
