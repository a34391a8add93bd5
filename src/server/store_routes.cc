// Store-writing routes: /api/pull streams the store's pull progress as Ollama NDJSON (a client
// that goes away cancels it), /api/create turns an Ollama create request into a Modelfile, and
// /api/blobs/:digest checks for or uploads a verified blob.
#include "server/store_routes.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "base/log.h"
#include "server/server_state.h"
#include "store/pull.h"
#include "store/sha256.h"

namespace silica {

namespace fs = std::filesystem;

namespace {

constexpr const char* kJsonType = "application/json; charset=utf-8";
constexpr const char* kNdjsonType = "application/x-ndjson";
// Download progress goes out at most this often per blob (curl reports every chunk).
constexpr auto kProgressInterval = std::chrono::milliseconds(100);
// How long the stream waits for a new event before it re-sends the last one: a write is the only
// way to notice a client that went away, and that must cancel a stalled pull too.
constexpr auto kHeartbeatInterval = std::chrono::milliseconds(500);

std::string ndjson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

// "model", or its older spelling "name".
Expected<std::string> request_name(const Json& body) {
  for (const char* key : {"model", "name"}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) return make_error("invalid type for field '{}': expected a string", key);
    if (!it->get<std::string>().empty()) return it->get<std::string>();
  }
  return make_error("model is required");
}

// An optional boolean field; `fallback` when absent.
Expected<bool> bool_field(const Json& body, const char* key, bool fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return make_error("invalid type for field '{}': expected a boolean", key);
  return it->get<bool>();
}

bool read_object(const httplib::Request& req, httplib::Response& res, Json& body) {
  if (!parse_json_body(req, res, false, body)) return false;
  if (body.is_object()) return true;
  send_error(res, false, 400, "the request body must be a JSON object");
  return false;
}

Json progress_json(const PullProgress& p) {
  Json j = {{"status", p.status}};
  if (!p.digest.empty() && p.status.rfind("pulling ", 0) == 0 && p.status != "pulling manifest") {
    j["digest"] = p.digest;
    j["total"] = p.total;
    j["completed"] = p.completed;
  }
  return j;
}

// One streamed pull: a worker thread runs pull_model and queues NDJSON lines for the
// connection's thread, which writes them and cancels the pull when a write fails.
struct PullJob {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> lines;
  std::string last_line;  // re-sent as the heartbeat
  std::string pending;    // the newest throttled progress line, sent with the next heartbeat
  bool finished = false;
  std::atomic<bool> cancel{false};
  std::thread worker;
  std::string last_digest;  // throttling state, worker thread only
  std::chrono::steady_clock::time_point last_sent{};

