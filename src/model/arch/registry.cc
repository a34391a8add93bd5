// The table of architectures this build runs.
#include "model/arch/registry.h"

namespace silica {
namespace {

struct ArchEntry {
  const char* name;
  ArchFactory create;
};

constexpr ArchEntry kArchitectures[] = {
    {"llama", create_llama},
    {"qwen2", create_qwen2},
};

}  // namespace

ArchFactory find_architecture(const std::string& name) {
  for (const auto& a : kArchitectures)
    if (name == a.name) return a.create;
  return nullptr;
}

std::vector<std::string> supported_architectures() {
  std::vector<std::string> names;
  for (const auto& a : kArchitectures) names.emplace_back(a.name);
  return names;
}

}  // namespace silica
