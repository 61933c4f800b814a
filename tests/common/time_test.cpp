#include "common/time.h"

#include <gtest/gtest.h>

using namespace sentrail;

TEST(time, parses_rfc3339_with_zulu_and_fraction) {
  auto t = parse_rfc3339("2026-11-23T02:12:37.250Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, *parse_rfc3339("2026-11-23T02:12:37Z") + 250'000'000);
  EXPECT_EQ(format_rfc3339(*t), "2026-11-23T02:12:37.250Z");
}

TEST(time, applies_numeric_offsets) {
  EXPECT_EQ(*parse_rfc3339("2026-01-01T01:00:00+01:00"), *parse_rfc3339("2026-01-01T00:00:00Z"));
  EXPECT_EQ(*parse_rfc3339("2025-12-31T19:00:00-0500"), *parse_rfc3339("2026-01-01T00:00:00Z"));
}

TEST(time, knows_the_epoch) {
  EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_rfc3339("2000-03-01T00:00:00Z"), 951868800LL * ns_per_second);
}

TEST(time, refuses_timestamps_that_are_not_dates) {
  EXPECT_FALSE(parse_rfc3339("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-23T25:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-23T02:12:37"));  // no zone
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  EXPECT_FALSE(parse_event_time(""));
  EXPECT_FALSE(parse_event_time("12ab"));
}

TEST(time, parses_common_log_format) {
  auto t = parse_clf_time("17/May/2015:10:05:03 +0000");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_rfc3339(*t), "2015-05-17T10:05:03.000Z");
  EXPECT_EQ(*parse_clf_time("17/May/2015:12:05:03 +0200"), *t);
  EXPECT_FALSE(parse_clf_time("17/Foo/2015:10:05:03 +0000"));
}

TEST(time, tells_epoch_units_apart_by_magnitude) {
  auto expected = *parse_rfc3339("2026-11-23T00:00:00Z");
  EXPECT_EQ(*parse_event_time("1795392000"), expected);
  EXPECT_EQ(*parse_event_time("1795392000000"), expected);
  EXPECT_EQ(*parse_event_time("1795392000.5"), expected + ns_per_second / 2);
}
