// Routes that write the model store: POST /api/pull, POST /api/create, HEAD/POST
// /api/blobs/:digest.
#pragma once

#include <httplib.h>

#include <string>

#include "server/api_request.h"
#include "store/modelfile.h"

namespace silica {

class ServerState;

// Registered by add_model_routes.
void add_store_routes(httplib::Server& svr, ServerState& state);

// The Modelfile an Ollama /api/create body stands for: FROM `from` (or the .gguf of `files`, a
// map of file name -> blob digest, found in blobs_dir), TEMPLATE, SYSTEM, PARAMETER per
// parameters entry (one per list element), MESSAGE per message, LICENSE (a string or a list),
// ADAPTER per `adapters` entry. A legacy "modelfile" text comes first. Errors name the field.
Expected<Modelfile> modelfile_from_create_request(const Json& body, const Store& store);

}  // namespace silica
