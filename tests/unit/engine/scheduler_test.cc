// Continuous batching: concurrent greedy requests give exactly the sequential text; prompt
// prefixes are reused; cancellation frees the slot; a full queue refuses.
#include <gtest/gtest.h>

#include <future>

#include "common/tiny_model.h"
#include "engine/scheduler.h"
#include "sample/json_schema.h"

namespace silica {
namespace {

LoadedModel& tiny_model() {
  static LoadedModel lm = [] {
    testing::TinyModelSpec spec;
    spec.n_layer = 2;
    const std::string path = testing::write_tiny_model(spec, "silica_sched.gguf");
    auto m = load_model_with_tokenizer(path);
    EXPECT_TRUE(m.ok()) << m.message();
    return std::move(m.value());
  }();
  return lm;
}

GenerateParams greedy(int64_t n) {
  GenerateParams p;
  p.n_predict = n;
  p.sampling.temperature = 0;
  return p;
}

struct Result {
  std::string text;
  GenerateStats stats;
  Status status;
};

// Submits and returns a future of the whole result.
std::future<Result> submit(Scheduler& s, std::vector<int32_t> prompt, GenerateParams p) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto result = std::make_shared<Result>();
  GenerationCallbacks cb;
  cb.on_text = [result](std::string_view t) {
    result->text += t;
    return true;
  };
  cb.on_done = [promise, result](const GenerateStats& st, const Status& status) {
    result->stats = st;
    result->status = status;
    promise->set_value(*result);
  };
  auto id = s.submit(GenerationRequest{std::move(prompt), p}, cb);
  EXPECT_TRUE(id.ok()) << id.message();
  return promise->get_future();
}

std::vector<int32_t> prompt_of(int i) {
  return {int32_t(1 + i), int32_t(10 + 3 * i), int32_t(40 + i), 7, int32_t(60 - i)};
}

TEST(Scheduler, ConcurrentGreedyEqualsSequential) {
  LoadedModel& lm = tiny_model();
  constexpr int kStreams = 8;
  std::vector<Result> sequential;
  {
    auto s = Scheduler::create(lm, {/*n_parallel=*/1, /*n_ctx=*/128, /*n_batch=*/32, 2, 64});
    ASSERT_TRUE(s.ok()) << s.message();
    for (int i = 0; i < kStreams; ++i)
      sequential.push_back(submit(**s, prompt_of(i), greedy(24)).get());
  }
  auto s = Scheduler::create(lm, {kStreams, 128, 32, 2, 64});
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<std::future<Result>> futures;
  for (int i = 0; i < kStreams; ++i) futures.push_back(submit(**s, prompt_of(i), greedy(24)));
  for (int i = 0; i < kStreams; ++i) {
    Result r = futures[size_t(i)].get();
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_EQ(r.stats.tokens, sequential[size_t(i)].stats.tokens) << "stream " << i;
    EXPECT_EQ(r.text, sequential[size_t(i)].text) << "stream " << i;
    EXPECT_EQ(r.stats.n_generated, int64_t(r.stats.tokens.size()));
  }
}

TEST(Scheduler, ReusesPromptPrefix) {
  LoadedModel& lm = tiny_model();
  auto s = Scheduler::create(lm, {1, 128, 32, 2, 64});
  ASSERT_TRUE(s.ok());
  std::vector<int32_t> p1 = {5, 6, 7, 8, 9, 10, 11, 12};
  Result a = submit(**s, p1, greedy(4)).get();
  EXPECT_EQ(a.stats.n_cached, 0);
  EXPECT_EQ(a.stats.n_prompt, 8);
  // The same prompt plus more: the first 8 come from the cache, and the text is the same as
  // evaluating everything afresh.
  std::vector<int32_t> p2 = p1;
  p2.insert(p2.end(), {13, 14});
  Result b = submit(**s, p2, greedy(6)).get();
  EXPECT_EQ(b.stats.n_cached, 8);
  EXPECT_EQ(b.stats.n_prompt, 2);
  auto fresh = Scheduler::create(lm, {1, 128, 32, 2, 64});
  Result c = submit(**fresh, p2, greedy(6)).get();
  EXPECT_EQ(c.stats.n_cached, 0);
  EXPECT_EQ(b.stats.tokens, c.stats.tokens);
}

// A prompt whose greedy continuation runs at least n tokens without an end-of-generation token,
// so that a cancel sent after a few tokens cannot race with a natural stop.
std::vector<int32_t> long_running_prompt(Scheduler& s, int64_t n) {
  for (int32_t i = 1; i < 60; ++i) {
    std::vector<int32_t> p = {i, int32_t(i + 1), int32_t(i + 2)};
    if (submit(s, p, greedy(n)).get().stats.done_reason == "length") return p;
  }
  ADD_FAILURE() << "no prompt of the tiny model generates " << n << " tokens";
  return {1, 2, 3};
}

TEST(Scheduler, CancelFreesTheSlot) {
  LoadedModel& lm = tiny_model();
  auto s = Scheduler::create(lm, {1, 512, 32, 2, 64});
  ASSERT_TRUE(s.ok());
  const std::vector<int32_t> prompt = long_running_prompt(**s, 200);
  // The third piece of text holds the scheduler until the cancel has been sent, so the request
  // cannot finish its 200 tokens first on a slow or busy machine (no sleeps, no timing).
  std::promise<void> third_piece, cancel_sent;
  std::shared_future<void> sent = cancel_sent.get_future().share();
  int pieces = 0;  // touched only by the scheduler's thread
  std::promise<GenerateStats> done;
  GenerationCallbacks cb;
  cb.on_text = [&](std::string_view) {
    if (++pieces == 3) {
      third_piece.set_value();
      sent.wait();
    }
    return true;
  };
  cb.on_done = [&](const GenerateStats& st, const Status&) { done.set_value(st); };
  GenerateParams endless = greedy(-1);
  endless.n_predict = 200;  // cancelled long before
  auto id = (*s)->submit(GenerationRequest{prompt, endless}, cb);
  ASSERT_TRUE(id.ok());
  third_piece.get_future().wait();
  (*s)->cancel(*id);
  cancel_sent.set_value();
  GenerateStats st = done.get_future().get();
  EXPECT_EQ(st.done_reason, "cancel");
  // The only slot is free again: the next request completes.
  Result r = submit(**s, {4, 5, 6}, greedy(3)).get();
  EXPECT_TRUE(r.status.ok());
  EXPECT_NE(r.stats.done_reason, "cancel");
  EXPECT_GE(r.stats.n_generated, 1);
}

TEST(Scheduler, CallbackReturningFalseCancels) {
  LoadedModel& lm = tiny_model();
  auto s = Scheduler::create(lm, {1, 512, 32, 2, 64});
  std::promise<GenerateStats> done;
  GenerationCallbacks cb;
  cb.on_text = [](std::string_view) { return false; };  // a client that went away
  cb.on_done = [&](const GenerateStats& st, const Status&) { done.set_value(st); };
  ASSERT_TRUE((*s)->submit(GenerationRequest{{1, 2, 3}, greedy(-1)}, cb).ok());
  EXPECT_EQ(done.get_future().get().done_reason, "cancel");
}

TEST(Scheduler, RejectsWhatCannotRun) {
  LoadedModel& lm = tiny_model();
  auto s = Scheduler::create(lm, {1, 16, 8, 1, 2});
  ASSERT_TRUE(s.ok());
  GenerationCallbacks none;
  auto too_long = (*s)->submit(GenerationRequest{std::vector<int32_t>(20, 1), greedy(1)}, none);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.message().find("context"), std::string::npos);
  EXPECT_FALSE((*s)->submit(GenerationRequest{{}, greedy(1)}, none).ok());
  EXPECT_FALSE((*s)->submit(GenerationRequest{{100000}, greedy(1)}, none).ok());
}

