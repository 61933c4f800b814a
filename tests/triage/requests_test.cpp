#include "triage/requests.h"

#include <gtest/gtest.h>

using namespace sentrail::triage;

TEST(requests, statuses_may_repeat_or_be_comma_separated) {
  auto f = parse_alert_query({{"status", "new,acknowledged"}, {"status", "closed"}});
  ASSERT_TRUE(f) << f.why().message;
  EXPECT_EQ(f->statuses, (std::vector<std::string>{"new", "acknowledged", "closed"}));
  auto bad = parse_alert_query({{"status", "new,open"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.why().why, refusal::bad_input);
  EXPECT_NE(bad.why().message.find("'open'"), std::string::npos);
}

TEST(requests, times_are_rfc3339_or_epoch_milliseconds) {
  auto f = parse_alert_query({{"from", "2026-11-23T02:00:00Z"}, {"to", "1795400000000"}});
  ASSERT_TRUE(f) << f.why().message;
  EXPECT_EQ(f->from, *sentrail::parse_rfc3339("2026-11-23T02:00:00Z"));
  EXPECT_EQ(f->to, 1795400000000LL * 1'000'000);
  auto bad = parse_alert_query({{"from", "yesterday"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.why().message.find("from must be"), std::string::npos);
  EXPECT_FALSE(parse_alert_query({{"from", "2026-11-23T03:00:00Z"}, {"to", "2026-11-23T02:00:00Z"}}));
}

TEST(requests, limit_must_be_from_1_to_500_and_unknown_parameters_are_refused) {
  EXPECT_EQ(parse_alert_query({{"limit", "500"}})->limit, 500u);
  EXPECT_EQ(parse_alert_query({})->limit, 50u);
  for (const char* bad : {"0", "501", "-1", "ten", "5x", ""}) EXPECT_FALSE(parse_alert_query({{"limit", bad}})) << bad;
  EXPECT_FALSE(parse_alert_query({{"sort", "time"}}));
  EXPECT_EQ(parse_alert_query({{"assignee", "none"}})->assignee, "none");
  EXPECT_FALSE(parse_alert_query({{"assignee", "bob smith"}}));
  EXPECT_FALSE(parse_alert_query({{"level", "urgent"}}));
  EXPECT_TRUE(parse_alert_query({{"level", "high"}}));
  EXPECT_FALSE(parse_incident_query({{"status", "new"}}));
  EXPECT_TRUE(parse_incident_query({{"status", "open"}}));
  EXPECT_FALSE(parse_audit_query({{"limit", "1000"}}));
}

TEST(requests, close_needs_a_known_verdict) {
  auto missing = parse_action(action_kind::close, "{}");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.why().message.find("needs a verdict"), std::string::npos);
  auto unknown = parse_action(action_kind::close, R"({"verdict":"maybe"})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.why().message.find("unknown verdict 'maybe'"), std::string::npos);
  auto ok = parse_action(action_kind::close, R"({"verdict":"benign","note":"test traffic"})");
  ASSERT_TRUE(ok) << ok.why().message;
  EXPECT_EQ(ok->verdict, "benign");
  EXPECT_EQ(ok->note, "test traffic");
}

TEST(requests, bodies_are_json_objects_with_only_the_fields_the_action_takes) {
  EXPECT_TRUE(parse_action(action_kind::acknowledge, ""));
  EXPECT_TRUE(parse_action(action_kind::acknowledge, "{}"));
  EXPECT_EQ(parse_action(action_kind::acknowledge, R"({"note":"looking"})")->note, "looking");
  auto malformed = parse_action(action_kind::acknowledge, R"({"note":)");
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.why().message.find("not valid JSON"), std::string::npos);
  EXPECT_FALSE(parse_action(action_kind::acknowledge, "[]"));
  auto extra = parse_action(action_kind::acknowledge, R"({"verdict":"benign"})");
  ASSERT_FALSE(extra);
  EXPECT_NE(extra.why().message.find("unknown field 'verdict'"), std::string::npos);
  EXPECT_FALSE(parse_action(action_kind::acknowledge, R"({"note":5})"));
  EXPECT_FALSE(parse_action(action_kind::note, "{}"));
  EXPECT_FALSE(parse_action(action_kind::note, R"({"text":""})"));
  EXPECT_EQ(parse_action(action_kind::note, R"({"text":"seen before"})")->note, "seen before");
}

TEST(requests, notes_are_limited_to_4000_characters_not_bytes) {
  std::string at_limit(4000, 'x');
  EXPECT_TRUE(parse_action(action_kind::note, R"({"text":")" + at_limit + "\"}"));
  EXPECT_FALSE(parse_action(action_kind::note, R"({"text":")" + at_limit + "x\"}"));
  std::string umlauts;
  for (int i = 0; i < 4000; ++i) umlauts += "\xC3\xBC";  // 8000 bytes, 4000 characters
  EXPECT_TRUE(parse_action(action_kind::note, R"({"text":")" + umlauts + "\"}"));
}

TEST(requests, assignees_are_short_plain_names) {
  EXPECT_EQ(parse_action(action_kind::assign, R"({"assignee":"bob.smith@soc-1"})")->assignee, "bob.smith@soc-1");
  EXPECT_FALSE(parse_action(action_kind::assign, "{}"));
  EXPECT_FALSE(parse_action(action_kind::assign, R"({"assignee":"bob smith"})"));
  EXPECT_FALSE(parse_action(action_kind::assign, R"({"assignee":"<script>"})"));
  EXPECT_FALSE(parse_action(action_kind::assign, R"({"assignee":")" + std::string(65, 'a') + "\"}"));
  EXPECT_TRUE(parse_action(action_kind::assign, R"({"assignee":")" + std::string(64, 'a') + "\"}"));
}
