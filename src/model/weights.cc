// Tensor binding with shape and type checks that name the tensor and the file.
#include "model/weights.h"

#include <fmt/ranges.h>

#include "model/tensor_source.h"

namespace silica {

Status TensorBinder::bind(const std::string& name, const std::vector<int64_t>& shape, bool required,
                          bool f32_only, TensorRef& out) {
  const SourceTensor* t = src_.find(name);
  if (!t) {
    if (!required) return {};
    return make_error(
        "{}: tensor '{}' is missing: the file is not a complete model of this "
        "architecture",
        src_.path(), name);
  }
  std::vector<int64_t> ne = t->ne;
  while (ne.size() > shape.size() && ne.back() == 1) ne.pop_back();
  if (ne != shape) {
    if (src_.gguf())
      return make_error("{}: tensor '{}' has shape [{}], expected [{}]", t->file, name,
                        fmt::join(t->ne, ", "), fmt::join(shape, ", "));
    // A folder's user knows the safetensors (outermost-first) order.
    return make_error("{}: tensor '{}' has shape [{}], expected [{}]", t->file, name,
                      fmt::join(t->ne.rbegin(), t->ne.rend(), ", "),
                      fmt::join(shape.rbegin(), shape.rend(), ", "));
  }
  if (f32_only && t->type != DType::kF32)
    return make_error("{}: tensor '{}' is {}, expected f32", t->file, name, dtype_name(t->type));
  out.data = t->data;
  out.type = t->type;
  for (size_t i = 0; i < 4; ++i) out.ne[i] = i < t->ne.size() ? t->ne[i] : 1;
  return {};
}

Status TensorBinder::require(const std::string& name, std::vector<int64_t> shape, TensorRef& out) {
  return bind(name, shape, true, false, out);
}
Status TensorBinder::optional(const std::string& name, std::vector<int64_t> shape, TensorRef& out) {
  return bind(name, shape, false, false, out);
}
Status TensorBinder::require_f32(const std::string& name, std::vector<int64_t> shape,
                                 TensorRef& out) {
  return bind(name, shape, true, true, out);
}
Status TensorBinder::optional_f32(const std::string& name, std::vector<int64_t> shape,
                                  TensorRef& out) {
  return bind(name, shape, false, true, out);
}

}  // namespace silica
