// TensorSource: GGUF tensors as they are, safetensors shards renamed and reshaped to GGUF order.
#include "model/tensor_source.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "base/half.h"

namespace silica {
namespace {

// The silica type of a safetensors dtype the kernels read; nullopt for the others.
std::optional<DType> weight_dtype(StDtype t) {
  switch (t) {
    case StDtype::kF32:
      return DType::kF32;
    case StDtype::kF16:
      return DType::kF16;
    case StDtype::kBF16:
      return DType::kBF16;
    default:
      return std::nullopt;
  }
}

std::vector<float> to_f32(StDtype t, const uint8_t* data, int64_t n) {
  std::vector<float> out(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, data + 2 * i, 2);
    out[size_t(i)] = t == StDtype::kF16 ? fp16_to_f32(h) : bf16_to_f32(h);
  }
  return out;
}

}  // namespace

int64_t SourceTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

TensorSource TensorSource::from_gguf(GgufFile file) {
  TensorSource s;
  s.gguf_ = std::make_unique<GgufFile>(std::move(file));
  s.path_ = s.gguf_->path();
  for (const GgufTensorInfo& t : s.gguf_->tensors()) {
    SourceTensor st{t.name, s.path_, t.type, t.ne, t.data, t.nbytes};
    s.index_.emplace(st.name, s.tensors_.size());
    s.tensors_.push_back(std::move(st));
  }
  return s;
}

Status TensorSource::add(SourceTensor t) {
  if (index_.count(t.name))
    return make_error("{}: tensor '{}' appears twice (also in {})", t.file, t.name,
                      tensors_[index_.find(t.name)->second].file);
  index_.emplace(t.name, tensors_.size());
  tensors_.push_back(std::move(t));
  return {};
}

Status TensorSource::add_shard(SafetensorsFile shard,
                               std::string (*rename)(std::string_view hf_name)) {
  auto owned = std::make_unique<SafetensorsFile>(std::move(shard));
  const SafetensorsFile& f = *owned;
  for (const StTensorInfo& t : f.tensors()) {
    std::string name = rename(t.name);
    if (name.empty()) continue;
    const auto type = weight_dtype(t.dtype);
    if (!type)
      return make_error(
          "{}: tensor '{}' is {}: silica runs F32, F16 and BF16 safetensors weights (quantized "
          "or integer weights are not supported in a Hugging Face folder)",
          f.path(), t.name, st_dtype_name(t.dtype));
    if (t.shape.empty() || t.shape.size() > 4)
      return make_error("{}: tensor '{}' has {} dimensions, expected 1 to 4", f.path(), t.name,
                        t.shape.size());
    SourceTensor st{std::move(name), f.path(),
                    *type,           std::vector<int64_t>(t.shape.rbegin(), t.shape.rend()),
                    f.data(t),       t.nbytes()};
    if (t.shape.size() == 1 && *type != DType::kF32) {  // norms and biases: f32 for the kernels
      owned_.push_back(to_f32(t.dtype, st.data, t.n_elements()));
      st.type = DType::kF32;
      st.data = reinterpret_cast<const uint8_t*>(owned_.back().data());
      st.nbytes = owned_.back().size() * sizeof(float);
    }
    SILICA_RETURN_IF_ERROR(add(std::move(st)));
  }
  shards_.push_back(std::move(owned));
  return {};
}

bool TensorSource::is_mapped(const void* p) const {
  const auto* b = static_cast<const uint8_t*>(p);
  for (const auto& v : owned_) {
    const auto* o = reinterpret_cast<const uint8_t*>(v.data());
    if (b >= o && b < o + v.size() * sizeof(float)) return false;
  }
  return p != nullptr;
}

void TensorSource::add_owned_f32(std::string name, std::vector<float> values) {
  owned_.push_back(std::move(values));
  const auto& v = owned_.back();
  SourceTensor st{std::move(name),
                  path_,
                  DType::kF32,
                  {int64_t(v.size())},
                  reinterpret_cast<const uint8_t*>(v.data()),
                  v.size() * sizeof(float)};
  index_[st.name] = tensors_.size();
  tensors_.push_back(std::move(st));
}

const SourceTensor* TensorSource::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void TensorSource::advise_willneed() const {
  if (gguf_) gguf_->mapping().advise_willneed(0, gguf_->mapping().size());
  for (const auto& s : shards_) s->mapping().advise_willneed(0, s->mapping().size());
}

}  // namespace silica
