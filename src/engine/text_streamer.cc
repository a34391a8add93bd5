// Stop-string detection over streamed text.
#include "engine/text_streamer.h"

#include <algorithm>

namespace silica {
namespace {

// Longest suffix of `text` that is a proper prefix of some stop string.
size_t held_back_suffix(std::string_view text, const std::vector<std::string>& stops) {
  size_t keep = 0;
  for (const auto& s : stops) {
    if (s.empty()) continue;
    for (size_t n = std::min(s.size() - 1, text.size()); n > keep; --n)
      if (text.substr(text.size() - n) == std::string_view(s).substr(0, n)) {
        keep = n;
        break;
      }
  }
  return keep;
}

}  // namespace

std::string TextStreamer::push(int32_t token) {
  if (stopped_) return {};
  pending_ += decoder_.push(token);
  size_t cut = std::string::npos;
  for (const auto& s : stops_) {
    if (s.empty()) continue;
    const size_t at = pending_.find(s);
    if (at != std::string::npos) cut = std::min(cut, at);
  }
  if (cut != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, cut);
    pending_.clear();
    return out;
  }
  const size_t keep = held_back_suffix(pending_, stops_);
  std::string out = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string TextStreamer::flush() {
  if (stopped_) return {};
  std::string out = std::move(pending_);
  pending_.clear();
  out += decoder_.flush();
  return out;
}

}  // namespace silica
