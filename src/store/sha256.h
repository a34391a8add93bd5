// SHA-256 through OpenSSL's EVP interface: streaming, and of whole files.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace silica {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  // Lowercase hex of the digest; the hasher is spent afterwards.
  std::string finish_hex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view data);
// Hex sha256 of a file's bytes, read in chunks; the error names the file.
Expected<std::string> sha256_file_hex(const std::string& path);

}  // namespace silica
