// Sigma modifiers added for completeness: neq, expand with placeholders, and
// the time modifiers (minute, hour, day, week, month, year).

#include <gtest/gtest.h>

#include "common/time.h"
#include "rules/detail/compiled.h"
#include "rules/loader.h"
#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::dump;
using testing::event_builder;
using testing::only_rule;
using testing::rule_with;

timestamp_ns at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

TEST(neq, matches_a_present_field_that_differs_from_every_value) {
  const auto r = rule_with("  s: {event.action|neq: [sale, refund]}\n  condition: s\n");
  const detection_rule& rule = only_rule(r);
  EXPECT_TRUE(rule.matches(event_builder{}.str("event.action", "void").e));
  EXPECT_FALSE(rule.matches(event_builder{}.str("event.action", "SALE").e));
  EXPECT_FALSE(rule.matches(event_builder{}.str("event.action", "refund").e));
  EXPECT_FALSE(rule.matches(event_builder{}.str("other", "x").e)) << "absent is not different";
}

TEST(neq, compares_numbers_numerically_and_combines_with_fieldref) {
  const auto num = rule_with("  s: {http.response.status_code|neq: 200}\n  condition: s\n");
  EXPECT_TRUE(
      only_rule(num).matches(event_builder{}.num("http.response.status_code", "404", 404).e));
  EXPECT_FALSE(
      only_rule(num).matches(event_builder{}.num("http.response.status_code", "200.0", 200).e));
  const auto ref = rule_with("  s: {user.name|fieldref|neq: retail.employee.id}\n  condition: s\n");
  EXPECT_TRUE(only_rule(ref).matches(
      event_builder{}.str("user.name", "ann").str("retail.employee.id", "bob").e));
  EXPECT_FALSE(only_rule(ref).matches(
      event_builder{}.str("user.name", "ann").str("retail.employee.id", "ANN").e));
}

TEST(neq, is_refused_on_keywords_and_with_all) {
  auto kw = rule_with("  s: {'|neq': x}\n  condition: s\n");
  ASSERT_EQ(kw.diagnostics.size(), 1u) << dump(kw);
  EXPECT_EQ(kw.diagnostics[0].to_string(),
            "test.yml:6:7: error: 'neq' and time modifiers need a field name");
  auto all = rule_with("  s: {f|neq|all: [a, b]}\n  condition: s\n");
  ASSERT_EQ(all.diagnostics.size(), 1u) << dump(all);
  EXPECT_EQ(all.diagnostics[0].to_string(),
            "test.yml:6:7: error: 'neq' cannot be combined with 'all'");
}

TEST(expand, fills_placeholders_from_the_load_options) {
  load_options opts;
  opts.placeholders["admins"] = {"root", "Administrator"};
  opts.placeholders["domain"] = {"shop", "corp"};
  auto r = parse_rules(
      "title: t\nlogsource: {product: retail}\n"
      "detection:\n"
      "  s: {user.name|expand: '%domain%\\%admins%'}\n"
      "  t: {url.path|expand|startswith: '/%domain%/'}\n"
      "  condition: s and t\n",
      "x.yml", opts);
  const detection_rule& rule = only_rule(r);
  EXPECT_TRUE(rule.matches(
      event_builder{}.str("user.name", "corp\\administrator").str("url.path", "/shop/x").e));
  EXPECT_TRUE(
      rule.matches(event_builder{}.str("user.name", "shop\\root").str("url.path", "/corp/").e));
  EXPECT_FALSE(
      rule.matches(event_builder{}.str("user.name", "shop\\ann").str("url.path", "/shop/").e));
  EXPECT_FALSE(
      rule.matches(event_builder{}.str("user.name", "shop\\root").str("url.path", "/x/shop/").e));
}

TEST(expand, treats_a_lone_percent_sign_as_text) {
  load_options opts;
  opts.placeholders["p"] = {"x"};
  auto r = parse_rules(
      "title: t\nlogsource: {product: retail}\n"
      "detection: {s: {f|expand: '100% %p%'}, condition: s}\n",
      "x.yml", opts);
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].message,
            "unknown placeholder '% %' (give its values in the placeholders)");
  auto ok = parse_rules(
      "title: t\nlogsource: {product: retail}\n"
      "detection: {s: {f|expand: '%p% 100%'}, condition: s}\n",
      "x.yml", opts);
  EXPECT_TRUE(only_rule(ok).matches(event_builder{}.str("f", "x 100%").e));
}