  void push(std::string line) {
    std::lock_guard<std::mutex> lock(mutex);
    last_line = line;
    pending.clear();
    lines.push_back(std::move(line));
    cv.notify_all();
  }
  // Every status change goes out; byte counts of the same blob at most every kProgressInterval
  // (the newest one held back goes out with the heartbeat, so a stall shows the true count).
  void on_progress(const PullProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    const bool same_blob = !p.digest.empty() && p.digest == last_digest;
    if (same_blob && p.completed < p.total && now - last_sent < kProgressInterval) {
      std::lock_guard<std::mutex> lock(mutex);
      pending = ndjson(progress_json(p));
      return;
    }
    last_digest = p.digest;
    last_sent = now;
    push(ndjson(progress_json(p)));
  }
};

void start_pull_worker(const std::shared_ptr<PullJob>& job, Store store, std::string name,
                       bool insecure) {
  PullJob* j = job.get();  // joined by the response's releaser, so never outlives the job
  j->worker = std::thread([j, store = std::move(store), name = std::move(name), insecure] {
    PullOptions o;
    o.insecure = insecure;
    o.cancel = &j->cancel;
    o.progress = [j](const PullProgress& p) { j->on_progress(p); };
    auto r = pull_model(store, name, o);
    if (!r) {
      log_warn("pull {}: {}", name, r.message());
      j->push(ndjson({{"error", r.message()}}));
    }
    std::lock_guard<std::mutex> lock(j->mutex);
    j->finished = true;
    j->cv.notify_all();
  });
}

// Writes what the worker queued; false (and the pull cancelled) when the client is gone.
bool write_pull_lines(PullJob& job, httplib::DataSink& sink) {
  std::deque<std::string> out;
  bool finished;
  {
    std::unique_lock<std::mutex> lock(job.mutex);
    job.cv.wait_for(lock, kHeartbeatInterval, [&] { return !job.lines.empty() || job.finished; });
    out.swap(job.lines);
    finished = job.finished;
    if (out.empty() && !finished && !job.pending.empty()) {
      job.last_line = std::move(job.pending);
      job.pending.clear();
    }
    if (out.empty() && !finished && !job.last_line.empty()) out.push_back(job.last_line);
  }
  for (const std::string& line : out) {
    if (!sink.write(line.data(), line.size())) {
      job.cancel = true;  // the client went away: stop downloading (the partial file stays)
      return false;
    }
  }
  if (finished) sink.done();
  return true;
}

void pull(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  Json body;
  if (!read_object(req, res, body)) return;
  auto name = request_name(body);
  if (!name) return send_error(res, false, 400, name.message());
  auto insecure = bool_field(body, "insecure", false);
  if (!insecure) return send_error(res, false, 400, insecure.message());
  auto stream = bool_field(body, "stream", true);
  if (!stream) return send_error(res, false, 400, stream.message());
  if (auto parsed = parse_model_name(*name); !parsed)
    return send_error(res, false, 400, parsed.message());
  auto store = state.models.store();
  if (!store) return send_error(res, false, 500, store.message());
  if (!*stream) {
    PullOptions o;
    o.insecure = *insecure;
    auto r = pull_model(*store, *name, o);
    if (!r) return send_error(res, false, 500, r.message());
    return res.set_content(Json({{"status", "success"}}).dump(), kJsonType);
  }
  auto job = std::make_shared<PullJob>();
  start_pull_worker(job, *store, *name, *insecure);
  res.set_chunked_content_provider(
      kNdjsonType, [job](size_t, httplib::DataSink& sink) { return write_pull_lines(*job, sink); },
      [job](bool) {
        job->cancel = true;  // a no-op when the pull already ended
        job->worker.join();
      });
}

// A parameters value as Modelfile text ("stop" lists become one PARAMETER line each).
Expected<std::string> parameter_text(const std::string& key, const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return make_error("invalid type for parameters.{}: expected a string, number or boolean", key);
}

Status add_parameters(const Json& params, Modelfile& mf) {
  if (params.is_null()) return {};
  if (!params.is_object())
    return make_error("invalid type for field 'parameters': expected an object");
  for (const auto& [key, value] : params.items()) {
    for (const Json& v : value.is_array() ? value : Json::array({value})) {
      SILICA_ASSIGN_OR_RETURN(std::string text, parameter_text(key, v));
      mf.commands.push_back({"parameter", key + " " + text, 0});
    }
  }
  return {};
}

Status add_messages(const Json& messages, Modelfile& mf) {
  if (messages.is_null()) return {};
  if (!messages.is_array())
    return make_error("invalid type for field 'messages': expected an array");
  for (const Json& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      return make_error("each of 'messages' must be an object with string role and content");
    mf.commands.push_back(
        {"message", m["role"].get<std::string>() + " " + m["content"].get<std::string>(), 0});
  }
  return {};
}

// "files" / "adapters": {file name: "sha256:<hex>"}, each an uploaded blob.
Expected<std::vector<std::string>> blob_files(const Json& map, const char* field,
                                              const Store& store) {
  std::vector<std::string> paths;
  if (map.is_null()) return paths;
  if (!map.is_object())
    return make_error("invalid type for field '{}': expected an object of file name -> digest",
                      field);
  for (const auto& [file, digest] : map.items()) {
    if (!digest.is_string() || !is_valid_digest(digest.get<std::string>()))
      return make_error("{}.{}: expected a digest \"sha256:<64 hex digits>\"", field, file);
    if (!store.has_blob(digest.get<std::string>()))
      return make_error("{}.{}: blob {} is not on the server; upload it with POST /api/blobs/{}",
                        field, file, digest.get<std::string>(), digest.get<std::string>());
    paths.push_back(store.blob_path(digest.get<std::string>()));
  }
  return paths;
}

Status add_text(const Json& body, const char* key, Modelfile& mf) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return {};
  Json values = it->is_array() ? *it : Json::array({*it});
  for (const Json& v : values) {
    if (!v.is_string()) return make_error("invalid type for field '{}': expected a string", key);
    if (!v.get<std::string>().empty()) mf.commands.push_back({key, v.get<std::string>(), 0});
  }
  return {};
}

}  // namespace

