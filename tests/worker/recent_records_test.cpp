// The worker's memory of its latest input, which evidence by reference reads
// before Kafka; through the real broker in tests/integration/test_end_to_end.py
// (test_evidence_by_reference_is_read_from_memory_while_the_broker_is_away).
#include "worker/recent_records.h"

#include <gtest/gtest.h>

#include <string>

namespace sentrail::worker {
namespace {

std::string payload(int n, std::size_t size = 10) {
  std::string p = "r" + std::to_string(n);
  p.resize(size, '.');
  return p;
}

TEST(RecentRecords, FindsWhatWasKeptByTopicPartitionAndOffset) {
  recent_records r(1000);
  r.keep("retail.web", 0, 7, "seven");
  r.keep("retail.web", 1, 7, "other partition");
  r.keep("retail.pos", 0, 7, "other topic");
  r.keep("retail.web", 0, 8, "eight");
  EXPECT_EQ(r.find("retail.web", 0, 7), "seven");
  EXPECT_EQ(r.find("retail.web", 0, 8), "eight");
  EXPECT_EQ(r.find("retail.web", 1, 7), "other partition");
  EXPECT_EQ(r.find("retail.pos", 0, 7), "other topic");
  EXPECT_FALSE(r.find("retail.web", 0, 9));
  EXPECT_FALSE(r.find("retail.web", 2, 7));
  EXPECT_FALSE(r.find("retail.mobile", 0, 7));
}

TEST(RecentRecords, TheOldestRecordsGiveWayToNewOnesWithinTheBudget) {
  recent_records r(100);  // ten 10-byte records
  for (int i = 0; i < 25; ++i) r.keep("retail.web", 0, i, payload(i));
  for (int i = 0; i < 15; ++i) EXPECT_FALSE(r.find("retail.web", 0, i)) << i;
  for (int i = 15; i < 25; ++i) EXPECT_EQ(r.find("retail.web", 0, i), payload(i)) << i;
}

TEST(RecentRecords, APayloadThatWouldCrossTheEndStartsAtTheBeginningWhole) {
  recent_records r(100);
  for (int i = 0; i < 6; ++i) r.keep("retail.web", 0, i, payload(i, 15));  // 90 bytes
  r.keep("retail.web", 0, 6, payload(6, 15));  // 10 bytes left at the end: starts at 0
  EXPECT_EQ(r.find("retail.web", 0, 6), payload(6, 15));
  // It overwrote the first record, and the end it skipped counts as used.
  EXPECT_FALSE(r.find("retail.web", 0, 0));
  for (int i = 1; i < 6; ++i) EXPECT_EQ(r.find("retail.web", 0, i), payload(i, 15)) << i;
  r.keep("retail.web", 0, 7, payload(7, 15));
  EXPECT_FALSE(r.find("retail.web", 0, 1));
  EXPECT_EQ(r.find("retail.web", 0, 2), payload(2, 15));
}

TEST(RecentRecords, OnePartitionsRecordsAgeOutAsOthersAreKept) {
  recent_records r(100);
  r.keep("retail.badge", 3, 40, payload(40));
  for (int i = 0; i < 9; ++i) r.keep("retail.web", 0, i, payload(i));
  EXPECT_EQ(r.find("retail.badge", 3, 40), payload(40));
  r.keep("retail.web", 0, 9, payload(9));
  EXPECT_FALSE(r.find("retail.badge", 3, 40)) << "overwritten by another partition's record";
}

TEST(RecentRecords, ReadingAPartitionAgainFromEarlierForgetsWhatItKept) {
  recent_records r(1000);
  for (int i = 10; i < 15; ++i) r.keep("retail.pos", 1, i, payload(i));
  r.keep("retail.pos", 1, 12, "read again");  // a rebalance or restart moved the partition back
  EXPECT_EQ(r.find("retail.pos", 1, 12), "read again");
  EXPECT_FALSE(r.find("retail.pos", 1, 10));
  EXPECT_FALSE(r.find("retail.pos", 1, 14));
  r.keep("retail.pos", 1, 13, "next");
  EXPECT_EQ(r.find("retail.pos", 1, 13), "next");
}

TEST(RecentRecords, NothingLargerThanTheBudgetAndNothingAtAllWithNoBudget) {
  recent_records small(8);
  small.keep("retail.web", 0, 1, "123456789");
  EXPECT_FALSE(small.find("retail.web", 0, 1));
  small.keep("retail.web", 0, 2, "12345678");
  EXPECT_EQ(small.find("retail.web", 0, 2), "12345678");
  recent_records none(0);
  none.keep("retail.web", 0, 1, "");
  none.keep("retail.web", 0, 2, "x");
  EXPECT_FALSE(none.find("retail.web", 0, 1));
  EXPECT_FALSE(none.find("retail.web", 0, 2));
}

TEST(RecentRecords, ManyRecordsThroughASmallBudgetKeepExactlyTheLatest) {
  // Variable sizes, several partitions, the ring wrapping many times: every
  // record found must be the one kept at that position, and the latest must be there.
  recent_records r(4096);
  for (int i = 0; i < 20000; ++i) {
    int partition = i % 7;
    r.keep("retail.mobile", partition, i / 7, payload(i, 5 + static_cast<std::size_t>(i % 90)));
    if (i % 97 == 0) {
      for (int back = 0; back < 300 && back <= i; ++back) {
        int j = i - back;
        auto found = r.find("retail.mobile", j % 7, j / 7);
        if (found) EXPECT_EQ(*found, payload(j, 5 + static_cast<std::size_t>(j % 90))) << j;
        else EXPECT_GT(back, 30) << "record " << j << " should still be kept at " << i;
      }
    }
  }
}

}  // namespace
}  // namespace sentrail::worker
