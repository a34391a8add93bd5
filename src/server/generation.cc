// Bridging scheduler callbacks to HTTP handler threads.
#include "server/generation.h"

#include <chrono>

namespace silica {

bool is_busy_error(const std::string& message) {
  return message.find("the server is busy") != std::string::npos;
}

Expected<std::unique_ptr<GenerationStream>> GenerationStream::start(std::shared_ptr<ServedModel> m,
                                                                    std::vector<int32_t> prompt,
                                                                    const GenerateParams& params) {
  std::unique_ptr<GenerationStream> g(new GenerationStream());
  g->model_ = std::move(m);
  g->state_ = std::make_shared<State>();
  std::shared_ptr<State> st = g->state_;  // the callbacks own a reference: they may outlive g
  GenerationCallbacks cb;
  cb.on_text = [st](std::string_view text) {
    std::lock_guard<std::mutex> lock(st->mutex);
    st->pieces.emplace_back(text);
    st->cv.notify_all();
    return !st->cancelled;
  };
  cb.on_done = [st](const GenerateStats& stats, const Status& status) {
    std::lock_guard<std::mutex> lock(st->mutex);
    st->stats = stats;
    st->status = status;
    st->done = true;
    st->cv.notify_all();
  };
  GenerationRequest req{std::move(prompt), params};
  SILICA_ASSIGN_OR_RETURN(g->id_, g->model_->scheduler->submit(std::move(req), std::move(cb)));
  return g;
}

GenerationStream::~GenerationStream() {
  if (!state_) return;
  bool done;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    done = state_->done;
  }
  if (!done) cancel();
}

void GenerationStream::cancel() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->done) return;
    state_->cancelled = true;
  }
  model_->scheduler->cancel(id_);
}

bool GenerationStream::wait(std::vector<std::string>& pieces, int timeout_ms) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return state_->done || !state_->pieces.empty(); });
  for (std::string& p : state_->pieces) pieces.push_back(std::move(p));
  state_->pieces.clear();
  return state_->done;
}

std::string GenerationStream::collect() {
  std::vector<std::string> pieces;
  while (!wait(pieces, 1000)) {
  }
  std::string text;
  for (const std::string& p : pieces) text += p;
  return text;
}

}  // namespace silica