Expected<Modelfile> modelfile_from_create_request(const Json& body, const Store& store) {
  Modelfile mf;
  if (auto it = body.find("modelfile"); it != body.end() && !it->is_null()) {
    if (!it->is_string())
      return make_error("invalid type for field 'modelfile': expected a string");
    SILICA_ASSIGN_OR_RETURN(mf, parse_modelfile(it->get<std::string>(), "modelfile"));
  }
  SILICA_ASSIGN_OR_RETURN(auto files, blob_files(body.value("files", Json()), "files", store));
  if (auto it = body.find("from"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return make_error("invalid type for field 'from': expected a string");
    mf.commands.push_back({"from", it->get<std::string>(), 0});
  } else if (!files.empty()) {
    if (files.size() != 1)
      return make_error("files: {} files given; only one .gguf file is supported", files.size());
    mf.commands.push_back({"from", files[0], 0});
  }
  if (std::none_of(mf.commands.begin(), mf.commands.end(),
                   [](const ModelfileCommand& c) { return c.name == "from"; }))
    return make_error("'from' (a model name) or 'files' (an uploaded .gguf blob) is required");
  SILICA_ASSIGN_OR_RETURN(auto adapters,
                          blob_files(body.value("adapters", Json()), "adapters", store));
  for (const std::string& a : adapters) mf.commands.push_back({"adapter", a, 0});
  for (const char* key : {"template", "system", "license"})
    SILICA_RETURN_IF_ERROR(add_text(body, key, mf));
  SILICA_RETURN_IF_ERROR(add_parameters(body.value("parameters", Json()), mf));
  SILICA_RETURN_IF_ERROR(add_messages(body.value("messages", Json()), mf));
  return mf;
}

namespace {

std::set<std::string> blob_names(const Store& store) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(store.root() + "/blobs", ec))
    out.insert(e.path().filename().string());
  return out;
}

// One streamed create: "parsing modelfile" goes out before the (possibly GiB-copying) work
// starts, then a line per layer, "writing manifest" and "success", or {"error": ...}.
struct CreateJob {
  Store store;
  ModelName name;
  Modelfile modelfile;
  std::string base_dir;
  bool started = false;
};

std::string create_lines(CreateJob& job) {
  const std::set<std::string> before = blob_names(job.store);
  auto m = create_model(job.store, job.name, job.modelfile, job.base_dir);
  if (!m) {
    log_warn("create {}: {}", job.name.display(), m.message());
    return ndjson({{"error", fmt::format("create {}: {}", job.name.display(), m.message())}});
  }
  std::string out;
  for (const ManifestLayer& l : m->layers) {
    const bool had = before.count("sha256-" + l.digest.substr(7)) > 0;
    out += ndjson({{"status", (had ? "using existing layer " : "creating new layer ") + l.digest}});
  }
  out += ndjson({{"status", "writing manifest"}});
  out += ndjson({{"status", "success"}});
  return out;
}

bool write_create_lines(CreateJob& job, httplib::DataSink& sink) {
  if (!job.started) {
    job.started = true;
    const std::string first = ndjson({{"status", "parsing modelfile"}});
    return sink.write(first.data(), first.size());
  }
  const std::string rest = create_lines(job);
  if (!sink.write(rest.data(), rest.size())) return false;
  sink.done();
  return true;
}

