// libcurl easy-handle wrappers. Why libcurl: TLS, redirects, proxies and Range come for free.
#include "store/http_client.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace silica {
namespace {

constexpr long kConnectTimeoutS = 30;
// A transfer slower than 1 byte/s for this long is dropped (and resumed by the caller's retry).
constexpr long kStallTimeoutS = 60;
constexpr size_t kMaxErrorBody = 4096;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
  std::unique_ptr<CURL, CurlDeleter> curl;
  std::unique_ptr<curl_slist, CurlDeleter> headers;
  const std::atomic<bool>* cancel = nullptr;
};

int on_xfer(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(p);
  return t->cancel && t->cancel->load() ? 1 : 0;
}

Transfer make_transfer(const std::string& url, const std::vector<std::string>& headers,
                       const std::atomic<bool>* cancel) {
  global_init();
  Transfer t;
  t.curl.reset(curl_easy_init());
  t.cancel = cancel;
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  t.headers.reset(list);
  CURL* c = t.curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "silica/0.1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, kStallTimeoutS);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
  return t;
}

size_t append_string(char* data, size_t size, size_t n, void* p) {
  static_cast<std::string*>(p)->append(data, size * n);
  return size * n;
}

// Download state: the file, and whether the response turned out to be usable.
struct Sink {
  CURL* curl = nullptr;
  FILE* file = nullptr;
  int64_t offset = 0;  // bytes in the file
  bool checked = false;
  long status = 0;
  std::string error_body;
  const DownloadOptions* opts = nullptr;
};

size_t write_file(char* data, size_t size, size_t n, void* p) {
  auto* s = static_cast<Sink*>(p);
  size_t bytes = size * n;
  if (!s->checked) {
    s->checked = true;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    // 200 to a Range request: the server sends everything; start the file over.
    if (s->status == 200 && s->offset > 0) {
      if (::ftruncate(fileno(s->file), 0) != 0) return 0;
      std::fseek(s->file, 0, SEEK_SET);
      s->offset = 0;
    }
  }
  if (s->status != 200 && s->status != 206) {
    if (s->error_body.size() < kMaxErrorBody) s->error_body.append(data, bytes);
    return bytes;
  }
  if (std::fwrite(data, 1, bytes, s->file) != bytes) return 0;
  s->offset += int64_t(bytes);
  if (s->opts->on_progress) s->opts->on_progress(s->offset);
  return bytes;
}

// State of one ranged download into a shared file.
struct RangeSink {
  CURL* curl = nullptr;
  int fd = -1;
  int64_t pos = 0, end = 0;  // next file offset to write; one past the last wanted byte
  int64_t written = 0;
  bool checked = false, range_ignored = false, too_long = false, write_failed = false;
  long status = 0;
  std::string error_body;
  const DownloadOptions* opts = nullptr;
};

size_t write_range(char* data, size_t size, size_t n, void* p) {
  auto* s = static_cast<RangeSink*>(p);
  const size_t bytes = size * n;
  if (!s->checked) {
    s->checked = true;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status == 200) {  // the whole body: this server ignores Range
      s->range_ignored = true;
      return 0;
    }
  }
  if (s->status != 206) {
    if (s->error_body.size() < kMaxErrorBody) s->error_body.append(data, bytes);
    return bytes;
  }
  if (s->pos + int64_t(bytes) > s->end) {  // more than the range asked for
    s->too_long = true;
    return 0;
  }
  for (size_t off = 0; off < bytes;) {
    const ssize_t w = ::pwrite(s->fd, data + off, bytes - off, s->pos);
    if (w <= 0) {
      s->write_failed = true;
      return 0;
    }
    off += size_t(w);
    s->pos += w;
    s->written += w;
  }
  if (s->opts->on_progress) s->opts->on_progress(s->written);
  return bytes;
}

}  // namespace