TEST(Scheduler, FullQueueRefuses) {
  LoadedModel& lm = tiny_model();
  auto s = Scheduler::create(lm, {1, 512, 8, 1, /*max_queue=*/2});
  ASSERT_TRUE(s.ok());
  const std::vector<int32_t> prompt = long_running_prompt(**s, 50);
  // The first request holds the only slot: its first piece of text blocks the scheduler until
  // the queue has been filled and tested (no sleeps, no timing).
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<GenerateStats> first_done;
  bool first_piece = true;
  GenerationCallbacks cb;
  cb.on_text = [&](std::string_view) {
    if (first_piece) {
      first_piece = false;
      started.set_value();
      released.wait();
    }
    return true;
  };
  cb.on_done = [&](const GenerateStats& st, const Status&) { first_done.set_value(st); };
  ASSERT_TRUE((*s)->submit(GenerationRequest{prompt, greedy(50)}, cb).ok());
  started.get_future().wait();
  std::vector<std::future<Result>> queued;
  queued.push_back(submit(**s, {3, 4}, greedy(1)));
  queued.push_back(submit(**s, {5, 6}, greedy(1)));
  GenerationCallbacks none;
  auto refused = (*s)->submit(GenerationRequest{{7, 8}, greedy(1)}, none);
  release.set_value();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("busy"), std::string::npos);
  EXPECT_EQ(first_done.get_future().get().done_reason, "length");
  for (auto& f : queued) EXPECT_TRUE(f.get().status.ok());
}

}  // namespace
}  // namespace silica

namespace silica {
namespace {

TEST(Scheduler, GrammarConstrainedOutputAlwaysParses) {
  LoadedModel& lm = tiny_model();
  auto grammar = json_schema_grammar(
      R"({"type":"object","properties":{"n":{"type":"integer"},"ok":{"type":"boolean"},)"
      R"("tag":{"enum":["x","y"]}},"required":["n","ok","tag"],"additionalProperties":false})");
  ASSERT_TRUE(grammar.ok()) << grammar.message();
  auto shared = std::make_shared<const Grammar>(std::move(grammar.value()));
  auto s = Scheduler::create(lm, {4, 256, 64, 2, 64});
  ASSERT_TRUE(s.ok());
  std::vector<std::future<Result>> runs;
  for (int i = 0; i < 20; ++i) {
    GenerateParams p;
    p.n_predict = 120;
    p.sampling.temperature = 1.0f;
    p.sampling.top_k = 0, p.sampling.top_p = 1.0f, p.sampling.min_p = 0.0f;
    p.sampling.seed = uint64_t(100 + i);
    p.grammar = shared;
    runs.push_back(submit(**s, prompt_of(i % 8), p));
  }
  for (auto& f : runs) {
    Result r = f.get();
    ASSERT_EQ(r.stats.done_reason, "stop") << r.text;
    auto j = nlohmann::json::parse(r.text, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.text;
    EXPECT_TRUE(j["n"].is_number_integer()) << r.text;
    EXPECT_TRUE(j["ok"].is_boolean()) << r.text;
    EXPECT_TRUE(j["tag"] == "x" || j["tag"] == "y") << r.text;
    EXPECT_EQ(j.size(), 3u) << r.text;
  }
}

}  // namespace
}  // namespace silica
