#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace sentrail::store;

namespace {
std::filesystem::path fresh_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("sentrail-store-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}
}  // namespace

TEST(store, offsets_alerts_and_outbox_survive_a_reopen_together) {
  auto dir = fresh_dir("reopen");
  {
    auto db = durable_store::open(dir);
    ASSERT_TRUE(db) << db.message();
    EXPECT_FALSE((*db)->next_offset("retail.pos", 3));
    batch b;
    b.set_next_offset("retail.pos", 3, 41);
    b.set_next_offset("retail.pos", 3, 42);  // the highest wins
    EXPECT_TRUE((*db)->add_alert(b, "a1", R"({"id":"a1"})"));
    EXPECT_FALSE((*db)->add_alert(b, "a1", R"({"id":"a1"})"));  // twice in one batch
    b.add_outbox("sentrail.alerts", "a1", R"({"id":"a1"})");
    ASSERT_TRUE((*db)->commit(b).ok());
    EXPECT_EQ(b.outbox[0].sequence, 1u);
  }
  auto db = durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  EXPECT_EQ((*db)->next_offset("retail.pos", 3), 42);
  EXPECT_FALSE((*db)->next_offset("retail.pos", 4));
  EXPECT_TRUE((*db)->has_alert("a1"));
  batch again;
  EXPECT_FALSE((*db)->add_alert(again, "a1", "{}"));  // a restart never raises it twice
  auto pending = (*db)->pending_outbox();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].topic, "sentrail.alerts");
  EXPECT_EQ(pending[0].key, "a1");
  EXPECT_EQ(pending[0].payload, R"({"id":"a1"})");
  ASSERT_TRUE((*db)->mark_published({pending[0].sequence}).ok());
  EXPECT_TRUE((*db)->pending_outbox().empty());
  // Sequences keep rising after published records are gone.
  batch next;
  next.add_outbox("t", "k", "v");
  ASSERT_TRUE((*db)->commit(next).ok());
  EXPECT_GT(next.outbox[0].sequence, pending[0].sequence);
  std::filesystem::remove_all(dir);
}

TEST(store, refuses_a_state_directory_it_cannot_create) {
  auto db = durable_store::open("/proc/sentrail-cannot-be-here");
  ASSERT_FALSE(db);
  EXPECT_NE(db.message().find("/proc/sentrail-cannot-be-here"), std::string::npos);
}