void create(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  Json body;
  if (!read_object(req, res, body)) return;
  auto name = request_name(body);
  if (!name) return send_error(res, false, 400, name.message());
  auto parsed = parse_model_name(*name);
  if (!parsed) return send_error(res, false, 400, parsed.message());
  auto stream = bool_field(body, "stream", true);
  if (!stream) return send_error(res, false, 400, stream.message());
  if (auto q = body.find("quantize");
      q != body.end() && !q->is_null() && !(q->is_string() && q->get<std::string>().empty()))
    return send_error(res, false, 400, "quantize is not supported yet");
  auto store = state.models.store();
  if (!store) return send_error(res, false, 500, store.message());
  auto mf = modelfile_from_create_request(body, *store);
  if (!mf) return send_error(res, false, 400, mf.message());
  std::error_code ec;
  const std::string base_dir = fs::current_path(ec).string();
  if (!*stream) {
    auto m = create_model(*store, *parsed, *mf, base_dir);
    if (!m) return send_error(res, false, 400, fmt::format("create {}: {}", *name, m.message()));
    return res.set_content(Json({{"status", "success"}}).dump(), kJsonType);
  }
  auto job = std::make_shared<CreateJob>(
      CreateJob{std::move(*store), std::move(*parsed), std::move(*mf), base_dir});
  res.set_chunked_content_provider(kNdjsonType, [job](size_t, httplib::DataSink& sink) {
    return write_create_lines(*job, sink);
  });
}

// The digest in /api/blobs/<digest>, or a 400 answered.
bool blob_digest(const httplib::Request& req, httplib::Response& res, std::string& digest) {
  digest = req.matches[1];
  if (is_valid_digest(digest)) return true;
  send_error(
      res, false, 400,
      fmt::format("'{}' is not a blob digest: expected sha256:<64 lowercase hex digits>", digest));
  return false;
}

void head_blob(ServerState& state, const httplib::Request& req, httplib::Response& res) {
  std::string digest;
  if (!blob_digest(req, res, digest)) return;
  auto store = state.models.store();
  if (!store) return send_error(res, false, 500, store.message());
  if (!store->has_blob(digest))
    return send_error(res, false, 404, fmt::format("blob {} not found", digest));
  res.status = 200;
}

// Streams the body into a temp file while hashing; renames it into place only when it matches.
void upload_blob(ServerState& state, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  std::string digest;
  if (!blob_digest(req, res, digest)) return;
  auto store = state.models.store();
  if (!store) return send_error(res, false, 500, store.message());
  const std::string temp = store->temp_path("upload");
  FILE* out = std::fopen(temp.c_str(), "wb");
  if (!out) return send_error(res, false, 500, fmt::format("cannot create {}", temp));
  Sha256 hash;
  bool write_ok = true;
  int64_t received = 0;
  const bool read_ok = reader([&](const char* data, size_t n) {
    hash.update(data, n);
    received += int64_t(n);
    write_ok = write_ok && std::fwrite(data, 1, n, out) == n;
    return write_ok;
  });
  write_ok = (std::fclose(out) == 0) && write_ok;
  if (!read_ok && write_ok) {  // the client hung up (or sent a short body): keep nothing
    std::remove(temp.c_str());
    log_warn("upload of {} ended after {} bytes; nothing kept", digest, received);
    return send_error(res, false, 400,
                      fmt::format("the upload of {} ended after {} bytes", digest, received));
  }
  const std::string got = "sha256:" + hash.finish_hex();
  if (!write_ok || got != digest) {
    std::remove(temp.c_str());
    if (!write_ok) return send_error(res, false, 500, fmt::format("cannot write {}", temp));
    return send_error(
        res, false, 400,
        fmt::format("digest mismatch: the body has {}, the path says {}", got, digest));
  }
  if (std::rename(temp.c_str(), store->blob_path(digest).c_str()) != 0) {
    std::remove(temp.c_str());
    return send_error(res, false, 500, fmt::format("cannot store blob {}", digest));
  }
  res.status = 201;
}

}  // namespace

void add_store_routes(httplib::Server& svr, ServerState& state) {
  svr.Post("/api/pull", [&state](const httplib::Request& req, httplib::Response& res) {
    pull(state, req, res);
  });
  svr.Post("/api/create", [&state](const httplib::Request& req, httplib::Response& res) {
    create(state, req, res);
  });
  // httplib answers HEAD with the GET handler, without a body.
  svr.Get("/api/blobs/(.+)", [&state](const httplib::Request& req, httplib::Response& res) {
    head_blob(state, req, res);
  });
  svr.Post("/api/blobs/(.+)", [&state](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
    upload_blob(state, req, res, reader);
  });
}

}  // namespace silica
