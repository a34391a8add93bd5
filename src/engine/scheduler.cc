// The continuous-batching loop: admit, build one batch from every active slot, forward, sample.
#include "engine/scheduler.h"

#include <algorithm>

#include "base/log.h"
#include "base/timer.h"

namespace silica {

Expected<std::unique_ptr<Scheduler>> Scheduler::create(const LoadedModel& lm,
                                                       const SchedulerOptions& opts) {
  if (opts.n_parallel < 1)
    return make_error("--parallel must be at least 1, got {}", opts.n_parallel);
  std::unique_ptr<Scheduler> s(new Scheduler(lm, opts));
  ForwardOptions fo;
  fo.n_ctx = opts.n_ctx;
  fo.n_seq = opts.n_parallel;
  fo.n_batch = std::max<int64_t>(opts.n_batch, opts.n_parallel);
  fo.n_threads = opts.n_threads;
  SILICA_ASSIGN_OR_RETURN(s->st_, ForwardState::create(lm.model->hparams(), fo));
  s->slots_.resize(size_t(opts.n_parallel));
  for (int i = 0; i < opts.n_parallel; ++i) s->slots_[size_t(i)].index = i;
  s->logits_.resize(size_t(opts.n_parallel) * size_t(lm.model->hparams().n_vocab));
  s->thread_ = std::thread([p = s.get()] { p->loop(); });
  return s;
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Expected<uint64_t> Scheduler::submit(GenerationRequest req, GenerationCallbacks cb) {
  if (req.prompt.empty()) return make_error("the prompt is empty");
  if (int64_t(req.prompt.size()) >= opts_.n_ctx)
    return make_error(
        "the prompt has {} tokens but the context holds {}: shorten it or raise the "
        "context size (num_ctx / --ctx)",
        req.prompt.size(), opts_.n_ctx);
  const int32_t n_vocab = int32_t(lm_.model->hparams().n_vocab);
  for (int32_t t : req.prompt)
    if (t < 0 || t >= n_vocab) return make_error("token id {} is outside the vocabulary", t);
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (int64_t(queue_.size()) >= opts_.max_queue)
      return make_error("the server is busy: {} requests are waiting (max queue)", queue_.size());
    id = next_id_++;
    queue_.push_back(Pending{id, std::move(req), std::move(cb), now_ns()});
    metrics_.queue_depth = int64_t(queue_.size());
  }
  wake_.notify_all();
  return id;
}

void Scheduler::cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_.insert(id);
  }
  wake_.notify_all();
}

SchedulerMetrics Scheduler::metrics() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_;
}

void Scheduler::start(Slot& slot, Pending&& p) {
  slot.work = std::move(p);
  const std::vector<int32_t>& prompt = slot.work.req.prompt;
  // Reuse the common prefix with what the slot already holds; always evaluate at least the
  // last prompt token, whose logits start the generation.
  size_t common = 0;
  while (common < slot.cached.size() && common < prompt.size() &&
         slot.cached[common] == prompt[common])
    ++common;
  common = std::min(common, prompt.size() - 1);
  st_->kv().truncate(slot.index, int64_t(common));
  slot.cached.resize(common);
  slot.prompt_done = common;
  slot.next_token = -1;
  slot.active = true;
  slot.stats = GenerateStats{};
  slot.stats.n_prompt = int64_t(prompt.size() - common);
  slot.stats.n_cached = int64_t(common);
  slot.picker = std::make_unique<TokenPicker>(lm_, slot.work.req.params);
  for (int32_t t : prompt) slot.picker->accept_prompt(t);
  slot.streamer = std::make_unique<TextStreamer>(*lm_.tokenizer, slot.work.req.params.stop);
}

void Scheduler::admit_locked() {
  while (!queue_.empty()) {
    // Among free slots, take the one sharing the longest prefix with the request's prompt.
    Slot* best = nullptr;
    size_t best_common = 0;
    const std::vector<int32_t>& prompt = queue_.front().req.prompt;
    for (Slot& s : slots_) {
      if (s.active) continue;
      size_t c = 0;
      while (c < s.cached.size() && c < prompt.size() && s.cached[c] == prompt[c]) ++c;
      if (!best || c > best_common) best = &s, best_common = c;
    }
    if (!best) return;
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    ++metrics_.requests_total;
    start(*best, std::move(p));
  }
}

void Scheduler::finish(Slot& slot, const std::string& reason, const Status& status) {
  if (slot.streamer && status.ok() && reason != "cancel") {
    const std::string rest = slot.streamer->flush();
    if (!rest.empty() && slot.work.cb.on_text) slot.work.cb.on_text(rest);
  }
  const int64_t now = now_ns();
  slot.stats.done_reason = reason;
  if (slot.t_prompt_done) {
    slot.stats.generate_ns = now - slot.t_prompt_done;
  } else {
    slot.stats.prompt_ns = now - slot.work.t_submit;
  }
  slot.active = false;
  slot.next_token = -1;
  slot.t_prompt_done = 0;
  if (!status.ok()) {  // the cache may hold a half-written step: forget it
    st_->kv().truncate(slot.index, 0);
    slot.cached.clear();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.generated_tokens_total += slot.stats.n_generated;
    metrics_.prompt_tokens_total += slot.stats.n_prompt;
    cancelled_.erase(slot.work.id);
  }
  if (slot.work.cb.on_done) slot.work.cb.on_done(slot.stats, status);
  slot.work.cb = {};
}

