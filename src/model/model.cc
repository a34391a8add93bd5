// load_model: open the GGUF file, read hyper-parameters, build the architecture's model.
#include "model/model.h"

#include <fmt/ranges.h>

#include <filesystem>
#include <map>

#include "format/model_folder.h"
#include "model/arch/registry.h"

namespace silica {

Expected<std::unique_ptr<Model>> load_model(const std::string& path, const LoadOptions& opts) {
  if (std::filesystem::is_directory(path)) {  // safetensors / MLX folders are not runnable yet
    SILICA_ASSIGN_OR_RETURN(ModelDescription d, describe_model_path(path));
    return make_error("{}", folder_not_runnable_message(d));
  }
  SILICA_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  SILICA_ASSIGN_OR_RETURN(ModelHParams hp, read_common_hparams(file));
  ArchFactory create = find_architecture(hp.arch);
  if (!create)
    return make_error("{}: architecture '{}' is not supported (supported: {})", path, hp.arch,
                      fmt::join(supported_architectures(), ", "));
  if (opts.prefetch) file.mapping().advise_willneed(0, file.mapping().size());
  return create(std::move(file), std::move(hp));
}

int64_t Model::n_params() const {
  int64_t n = 0;
  for (const auto& t : file_.tensors()) n += t.n_elements();
  return n;
}

size_t Model::weight_bytes() const {
  size_t n = 0;
  for (const auto& t : file_.tensors()) n += t.nbytes;
  return n;
}

std::string Model::dominant_type() const {
  // Weighted by elements, ignoring 1-D tensors (norms and biases stay f32 in every file).
  std::map<std::string, int64_t> by_type;
  for (const auto& t : file_.tensors())
    if (t.ne.size() >= 2) by_type[dtype_name(t.type)] += t.n_elements();
  std::string best;
  int64_t most = -1;
  for (const auto& [name, n] : by_type)
    if (n > most) {
      most = n;
      best = name;
    }
  return best;
}

}  // namespace silica
