// Mean-pooled, normalized embeddings.
#include "engine/embed.h"

#include <algorithm>
#include <cmath>

namespace silica {

Expected<std::vector<float>> embed_tokens_mean(const LoadedModel& lm,
                                               const std::vector<int32_t>& tokens, int n_threads) {
  if (tokens.empty()) return make_error("cannot embed an empty input");
  const ModelHParams& hp = lm.model->hparams();
  ForwardOptions fo;
  fo.n_ctx = int64_t(tokens.size());
  fo.n_batch = std::min<int64_t>(int64_t(tokens.size()), 512);
  fo.n_threads = n_threads;
  SILICA_ASSIGN_OR_RETURN(auto st, ForwardState::create(hp, fo));
  st->hidden_only = true;
  std::vector<double> sum(size_t(hp.n_embd), 0.0);
  Batch batch;
  for (size_t i = 0; i < tokens.size(); i += size_t(fo.n_batch)) {
    batch.clear();
    const size_t end = std::min(tokens.size(), i + size_t(fo.n_batch));
    for (size_t j = i; j < end; ++j) batch.add(tokens[j], int32_t(j), 0, true);
    SILICA_RETURN_IF_ERROR(lm.model->forward(batch, *st, nullptr));
    for (int64_t r = 0; r < batch.size(); ++r)
      for (int64_t d = 0; d < hp.n_embd; ++d)
        sum[size_t(d)] += st->out_rows[size_t(r * hp.n_embd + d)];
  }
  double norm = 0;
  for (double& v : sum) {
    v /= double(tokens.size());
    norm += v * v;
  }
  norm = std::sqrt(norm);
  std::vector<float> out(sum.size());
  for (size_t d = 0; d < sum.size(); ++d) out[d] = norm > 0 ? float(sum[d] / norm) : 0.0f;
  return out;
}

}  // namespace silica
