// `tests:` carried in rule documents: expanded into raw channel events and
// expected alerts, with file:line errors for malformed cases.

#include <gtest/gtest.h>

#include "rules/loader.h"
#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::dump;

const char* const base =
    "title: refunds\n"                                  // 1
    "id: refunds-1\n"                                   // 2
    "logsource: {product: retail, service: pos}\n"      // 3
    "detection: {s: {event: refund}, condition: s}\n";  // 4

TEST(embedded_tests, expand_repeat_every_and_index_into_raw_json_events) {
  auto r = parse_rules(std::string(base) +
                           "tests:\n"  // 5
                           "  - name: ten refunds in one shift raise one alert\n"
                           "    events:\n"
                           "      - channel: pos\n"
                           "        repeat: 3\n"
                           "        every: 5m\n"
                           "        event: {ts: \"2026-11-23T10:00:00Z\", employee_id: \"E{i}\", "
                           "event: refund, amount: 50, ok: true, note: null, tags: [a, \"{i}\"], "
                           "nested: {x: 1.5, q: 'say \"hi\"'}, code: '007'}\n"
                           "    expect:\n"
                           "      - group: {retail.employee.id: E1}\n"
                           "        count: 2\n"
                           "      - {}\n",
                       "t.yml");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  const auto& tests = r.rules.detections().at(0)->info().tests;
  ASSERT_EQ(tests.size(), 1u);
  const rule_test& t = tests[0];
  EXPECT_EQ(t.name, "ten refunds in one shift raise one alert");
  EXPECT_EQ(t.file, "t.yml");
  EXPECT_EQ(t.line, 6);
  ASSERT_EQ(t.events.size(), 3u);
  EXPECT_EQ(t.events[0].channel, "pos");
  EXPECT_EQ(t.events[0].json,
            "{\"ts\":\"2026-11-23T10:00:00.000Z\",\"employee_id\":\"E0\",\"event\":\"refund\","
            "\"amount\":50,\"ok\":true,\"note\":null,\"tags\":[\"a\",\"0\"],"
            "\"nested\":{\"x\":1.5,\"q\":\"say \\\"hi\\\"\"},\"code\":\"007\"}");
  EXPECT_NE(t.events[2].json.find("\"ts\":\"2026-11-23T10:10:00.000Z\",\"employee_id\":\"E2\""),
            std::string::npos)
      << t.events[2].json;
  ASSERT_EQ(t.expect.size(), 2u);
  EXPECT_EQ(t.expect[0].group,
            (std::vector<std::pair<std::string, std::string>>{{"retail.employee.id", "E1"}}));
  EXPECT_EQ(t.expect[0].count, 2);
  EXPECT_TRUE(t.expect[1].group.empty());
  EXPECT_EQ(t.expect[1].count, 1);
}

TEST(embedded_tests, keep_events_in_order_and_an_empty_expect_means_no_alert) {
  auto r = parse_rules(std::string(base) +
                           "tests:\n"
                           "  - name: a sale is not a refund\n"
                           "    events:\n"
                           "      - {channel: pos, event: {event: sale}}\n"
                           "      - {channel: web, event: {path: \"/a\\tb\"}}\n"
                           "    expect: []\n",
                       "t.yml");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  const rule_test& t = r.rules.detections().at(0)->info().tests.at(0);
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[0].json, "{\"event\":\"sale\"}");
  EXPECT_EQ(t.events[1].channel, "web");
  EXPECT_EQ(t.events[1].json, "{\"path\":\"/a\\tb\"}");
  EXPECT_TRUE(t.expect.empty());
}

TEST(embedded_tests, are_carried_by_correlation_rules_too) {
  auto r = parse_rules(std::string(base) +
                           "---\n"
                           "title: many refunds\n"
                           "correlation: {type: event_count, rules: [refunds-1], group-by: [e], "
                           "timespan: 1h, condition: {gte: 2}}\n"
                           "tests:\n"
                           "  - name: two refunds\n"
                           "    events: [{channel: pos, repeat: 2, event: {event: refund}}]\n"
                           "    expect: [{count: 1}]\n",
                       "t.yml");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  const auto& tests = r.rules.correlations().at(0).tests;
  ASSERT_EQ(tests.size(), 1u);
  EXPECT_EQ(tests[0].events.size(), 2u);
  EXPECT_EQ(tests[0].line, 9);
}

std::string errors_of(const std::string& tests) {
  auto r = parse_rules(std::string(base) + "tests:\n" + tests, "t.yml");
  EXPECT_TRUE(r.rules.detections().empty()) << "a rule with a broken test should be refused";
  return dump(r);
}

TEST(embedded_tests, report_malformed_cases_with_file_and_line) {
  EXPECT_EQ(errors_of("  - events: [{channel: pos, event: {a: 1}}]\n    expect: []\n"),
            "t.yml:6:5: error: test case has no 'name'\n");
  EXPECT_EQ(errors_of("  - name: n\n    events: [{channel: pos, event: {a: 1}}]\n"),
            "t.yml:6:5: error: test 'n' has no 'expect' (write [] to expect no alert)\n");
  EXPECT_EQ(errors_of("  - name: n\n    expect: []\n"),
            "t.yml:6:5: error: test 'n' needs a list of 'events'\n");
  EXPECT_EQ(errors_of("  - name: n\n    events: [{event: {a: 1}}]\n    expect: []\n"),
            "t.yml:7:14: error: test event has no 'channel'\n");
  EXPECT_EQ(errors_of("  - name: n\n    events: [{channel: pos}]\n    expect: []\n"),
            "t.yml:7:14: error: test event needs an 'event' mapping\n");
  EXPECT_EQ(errors_of("  - name: n\n    events: [{channel: pos, repeat: 0, event: {a: 1}}]\n"
                      "    expect: []\n"),
            "t.yml:7:37: error: 'repeat' must be a whole number of at least 1\n");
  EXPECT_EQ(errors_of("  - name: n\n    events: [{channel: pos, every: 5m, event: {a: 1}}]\n"
                      "    expect: []\n"),
            "t.yml:7:36: error: 'every' needs the event's 'ts' as an RFC 3339 time\n");
  EXPECT_EQ(errors_of("  - name: n\n    events: [{channel: pos, event: {a: 1}}]\n"
                      "    expect: [{count: many}]\n"),
            "t.yml:8:22: error: 'count' must be a whole number of at least 0\n");
  EXPECT_EQ(errors_of("  - name: n\n    events: [{channel: pos, event: {a: 1}}]\n"
                      "    expect: [{grup: {a: b}}]\n"),
            "t.yml:8:15: error: unknown expect key 'grup' (expected group, count)\n");
  EXPECT_EQ(errors_of("  - name: n\n    event: [{channel: pos, event: {a: 1}}]\n    expect: []\n"),
            "t.yml:7:5: error: unknown test key 'event' (expected name, events, expect)\n"
            "t.yml:6:5: error: test 'n' needs a list of 'events'\n");
  EXPECT_EQ(errors_of("  name: n\n"), "t.yml:6:3: error: 'tests' must be a list of test cases\n");
}

}  // namespace
}  // namespace sentrail::rules
