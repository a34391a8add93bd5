// Loads the real ggml (libggml-base.so from the pinned node-llama-cpp peer) at run time, to use
// its type traits (to_float / from_float_ref) as the bit-exact reference for the tensor tests.
#pragma once

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace silica::testing {

// ggml's public `struct ggml_type_traits` (ggml/include/ggml.h), field for field.
struct GgmlTypeTraits {
  const char* type_name;
  int64_t blck_size;
  int64_t blck_size_interleave;
  size_t type_size;
  bool is_quantized;
  void (*to_float)(const void* x, float* y, int64_t k);
  void (*from_float_ref)(const float* x, void* y, int64_t k);
};

class GgmlPeer {
 public:
  GgmlPeer() {
    const char* dir = std::getenv("SILICA_PEERS_LIB_DIR");
    lib_dir_ = dir ? dir
                   : std::string(SILICA_SOURCE_DIR) +
                         "/tests/peers/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64";
    const std::string path = lib_dir_ + "/libggml-base.so";
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      error_ = std::string("dlopen ") + path + ": " + dlerror();
      return;
    }
    get_traits_ = reinterpret_cast<GetTraitsFn>(dlsym(handle_, "ggml_get_type_traits"));
    if (!get_traits_) error_ = path + ": no symbol ggml_get_type_traits";
  }
  ~GgmlPeer() {
    if (handle_) dlclose(handle_);
  }
  GgmlPeer(const GgmlPeer&) = delete;
  GgmlPeer& operator=(const GgmlPeer&) = delete;

  bool ok() const { return get_traits_ != nullptr; }
  const std::string& error() const { return error_; }
  const GgmlTypeTraits* traits(uint32_t type) const { return get_traits_(type); }
  void* symbol(const char* name) const { return handle_ ? dlsym(handle_, name) : nullptr; }

  // Tests skip without the peer, unless SILICA_REQUIRE_PEERS=1 makes its absence a failure.
  static bool required() {
    const char* r = std::getenv("SILICA_REQUIRE_PEERS");
    return r && std::string(r) == "1";
  }

 private:
  using GetTraitsFn = const GgmlTypeTraits* (*)(uint32_t);
  std::string lib_dir_, error_;
  void* handle_ = nullptr;
  GetTraitsFn get_traits_ = nullptr;
};

}  // namespace silica::testing
