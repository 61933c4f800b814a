// The dispatcher's delivery threads over a real store, with fake sinks that fail
// on purpose (the HTTP sinks are tested against real servers in
// tests/integration/test_sinks.py).

#include "alert/sink_dispatcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "alert/delivery_queue.h"

using namespace sentrail;
using namespace sentrail::alert;
using namespace std::chrono_literals;

namespace {
std::filesystem::path fresh_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("sentrail-dispatch-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

// Fails its first `failures` deliveries (retriable), then records what it gets.
// Payloads starting with "poison" are refused for good, as a 400 would be.
class flaky_sink : public sink {
 public:
  flaky_sink(int failures, std::size_t batch) : failures_(failures), batch_(batch) {}
  std::string payload(const correlate::alert& a, std::string_view) const override { return a.id; }
  delivery_result deliver(const std::vector<std::string_view>& payloads) override {
    std::lock_guard l(mutex_);
    ++calls_;
    if (calls_ <= failures_) return delivery_result::retry("down on purpose");
    for (auto p : payloads)
      if (p.starts_with("poison")) return delivery_result::reject("refused " + std::string(p));
    for (auto p : payloads) got_.emplace_back(p);
    return delivery_result::ok();
  }
  std::size_t max_batch() const override { return batch_; }

  std::vector<std::string> got() {
    std::lock_guard l(mutex_);
    return got_;
  }
  int calls() {
    std::lock_guard l(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  int failures_;
  std::size_t batch_;
  int calls_ = 0;
  std::vector<std::string> got_;
};

sink_config config(std::string name, int max_attempts) {
  sink_config c;
  c.name = std::move(name);
  c.retry = {max_attempts, 1ms, 4ms};
  return c;
}

correlate::alert make(std::string id, std::string level = "high") {
  correlate::alert a;
  a.id = std::move(id);
  a.rule_id = "r";
  a.level = std::move(level);
  return a;
}

// Raises the alerts in one committed batch, as the worker does.
void raise(store::durable_store& db, sink_dispatcher& d, const std::vector<correlate::alert>& alerts) {
  store::batch b;
  for (const auto& a : alerts) d.enqueue(b, a, "{}");
  d.sealed();
  ASSERT_TRUE(db.commit(b).ok());
  d.committed();
}

bool eventually(const std::function<bool()>& done) {
  for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
    if (done()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return done();
}

std::vector<std::string> numbered(const char* prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}
}  // namespace

TEST(dispatcher, a_sink_failing_n_times_then_healthy_gets_every_alert_in_order) {
  auto dir = fresh_dir("flaky");
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  auto* flaky = new flaky_sink(5, 3);
  std::vector<sink_dispatcher::route> routes;
  routes.push_back({config("flaky", 8), std::unique_ptr<sink>(flaky)});
  sink_dispatcher d(**db, std::move(routes));
  d.start();
  std::vector<correlate::alert> alerts;
  for (const auto& id : numbered("a", 10)) alerts.push_back(make(id));
  raise(**db, d, alerts);
  ASSERT_TRUE(eventually([&] { return flaky->got().size() >= 10; }));
  EXPECT_EQ(flaky->got(), numbered("a", 10));  // in order, and each once after the failures
  EXPECT_GE(flaky->calls(), 5 + 4);            // 5 failures, then batches of at most 3
  ASSERT_TRUE(eventually([&] { return d.pending("flaky") == 0; }));
  EXPECT_TRUE(list_failures(**db).empty());
  d.stop();
  EXPECT_EQ(delivery_queue(**db, "flaky").count(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(dispatcher, a_sink_that_stays_down_dead_letters_after_max_attempts_without_holding_up_another) {
  auto dir = fresh_dir("down");
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  auto* down = new flaky_sink(1'000'000, 1);
  auto* healthy = new flaky_sink(0, 1);
  std::vector<sink_dispatcher::route> routes;
  routes.push_back({config("down", 3), std::unique_ptr<sink>(down)});
  auto only_high = config("healthy", 3);
  only_high.match.min_level = level_rank("high");
  routes.push_back({only_high, std::unique_ptr<sink>(healthy)});
  sink_dispatcher d(**db, std::move(routes));
  d.start();
  raise(**db, d, {make("a0"), make("low0", "low"), make("a1")});
  ASSERT_TRUE(eventually([&] { return healthy->got().size() >= 2; }));
  EXPECT_EQ(healthy->got(), (std::vector<std::string>{"a0", "a1"}));  // the route left out the low one
  ASSERT_TRUE(eventually([&] { return list_failures(**db, "down").size() == 3; }));
  auto failures = list_failures(**db, "down");
  EXPECT_EQ(failures[0].alert_id, "a0");
  EXPECT_EQ(failures[1].alert_id, "low0");
  EXPECT_EQ(failures[2].alert_id, "a1");
  for (const auto& f : failures) {
    EXPECT_EQ(f.attempts, 3);
    EXPECT_EQ(f.last_error, "down on purpose");
  }
  EXPECT_EQ(down->calls(), 9);
  ASSERT_TRUE(eventually([&] { return d.pending("down") == 0; }));
  std::filesystem::remove_all(dir);
}

TEST(dispatcher, a_refused_alert_in_a_batch_is_found_alone_and_the_rest_delivered) {
  auto dir = fresh_dir("poison");
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  auto* s = new flaky_sink(0, 10);
  std::vector<sink_dispatcher::route> routes;
  routes.push_back({config("am", 8), std::unique_ptr<sink>(s)});
  sink_dispatcher d(**db, std::move(routes));
  raise(**db, d, {make("a0"), make("poison1"), make("a2"), make("a3")});
  d.start();
  ASSERT_TRUE(eventually([&] { return s->got().size() >= 3; }));
  EXPECT_EQ(s->got(), (std::vector<std::string>{"a0", "a2", "a3"}));
  auto failures = list_failures(**db, "am");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].alert_id, "poison1");
  EXPECT_EQ(failures[0].attempts, 1);
  std::filesystem::remove_all(dir);
}

TEST(dispatcher, deliveries_pending_at_shutdown_resume_on_the_next_start) {
  auto dir = fresh_dir("resume");
  {
    auto db = store::durable_store::open(dir);
    ASSERT_TRUE(db) << db.message();
    auto* down = new flaky_sink(1'000'000, 5);
    std::vector<sink_dispatcher::route> routes;
    routes.push_back({config("hook", 1'000'000), std::unique_ptr<sink>(down)});
    sink_dispatcher d(**db, std::move(routes));
    d.start();
    raise(**db, d, {make("a0"), make("a1")});
    ASSERT_TRUE(eventually([&] { return down->calls() >= 2; }));
    d.stop();
    EXPECT_EQ(d.pending("hook"), 2);
  }
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  auto* healthy = new flaky_sink(0, 5);
  std::vector<sink_dispatcher::route> routes;
  routes.push_back({config("hook", 1'000'000), std::unique_ptr<sink>(healthy)});
  sink_dispatcher d(**db, std::move(routes));
  EXPECT_EQ(d.pending("hook"), 2);
  d.start();
  ASSERT_TRUE(eventually([&] { return healthy->got().size() >= 2; }));
  EXPECT_EQ(healthy->got(), (std::vector<std::string>{"a0", "a1"}));
  std::filesystem::remove_all(dir);
}

// A store in DIR/state and a dispatcher with one JSON-lines sink, "file", writing DIR/alerts.jsonl.
struct jsonl_sink {
  explicit jsonl_sink(const char* name) : dir(fresh_dir(name)) {
    std::filesystem::create_directories(dir);
    auto opened = store::durable_store::open(dir / "state");
    EXPECT_TRUE(opened) << opened.message();
    if (opened) db = std::move(*opened);
    sink_config c = config("file", 8);
    c.type = sink_type::jsonl;
    c.path = (dir / "alerts.jsonl").string();
    auto created = sink_dispatcher::create(*db, {c});
    EXPECT_TRUE(created) << created.message();
    if (created) d = std::move(*created);
  }
  ~jsonl_sink() {
    d.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }
  std::string written() const {
    std::ifstream in(dir / "alerts.jsonl");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  std::filesystem::path dir;
  std::unique_ptr<store::durable_store> db;
  std::unique_ptr<sink_dispatcher> d;
};

TEST(dispatcher, the_jsonl_sink_appends_one_alert_document_per_line) {
  jsonl_sink s("jsonl");
  ASSERT_TRUE(s.d);
  s.d->start();
  store::batch b;
  s.d->enqueue(b, make("a0"), R"({"id":"a0"})");
  s.d->enqueue(b, make("a1"), R"({"id":"a1"})");
  s.d->sealed();
  ASSERT_TRUE(s.db->commit(b).ok());
  s.d->committed();
  ASSERT_TRUE(eventually([&] { return s.d->pending("file") == 0; }));
  EXPECT_EQ(s.written(), "{\"id\":\"a0\"}\n{\"id\":\"a1\"}\n");
}

// Under a backlog the worker writes a batch while it builds the next: the first
// batch's commit wakes the sink for its own deliveries only, and the next one's
// commit wakes it again for the rest (it used to have nothing left to wake).
TEST(dispatcher, each_commit_wakes_the_sink_for_the_batch_it_made_durable) {
  jsonl_sink s("sealed");
  ASSERT_TRUE(s.d);
  store::batch writing, next;
  s.d->enqueue(writing, make("a0"), R"({"id":"a0"})");
  s.d->sealed();
  s.d->enqueue(next, make("a1"), R"({"id":"a1"})");  // built while `writing` is written
  ASSERT_TRUE(s.db->commit(writing).ok());
  s.d->committed();
  EXPECT_EQ(s.d->pending("file"), 1);  // a1 is not durable yet
  s.d->sealed();
  ASSERT_TRUE(s.db->commit(next).ok());
  s.d->committed();
  EXPECT_EQ(s.d->pending("file"), 2);
  s.d->start();
  ASSERT_TRUE(eventually([&] { return s.d->pending("file") == 0; }));
  EXPECT_EQ(s.written(), "{\"id\":\"a0\"}\n{\"id\":\"a1\"}\n");
}

TEST(dispatcher, refuses_a_sink_it_cannot_build) {
  auto dir = fresh_dir("bad");
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  sink_config c = config("hook", 8);
  c.type = sink_type::webhook;
  c.url = "ftp://example";
  auto d = sink_dispatcher::create(**db, {c});
  ASSERT_FALSE(d);
  EXPECT_NE(d.message().find("sink hook"), std::string::npos) << d.message();
  std::filesystem::remove_all(dir);
}