void Scheduler::advance(Slot& slot, const float* logits) {
  const GenerateParams& params = slot.work.req.params;
  if (!slot.t_prompt_done) {
    slot.t_prompt_done = now_ns();
    slot.stats.prompt_ns = slot.t_prompt_done - slot.work.t_submit;
  }
  if (params.n_predict >= 0 && slot.stats.n_generated >= params.n_predict)
    return finish(slot, "length");
  int64_t budget = opts_.n_ctx - 1 - int64_t(slot.cached.size());
  if (params.n_predict >= 0) budget = std::min(budget, params.n_predict - slot.stats.n_generated);
  const int32_t id = slot.picker->pick(logits, budget);
  if (lm_.tokenizer->is_eog(id)) return finish(slot, "stop");
  slot.stats.tokens.push_back(id);
  ++slot.stats.n_generated;
  const std::string text = slot.streamer->push(id);
  if (!text.empty() && slot.work.cb.on_text && !slot.work.cb.on_text(text))
    return finish(slot, "cancel");
  if (slot.streamer->stopped() || slot.picker->grammar_finished()) return finish(slot, "stop");
  if (params.n_predict >= 0 && slot.stats.n_generated >= params.n_predict)
    return finish(slot, "length");
  if (int64_t(slot.cached.size()) + 1 >= opts_.n_ctx) return finish(slot, "length");
  slot.next_token = id;
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] {
        if (stop_ || !queue_.empty()) return true;
        for (const Slot& s : slots_)
          if (s.active) return true;
        return false;
      });
      if (stop_) break;
      // Cancelled requests still waiting in the queue end here.
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (cancelled_.count(it->id)) {
          Pending p = std::move(*it);
          it = queue_.erase(it);
          cancelled_.erase(p.id);
          lock.unlock();
          GenerateStats stats;
          stats.done_reason = "cancel";
          if (p.cb.on_done) p.cb.on_done(stats, Status());
          lock.lock();
        } else {
          ++it;
        }
      }
      admit_locked();
      metrics_.queue_depth = int64_t(queue_.size());
    }
    std::vector<Slot*> to_cancel;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (Slot& s : slots_)
        if (s.active && cancelled_.count(s.work.id)) to_cancel.push_back(&s);
    }
    for (Slot* s : to_cancel) finish(*s, "cancel");

    // One batch: every generating slot's next token first, then prompt chunks in the budget left.
    batch_.clear();
    batch_slot_rows_.clear();
    int64_t active = 0;
    for (Slot& s : slots_) {
      if (!s.active || s.next_token < 0) continue;
      ++active;
      batch_.add(s.next_token, int32_t(s.cached.size()), s.index, true);
      batch_slot_rows_.push_back(s.index);
    }
    int64_t budget = st_->options().n_batch - batch_.size();
    for (Slot& s : slots_) {
      if (!s.active || s.next_token >= 0) continue;
      ++active;
      const std::vector<int32_t>& prompt = s.work.req.prompt;
      const int64_t left = int64_t(prompt.size() - s.prompt_done);
      const int64_t n = std::min(left, budget);
      if (n <= 0) continue;
      for (int64_t i = 0; i < n; ++i) {
        const bool last = i + 1 == left;
        batch_.add(prompt[s.prompt_done + size_t(i)], int32_t(s.cached.size() + size_t(i)), s.index,
                   last);
        if (last) batch_slot_rows_.push_back(s.index);
      }
      budget -= n;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      metrics_.active = active;
    }
    if (batch_.size() == 0) continue;

    Status status = lm_.model->forward(batch_, *st_, logits_.data());
    if (!status.ok()) {
      log_warn("forward step failed: {}", status.message());
      for (Slot& s : slots_)
        if (s.active) finish(s, "error", status);
      std::lock_guard<std::mutex> lock(mutex_);
      metrics_.active = 0;
      continue;
    }
    // Record what each slot's cache now holds.
    for (int64_t t = 0; t < batch_.size(); ++t) {
      Slot& s = slots_[size_t(batch_.seq[size_t(t)])];
      s.cached.push_back(batch_.tokens[size_t(t)]);
      if (s.next_token < 0) ++s.prompt_done;
    }
    for (Slot& s : slots_)
      if (s.active) s.next_token = -1;
    const int64_t n_vocab = lm_.model->hparams().n_vocab;
    for (size_t row = 0; row < batch_slot_rows_.size(); ++row) {
      Slot& s = slots_[size_t(batch_slot_rows_[row])];
      if (s.active) advance(s, logits_.data() + int64_t(row) * n_vocab);
    }
    // Sequences that ended in this step no longer count: an idle server reads 0 active.
    int64_t still_active = 0;
    for (const Slot& s : slots_) still_active += s.active ? 1 : 0;
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.active = still_active;
  }
  // Shutting down: every request still here ends.
  for (Slot& s : slots_)
    if (s.active) finish(s, "unload");
  std::deque<Pending> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    left.swap(queue_);
  }
  for (Pending& p : left) {
    GenerateStats stats;
    stats.done_reason = "unload";
    if (p.cb.on_done) p.cb.on_done(stats, Status());
  }
}

}  // namespace silica
