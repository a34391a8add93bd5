// Small blocking HTTP GETs over libcurl: whole responses, and resumable downloads to a file.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace silica {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string effective_url;  // after redirects
};

// GET url following redirects; any status is returned (the caller decides what is an error).
// Proxies come from the usual environment variables (libcurl reads them).
Expected<HttpResponse> http_get(const std::string& url, const std::vector<std::string>& headers,
                                const std::atomic<bool>* cancel = nullptr);

// POST url with a JSON body (Content-Type: application/json); any status is returned.
Expected<HttpResponse> http_post_json(const std::string& url, const std::string& json);

struct DownloadOptions {
  std::vector<std::string> headers;
  const std::atomic<bool>* cancel = nullptr;  // set -> the transfer stops, the file stays
  std::function<void(int64_t bytes_in_file)> on_progress;
};

// Appends url's body to the file at path, continuing from the bytes already there with a
// Range request (a server that ignores Range and answers 200 restarts the file). On any error
// the file keeps every byte received so far, so a later call resumes.
Status http_download(const std::string& url, const std::string& path, const DownloadOptions& o);

// Downloads bytes [begin, end) of url into the open file `fd` at the same offsets (pwrite), with
// "Range: bytes=begin-(end-1)"; o.on_progress gets the bytes of this range written so far. A
// server that answers 200 instead of 206 ignores Range: *range_ignored is set and nothing is
// written. On an error every byte written stays, so the caller can resume from begin + written.
Status http_download_range(const std::string& url, int fd, int64_t begin, int64_t end,
                           const DownloadOptions& o, bool* range_ignored);

// Percent-encodes one path segment.
std::string url_escape(const std::string& segment);

}  // namespace silica
