// Turns generated tokens into text to emit: whole UTF-8 characters only, and stop strings cut
// out (text that may be the start of a stop string is held back until it is decided).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace silica {

class TextStreamer {
 public:
  TextStreamer(const Tokenizer& tok, std::vector<std::string> stops)
      : decoder_(tok), stops_(std::move(stops)) {}

  // Adds a token; returns the text that is now safe to emit. After a stop string is found,
  // stopped() is true and the returned text ends right before it.
  std::string push(int32_t token);
  // The text still held back (call when generation ends without a stop string).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  StreamDecoder decoder_;
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace silica