TEST(time_modifiers, read_the_event_time_for_at_timestamp) {
  const auto r = rule_with("  s: {'@timestamp|hour': [0, 1, 2, 3, 4]}\n  condition: s\n");
  const detection_rule& rule = only_rule(r);
  event_builder night, day, none;
  night.e.time = at("2026-11-23T03:59:59Z");
  day.e.time = at("2026-11-23T05:00:00Z");
  EXPECT_TRUE(rule.matches(night.e));
  EXPECT_FALSE(rule.matches(day.e));
  EXPECT_FALSE(rule.matches(none.e)) << "no time, no match";
}

TEST(time_modifiers, read_an_rfc3339_field_and_compare_with_gt_gte_lt_lte_and_neq) {
  const auto r = rule_with(
      "  s: {shift.start|hour|gte: 22, shift.start|month: 11, shift.start|day|neq: 24}\n"
      "  condition: s\n");
  const detection_rule& rule = only_rule(r);
  EXPECT_TRUE(rule.matches(event_builder{}.str("shift.start", "2026-11-23T22:30:00Z").e));
  EXPECT_TRUE(rule.matches(event_builder{}.str("shift.start", "2026-11-23T23:30:00+00:00").e));
  EXPECT_FALSE(rule.matches(event_builder{}.str("shift.start", "2026-11-23T21:59:00Z").e));
  EXPECT_FALSE(rule.matches(event_builder{}.str("shift.start", "2026-11-24T22:30:00Z").e));
  EXPECT_FALSE(rule.matches(event_builder{}.str("shift.start", "2026-12-23T22:30:00Z").e));
  EXPECT_FALSE(rule.matches(event_builder{}.str("shift.start", "late evening").e));
}

TEST(time_modifiers, extract_minute_day_week_month_and_year_in_utc) {
  using detail::time_part;
  using detail::time_part_of;
  const timestamp_ns t = at("2026-11-23T10:07:09+02:00");  // 08:07:09 UTC, a Monday
  EXPECT_EQ(time_part_of(t, time_part::minute), 7);
  EXPECT_EQ(time_part_of(t, time_part::hour), 8);
  EXPECT_EQ(time_part_of(t, time_part::day), 23);
  EXPECT_EQ(time_part_of(t, time_part::week), 48);
  EXPECT_EQ(time_part_of(t, time_part::month), 11);
  EXPECT_EQ(time_part_of(t, time_part::year), 2026);
  // ISO weeks across year ends.
  EXPECT_EQ(time_part_of(at("2021-01-01T00:00:00Z"), time_part::week), 53);
  EXPECT_EQ(time_part_of(at("2024-12-30T00:00:00Z"), time_part::week), 1);
  EXPECT_EQ(time_part_of(at("2026-12-31T23:59:59Z"), time_part::week), 53);
  EXPECT_EQ(time_part_of(at("2027-01-04T00:00:00Z"), time_part::week), 1);
  EXPECT_EQ(time_part_of(at("1969-12-31T23:00:00Z"), time_part::day), 31);
}

TEST(time_modifiers, refuse_non_numbers_and_string_modifiers) {
  auto word = rule_with("  s: {'@timestamp|hour': night}\n  condition: s\n");
  ASSERT_EQ(word.diagnostics.size(), 1u) << dump(word);
  EXPECT_EQ(word.diagnostics[0].to_string(),
            "test.yml:6:26: error: time modifiers need a number, got 'night'");
  auto contains = rule_with("  s: {'@timestamp|hour|contains': 1}\n  condition: s\n");
  ASSERT_EQ(contains.diagnostics.size(), 1u) << dump(contains);
  EXPECT_EQ(contains.diagnostics[0].to_string(),
            "test.yml:6:7: error: time modifiers compare numbers: only gt, gte, lt, lte and neq "
            "may follow");
}

}  // namespace
}  // namespace sentrail::rules
