// Leveled logging to stderr.
#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace silica {
namespace {

LogLevel level_from_env() {
  const char* v = std::getenv("SILICA_LOG");
  if (!v) return LogLevel::kWarn;
  if (!std::strcmp(v, "debug")) return LogLevel::kDebug;
  if (!std::strcmp(v, "info")) return LogLevel::kInfo;
  if (!std::strcmp(v, "error")) return LogLevel::kError;
  return LogLevel::kWarn;
}

std::atomic<int> g_level{int(level_from_env())};
std::mutex g_mutex;

}  // namespace

LogLevel log_level() {
  return LogLevel(g_level.load(std::memory_order_relaxed));
}
void set_log_level(LogLevel level) {
  g_level.store(int(level));
}

void log_line(LogLevel level, const std::string& text) {
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "silica %s: %s\n", kNames[int(level)], text.c_str());
}

}  // namespace silica
