// Continuous batching: N sequence slots share one forward pass per step. New requests join
// between steps; a slot that finishes is reused at once; a request whose prompt starts with
// what a free slot already holds skips recomputing that prefix.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "engine/session.h"
#include "engine/text_streamer.h"

namespace silica {

struct SchedulerOptions {
  int n_parallel = 4;     // sequence slots
  int64_t n_ctx = 4096;   // positions per slot
  int64_t n_batch = 512;  // most tokens in one forward step
  int n_threads = 0;      // 0: one per physical core
  int max_queue = 512;    // waiting requests before submit() refuses
};

struct GenerationRequest {
  std::vector<int32_t> prompt;  // tokens, already formatted and tokenized
  GenerateParams params;
};

// Called on the scheduler's thread. on_text returning false cancels the request.
struct GenerationCallbacks {
  std::function<bool(std::string_view text)> on_text;
  std::function<void(const GenerateStats& stats, const Status& status)> on_done;
};

struct SchedulerMetrics {
  int64_t requests_total = 0;
  int64_t prompt_tokens_total = 0;
  int64_t generated_tokens_total = 0;
  int64_t queue_depth = 0;
  int64_t active = 0;
};

class Scheduler {
 public:
  static Expected<std::unique_ptr<Scheduler>> create(const LoadedModel& lm,
                                                     const SchedulerOptions& opts);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request and returns its id; an error when the queue is full or the prompt cannot
  // fit. Its callbacks are called exactly once for on_done, after all on_text calls.
  Expected<uint64_t> submit(GenerationRequest req, GenerationCallbacks cb);
  // Ends a queued or running request (done_reason "cancel"); unknown ids are ignored.
  void cancel(uint64_t id);
  SchedulerMetrics metrics() const;
  const SchedulerOptions& options() const { return opts_; }

 private:
  struct Pending {
    uint64_t id;
    GenerationRequest req;
    GenerationCallbacks cb;
    int64_t t_submit;
  };
  struct Slot {
    int32_t index = 0;
    bool active = false;
    Pending work;
    std::vector<int32_t> cached;  // tokens whose K/V the slot holds, in order
    size_t prompt_done = 0;       // prompt tokens in the cache
    int32_t next_token = -1;      // sampled token to evaluate in the next step
    std::unique_ptr<TokenPicker> picker;
    std::unique_ptr<TextStreamer> streamer;
    GenerateStats stats;
    int64_t t_prompt_done = 0;
  };

  Scheduler(const LoadedModel& lm, const SchedulerOptions& opts) : lm_(lm), opts_(opts) {}
  void loop();
  void admit_locked();
  void start(Slot& slot, Pending&& p);
  void finish(Slot& slot, const std::string& reason, const Status& status = {});
  // Samples the slot's next token from its logits row; ends the request if it is done.
  void advance(Slot& slot, const float* logits);

  const LoadedModel& lm_;
  SchedulerOptions opts_;
  std::unique_ptr<ForwardState> st_;
  std::vector<Slot> slots_;
  Batch batch_;
  std::vector<int32_t> batch_slot_rows_;  // [n_outputs] slot of each logits row
  std::vector<float> logits_;             // [n_parallel, n_vocab]

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::unordered_set<uint64_t> cancelled_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  SchedulerMetrics metrics_;
  std::thread thread_;
};

}  // namespace silica
