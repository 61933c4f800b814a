// The worker's record of where each partition should resume; the loss it
// reports is tested through the real broker in tests/integration/test_input_loss.py.
#include "worker/input_positions.h"

#include <gtest/gtest.h>

namespace sentrail::worker {
namespace {

TEST(InputPositions, ConsecutiveRecordsAreNoGap) {
  input_positions p;
  EXPECT_FALSE(p.read("retail.web", 0, 17));  // first record: no expectation yet
  EXPECT_FALSE(p.read("retail.web", 0, 18));
  EXPECT_FALSE(p.read("retail.web", 0, 19));
}

TEST(InputPositions, ASkippedRangeReportsTheOffsetExpected) {
  input_positions p;
  p.read("retail.web", 0, 5);
  EXPECT_EQ(p.read("retail.web", 0, 9), 6);
  EXPECT_FALSE(p.read("retail.web", 0, 10));  // reported once
}

TEST(InputPositions, AResumeBeyondTheStoredPositionIsAGap) {
  input_positions p;
  p.expect("retail.pos", 2, 100);
  EXPECT_EQ(p.read("retail.pos", 2, 7314), 100);
}

TEST(InputPositions, ReReadingBehindTheExpectedPositionIsNoGap) {
  input_positions p;
  p.read("retail.web", 1, 50);
  p.expect("retail.web", 1, 40);  // a rebalance resumes at the store's position
  EXPECT_FALSE(p.read("retail.web", 1, 40));
  EXPECT_FALSE(p.read("retail.web", 1, 41));
  p.read("retail.web", 1, 60);
  EXPECT_FALSE(p.read("retail.web", 1, 55));  // behind: a re-read, and no rewind of what is expected
  EXPECT_EQ(p.read("retail.web", 1, 63), 61);
}

TEST(InputPositions, PartitionsAndTopicsAreApart) {
  input_positions p;
  p.read("retail.web", 0, 10);
  p.read("retail.web", 1, 500);
  p.read("retail.pos", 0, 3);
  EXPECT_FALSE(p.read("retail.web", 0, 11));
  EXPECT_FALSE(p.read("retail.pos", 0, 4));
  EXPECT_EQ(p.read("retail.web", 1, 502), 501);
  EXPECT_EQ(p.read("retail.pos", 0, 6), 5);
}

TEST(InputPositions, AForgottenPartitionStartsAfresh) {
  input_positions p;
  p.expect("retail.badge", 0, 10);
  p.forget("retail.badge", 0);
  EXPECT_FALSE(p.read("retail.badge", 0, 900));  // no stored position: where it starts is not a loss
  EXPECT_FALSE(p.read("retail.badge", 0, 901));
}

}  // namespace
}  // namespace sentrail::worker
