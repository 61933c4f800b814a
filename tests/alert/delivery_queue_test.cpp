// The delivery queues on a real RocksDB store in a temporary directory.

#include "alert/delivery_queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

using namespace sentrail;
using namespace sentrail::alert;

namespace {
std::filesystem::path fresh_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("sentrail-queue-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

std::vector<std::string> ids(const std::vector<pending_delivery>& items) {
  std::vector<std::string> out;
  for (const auto& d : items) out.push_back(d.alert_id);
  return out;
}
}  // namespace

TEST(delivery_queue, each_sink_sees_only_its_own_deliveries_oldest_first_once_committed) {
  auto dir = fresh_dir("order");
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  delivery_queue hook(**db, "hook"), hook2(**db, "hook2"), file(**db, "file");
  store::batch b;
  // 300 crosses a byte boundary of the big-endian sequence: order must still hold.
  for (int i = 0; i < 300; ++i) hook.enqueue(b, "a" + std::to_string(i), "payload\nwith lines " + std::to_string(i));
  hook2.enqueue(b, "x", "p");
  file.enqueue(b, "a0", "line\n");
  EXPECT_TRUE(hook.head(10).empty()) << "nothing is queued before the batch is durable";
  ASSERT_TRUE((*db)->commit(b).ok());

  auto head = hook.head(1000);
  ASSERT_EQ(head.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(head[i].alert_id, "a" + std::to_string(i));
    EXPECT_EQ(head[i].payload, "payload\nwith lines " + std::to_string(i));
    EXPECT_EQ(head[i].attempts, 0);
    if (i) {
      EXPECT_GT(head[i].sequence, head[i - 1].sequence);
    }
  }
  EXPECT_EQ(ids(hook.head(2, head[5].sequence)), (std::vector<std::string>{"a5", "a6"}));
  EXPECT_TRUE(hook.head(2, head[299].sequence + 1).empty());
  EXPECT_EQ(ids(hook2.head(10)), std::vector<std::string>{"x"});  // "hook2" is not within "hook"'s range
  EXPECT_EQ(ids(file.head(10)), std::vector<std::string>{"a0"});
  EXPECT_EQ(hook.count(), 300u);

  ASSERT_TRUE(hook.delivered(hook.head(2)).ok());
  EXPECT_EQ(ids(hook.head(2)), (std::vector<std::string>{"a2", "a3"}));
  EXPECT_EQ(hook.count(), 298u);
  auto counts = pending_counts(**db);
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0], (std::pair<std::string, std::size_t>{"file", 1}));
  EXPECT_EQ(counts[1], (std::pair<std::string, std::size_t>{"hook", 298}));
  EXPECT_EQ(counts[2], (std::pair<std::string, std::size_t>{"hook2", 1}));
  std::filesystem::remove_all(dir);
}

TEST(delivery_queue, retries_count_up_durably_and_the_last_attempt_moves_to_the_failures) {
  auto dir = fresh_dir("fail");
  {
    auto db = store::durable_store::open(dir);
    ASSERT_TRUE(db) << db.message();
    delivery_queue q(**db, "hook");
    store::batch b;
    q.enqueue(b, "a1", "p1");
    q.enqueue(b, "a2", "p2");
    ASSERT_TRUE((*db)->commit(b).ok());
    for (int attempt = 1; attempt <= 2; ++attempt) {
      auto items = q.head(1);
      auto c = q.failed(items, delivery_result::retry("HTTP 503\nunavailable"), 3, 1000 + attempt);
      ASSERT_TRUE(c) << c.message();
      EXPECT_EQ(c->retried, 1u);
      EXPECT_EQ(c->dead_lettered, 0u);
      EXPECT_EQ(items[0].attempts, attempt);
    }
  }
  // Attempts survive a restart, so max_attempts counts across runs.
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  delivery_queue q(**db, "hook");
  auto items = q.head(1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].alert_id, "a1");
  EXPECT_EQ(items[0].attempts, 2);
  auto c = q.failed(items, delivery_result::retry("HTTP 503\nunavailable"), 3, 4242);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dead_lettered, 1u);
  EXPECT_EQ(ids(q.head(10)), std::vector<std::string>{"a2"});  // the next one is now at the front

  auto failures = list_failures(**db);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].sink, "hook");
  EXPECT_EQ(failures[0].alert_id, "a1");
  EXPECT_EQ(failures[0].attempts, 3);
  EXPECT_EQ(failures[0].failed_at, 4242);
  EXPECT_EQ(failures[0].last_error, "HTTP 503 unavailable");
  EXPECT_EQ(failures[0].payload, "p1");
  EXPECT_TRUE(list_failures(**db, "other").empty());
  std::filesystem::remove_all(dir);
}

TEST(delivery_queue, a_rejection_dead_letters_at_once) {
  auto dir = fresh_dir("reject");
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  delivery_queue q(**db, "am");
  store::batch b;
  q.enqueue(b, "a1", "p1");
  ASSERT_TRUE((*db)->commit(b).ok());
  auto items = q.head(1);
  auto c = q.failed(items, delivery_result::reject("HTTP 400 bad alert"), 8, 1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dead_lettered, 1u);
  EXPECT_EQ(q.count(), 0u);
  ASSERT_EQ(list_failures(**db, "am").size(), 1u);
  EXPECT_EQ(list_failures(**db, "am")[0].attempts, 1);
  std::filesystem::remove_all(dir);
}

TEST(delivery_queue, sequences_continue_after_a_restart_even_when_everything_was_dead_lettered) {
  auto dir = fresh_dir("sequence");
  std::uint64_t last = 0;
  {
    auto db = store::durable_store::open(dir);
    ASSERT_TRUE(db) << db.message();
    delivery_queue q(**db, "hook");
    store::batch b;
    q.enqueue(b, "a1", "p1");
    ASSERT_TRUE((*db)->commit(b).ok());
    auto items = q.head(1);
    last = items[0].sequence;
    ASSERT_TRUE(q.failed(items, delivery_result::reject("no"), 8, 1));
  }
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  delivery_queue q(**db, "hook");
  store::batch b;
  q.enqueue(b, "a2", "p2");
  ASSERT_TRUE((*db)->commit(b).ok());
  auto items = q.head(1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_GT(items[0].sequence, last);  // a new key: the dead letter is not overwritten
  ASSERT_TRUE(q.failed(items, delivery_result::reject("no"), 8, 2));
  EXPECT_EQ(list_failures(**db).size(), 2u);
  std::filesystem::remove_all(dir);
}