Status http_download_range(const std::string& url, int fd, int64_t begin, int64_t end,
                           const DownloadOptions& o, bool* range_ignored) {
  *range_ignored = false;
  if (begin >= end) return {};
  RangeSink s;
  s.fd = fd;
  s.pos = begin;
  s.end = end;
  s.opts = &o;
  std::vector<std::string> headers = o.headers;
  headers.push_back(fmt::format("Range: bytes={}-{}", begin, end - 1));
  Transfer t = make_transfer(url, headers, o.cancel);
  s.curl = t.curl.get();
  curl_easy_setopt(s.curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, write_range);
  curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
  const CURLcode rc = curl_easy_perform(s.curl);
  if (!s.checked) curl_easy_getinfo(s.curl, CURLINFO_RESPONSE_CODE, &s.status);
  const std::string what = fmt::format("GET {} (bytes {}-{})", url, begin, end - 1);
  if (rc == CURLE_ABORTED_BY_CALLBACK) return make_error("{}: interrupted", what);
  if (s.range_ignored || (rc == CURLE_OK && s.status == 200)) {
    *range_ignored = true;
    return make_error("{}: the server ignores Range (HTTP 200)", what);
  }
  if (s.too_long) return make_error("{}: the server sent more than the range", what);
  if (s.write_failed) return make_error("{}: cannot write: {}", what, std::strerror(errno));
  if (s.status != 0 && s.status != 206)
    return make_error("{}: HTTP {}: {}", what, s.status, s.error_body.substr(0, 300));
  if (rc != CURLE_OK)
    return make_error("{}: {} after {} bytes", what, curl_easy_strerror(rc), s.written);
  if (s.pos != end) return make_error("{}: the response ended after {} bytes", what, s.written);
  return {};
}

std::string url_escape(const std::string& segment) {
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Expected<HttpResponse> http_get(const std::string& url, const std::vector<std::string>& headers,
                                const std::atomic<bool>* cancel) {
  Transfer t = make_transfer(url, headers, cancel);
  HttpResponse r;
  curl_easy_setopt(t.curl.get(), CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(t.curl.get(), CURLOPT_WRITEFUNCTION, append_string);
  curl_easy_setopt(t.curl.get(), CURLOPT_WRITEDATA, &r.body);
  CURLcode rc = curl_easy_perform(t.curl.get());
  if (rc == CURLE_ABORTED_BY_CALLBACK) return make_error("GET {}: interrupted", url);
  if (rc != CURLE_OK) return make_error("GET {}: {}", url, curl_easy_strerror(rc));
  curl_easy_getinfo(t.curl.get(), CURLINFO_RESPONSE_CODE, &r.status);
  char* eff = nullptr;
  curl_easy_getinfo(t.curl.get(), CURLINFO_EFFECTIVE_URL, &eff);
  if (eff) r.effective_url = eff;
  return r;
}

Expected<HttpResponse> http_post_json(const std::string& url, const std::string& json) {
  Transfer t = make_transfer(url, {"Content-Type: application/json"}, nullptr);
  HttpResponse r;
  curl_easy_setopt(t.curl.get(), CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(t.curl.get(), CURLOPT_POSTFIELDS, json.c_str());
  curl_easy_setopt(t.curl.get(), CURLOPT_POSTFIELDSIZE, long(json.size()));
  curl_easy_setopt(t.curl.get(), CURLOPT_WRITEFUNCTION, append_string);
  curl_easy_setopt(t.curl.get(), CURLOPT_WRITEDATA, &r.body);
  CURLcode rc = curl_easy_perform(t.curl.get());
  if (rc != CURLE_OK) return make_error("POST {}: {}", url, curl_easy_strerror(rc));
  curl_easy_getinfo(t.curl.get(), CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

Status http_download(const std::string& url, const std::string& path, const DownloadOptions& o) {
  FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) return make_error("cannot open {}: {}", path, std::strerror(errno));
  // Unbuffered: the partial file holds every byte received even if the process is killed.
  std::setvbuf(f, nullptr, _IONBF, 0);
  Sink s;
  s.file = f;
  s.opts = &o;
  s.offset = std::ftell(f);
  std::vector<std::string> headers = o.headers;
  if (s.offset > 0) headers.push_back(fmt::format("Range: bytes={}-", s.offset));
  Transfer t = make_transfer(url, headers, o.cancel);
  s.curl = t.curl.get();
  curl_easy_setopt(s.curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, write_file);
  curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
  CURLcode rc = curl_easy_perform(s.curl);
  if (!s.checked) curl_easy_getinfo(s.curl, CURLINFO_RESPONSE_CODE, &s.status);
  bool closed = std::fclose(f) == 0;
  if (rc == CURLE_ABORTED_BY_CALLBACK) return make_error("GET {}: interrupted", url);
  if (s.status == 416 && s.offset > 0) return {};  // range past the end: the file is whole
  if (s.status != 0 && s.status != 200 && s.status != 206)
    return make_error("GET {}: HTTP {}: {}", url, s.status, s.error_body.substr(0, 300));
  if (rc != CURLE_OK)
    return make_error("GET {}: {} after {} bytes", url, curl_easy_strerror(rc), s.offset);
  if (!closed) return make_error("cannot write {}: {}", path, std::strerror(errno));
  return {};
}

}  // namespace silica
