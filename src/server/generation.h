// One generation on a served model's Scheduler, seen from an HTTP thread: the scheduler's
// callbacks only append to a locked buffer (they never block); the HTTP side drains it.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/model_manager.h"

namespace silica {

class GenerationStream {
 public:
  // Queues the request. Errors: the queue is full (busy() on the message) or the prompt is bad.
  static Expected<std::unique_ptr<GenerationStream>> start(std::shared_ptr<ServedModel> m,
                                                           std::vector<int32_t> prompt,
                                                           const GenerateParams& params);
  ~GenerationStream();  // cancels the request if it is still running
  GenerationStream(const GenerationStream&) = delete;
  GenerationStream& operator=(const GenerationStream&) = delete;

  // Waits up to timeout_ms for new text or the end; appends the pieces produced since the last
  // call (one per streamed token that completed text) to `pieces`. Returns true once the
  // generation has ended and all its text was handed out.
  bool wait(std::vector<std::string>& pieces, int timeout_ms);
  // Runs to the end, collecting all text.
  std::string collect();
  void cancel();  // the slot is freed by the scheduler's next step

  const GenerateStats& stats() const { return state_->stats; }  // valid once ended
  const Status& status() const { return state_->status; }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::string> pieces;  // produced and not yet taken
    bool done = false;
    bool cancelled = false;
    GenerateStats stats;
    Status status;
  };
  GenerationStream() = default;

  std::shared_ptr<ServedModel> model_;
  std::shared_ptr<State> state_;
  uint64_t id_ = 0;
};

// Whether a submit error means "queue full" (the server answers 503).
bool is_busy_error(const std::string& message);

}  // namespace silica
