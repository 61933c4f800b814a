// Correlation rules: every type's shape checked at load with file:line:col,
// references resolved across files, cycles refused, options typed, aliases and
// the Sigma `generate` rule.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "rules/loader.h"
#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::dump;

constexpr std::int64_t s = 1'000'000'000;

// Two detection rules, lines 1-8, that correlations below refer to.
const std::string bases =
    "title: failed login\n"                                     // 1
    "id: base-fail\n"                                           // 2
    "name: failed_login\n"                                      // 3
    "logsource: {product: retail, service: web}\n"              // 4
    "detection: {s: {event.outcome: failure}, condition: s}\n"  // 5
    "---\n"                                                     // 6
    "title: refund\nid: base-refund\n"                          // 7, 8
    "logsource: {product: retail, service: pos}\n"              // 9
    "detection: {s: {event.action: refund}, condition: s}\n"    // 10
    "---\n";                                                    // 11

/// Loads `bases` and then `correlation` (starting at line 12) from c.yml.
load_result with_bases(const std::string& correlation) {
  return parse_rules(bases + correlation, "c.yml");
}

/// The diagnostics of loading `correlation` after the bases, one per line.
std::string errors_of(const std::string& correlation) {
  auto r = with_bases(correlation);
  EXPECT_TRUE(r.rules.correlations().empty()) << "the correlation should be refused";
  return dump(r);
}

TEST(correlation, parses_an_event_count_into_typed_members) {
  auto r = with_bases(
      "title: many failed logins\n"
      "id: corr-1\n"
      "loss_exposure: {low: 0, high: 300, currency: GBP}\n"
      "correlation:\n"
      "  type: event_count\n"
      "  rules: [failed_login]\n"
      "  group-by: [source.ip]\n"
      "  timespan: 10m\n"
      "  condition: {gte: 10, lt: 100}\n"
      "  suppress: 1h\n");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  ASSERT_EQ(r.rules.correlations().size(), 1u);
  const correlation_rule& c = r.rules.correlations()[0];
  EXPECT_EQ(c.type, "event_count");
  EXPECT_EQ(c.timespan_ns, 600 * s);
  EXPECT_EQ(c.threshold.gte, 10);
  EXPECT_EQ(c.threshold.lt, 100);
  EXPECT_FALSE(c.threshold.gt.has_value());
  EXPECT_FALSE(c.field.has_value());
  EXPECT_EQ(c.suppress, "1h");
  EXPECT_EQ(c.suppress_ns, 3600 * s);
  ASSERT_TRUE(c.loss_exposure.has_value());
  EXPECT_EQ(c.loss_exposure->currency, "GBP");
  EXPECT_EQ(c.line, 12);
  EXPECT_EQ(r.rules.find_correlation("corr-1"), &c);
}

TEST(correlation, condition_spec_requires_every_comparison_given) {
  condition_spec none;
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.matches(-1e9));
  condition_spec range;
  range.gte = 10;
  range.lt = 100;
  EXPECT_FALSE(range.empty());
  EXPECT_FALSE(range.matches(9.99));
  EXPECT_TRUE(range.matches(10));
  EXPECT_TRUE(range.matches(99));
  EXPECT_FALSE(range.matches(100));
  condition_spec others;
  others.gt = 1;
  others.lte = 3;
  EXPECT_FALSE(others.matches(1));
  EXPECT_TRUE(others.matches(3));
  condition_spec eq, neq;
  eq.eq = 2;
  neq.neq = 2;
  EXPECT_TRUE(eq.matches(2));
  EXPECT_FALSE(eq.matches(3));
  EXPECT_FALSE(neq.matches(2));
  EXPECT_TRUE(neq.matches(3));
}

TEST(correlation, takes_the_field_of_value_types_from_the_condition) {
  auto r = with_bases(
      "title: many cards\n"
      "correlation:\n"
      "  type: value_percentile\n"
      "  rules: [base-refund]\n"
      "  group-by: [retail.store.id]\n"
      "  timespan: 1d\n"
      "  percentile: 95\n"
      "  condition: {field: retail.amount, gt: 400}\n");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  const correlation_rule& c = r.rules.correlations().at(0);
  EXPECT_EQ(c.field, "retail.amount");
  EXPECT_EQ(c.percentile, 95);
  EXPECT_EQ(c.threshold.gt, 400);
  EXPECT_EQ(c.condition.size(), 2u);
}

TEST(correlation, accepts_first_seen_and_geo_velocity_without_a_timespan) {
  auto r = with_bases(
      "title: new device\n"
      "correlation:\n"
      "  type: first_seen\n"
      "  rules: [failed_login]\n"
      "  group-by: [user.name]\n"
      "  field: user_agent.original\n"
      "  min_history: 7d\n"
      "---\n"
      "title: impossible travel\n"
      "correlation:\n"
      "  type: geo_velocity\n"
      "  rules: [failed_login]\n"
      "  group-by: [user.name]\n"
      "  max_kmh: 900\n"
      "  lat_field: geo.lat\n"
      "  lon_field: geo.lon\n");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  ASSERT_EQ(r.rules.correlations().size(), 2u);
  const auto& first = r.rules.correlations()[0];
  EXPECT_EQ(first.field, "user_agent.original");
  EXPECT_FALSE(first.timespan_ns.has_value());
  EXPECT_EQ(first.options, (std::vector<std::pair<std::string, std::string>>{
                               {"field", "user_agent.original"}, {"min_history", "7d"}}));
  const auto& geo = r.rules.correlations()[1];
  EXPECT_EQ(geo.max_kmh, 900);
  EXPECT_EQ(geo.lat_field, "geo.lat");
  EXPECT_EQ(geo.lon_field, "geo.lon");
}

TEST(correlation, parses_every_extension_key_into_its_typed_member) {
  auto r = with_bases(
      "title: extensions\n"
      "correlation:\n"
      "  type: risk\n"
      "  rules: [failed_login, base-refund]\n"
      "  group-by: [user.name]\n"
      "  timespan: 1d\n"
      "  condition: {gte: 100}\n"
      "  direction: before\n"
      "  lookback: 2h\n"
      "  max_values: 50\n"
      "  min_count: 3\n"
      "  baseline_buckets: 24\n"
      "  factor: 2.5\n"
      "  min_denominator: 10\n"
      "  location_table: stores\n"
      "  location_key: retail.store.id\n"
      "  scores: {failed_login: 10, base-refund: 25.5}\n");
  // Each is parsed on any type; max_values is the one said to do nothing here.
  ASSERT_EQ(dump(r), "c.yml:21:15: warning: 'max_values' has no effect on risk (it bounds first_seen's "
                     "remembered values)\n");
  const correlation_rule& c = r.rules.correlations().at(0);
  EXPECT_EQ(c.direction, "before");
  EXPECT_EQ(c.lookback_ns, 7200 * s);
  EXPECT_EQ(c.max_values, 50);
  EXPECT_EQ(c.min_count, 3);
  EXPECT_EQ(c.baseline_buckets, 24);
  EXPECT_EQ(c.factor, 2.5);
  EXPECT_EQ(c.min_denominator, 10);
  EXPECT_EQ(c.location_table, "stores");
  EXPECT_EQ(c.location_key, "retail.store.id");
  EXPECT_EQ(c.scores, (std::vector<std::pair<std::string, double>>{{"failed_login", 10},
                                                                   {"base-refund", 25.5}}));
}

TEST(correlation, refuses_an_unknown_type_naming_it) {
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: event_cuont\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  timespan: 1m\n"),
            "c.yml:14:9: error: unknown correlation type 'event_cuont' (expected event_count, "
            "value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile, "
            "absence, first_seen, geo_velocity, rate_anomaly, risk or ratio)\n");
}

TEST(correlation, warns_of_a_count_condition_past_the_windows_cap_and_still_loads) {
  auto r = with_bases("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  timespan: 1d\n  condition: {gt: 10000}\n");
  EXPECT_EQ(dump(r), "c.yml:18:14: warning: this condition never holds: a group's window counts 1 to 10000 "
                     "matches (the newest are kept)\n");
  EXPECT_EQ(r.rules.correlations().size(), 1u);
  // At the cap, or a distinct count within reach: no warning.
  EXPECT_EQ(dump(with_bases("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
                            "  group-by: [a]\n  timespan: 1d\n  condition: {gte: 10000}\n")),
            "");
  EXPECT_EQ(dump(with_bases("title: x\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n"
                            "  group-by: [a]\n  timespan: 1d\n  condition: {field: user.name, gt: 5, lt: 7}\n")),
            "");
  EXPECT_NE(dump(with_bases("title: x\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n"
                            "  group-by: [a]\n  timespan: 1d\n  condition: {field: user.name, gt: 5, lt: 6}\n")),
            "");
  // A sum is not a count: any threshold may be reached.
  EXPECT_EQ(dump(with_bases("title: x\ncorrelation:\n  type: value_sum\n  rules: [failed_login]\n"
                            "  group-by: [a]\n  timespan: 1d\n  condition: {field: amount, gt: 1000000}\n")),
            "");
}

TEST(correlation, reports_missing_rules_at_the_correlation) {
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: event_count\n  group-by: [a]\n"
                      "  timespan: 1m\n  condition: {gte: 2}\n"),
            "c.yml:14:3: error: correlation has no 'rules'\n");
}

TEST(correlation, refuses_unknown_keys_but_not_the_extensions) {
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  timespan: 1m\n  condition: {gte: 2}\n  windw: 5m\n"),
            "c.yml:19:3: error: unknown correlation key 'windw'\n");
}

TEST(correlation, requires_group_by_as_a_list) {
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: temporal\n  rules: [failed_login, "
                      "base-refund]\n  timespan: 1m\n"),
            "c.yml:14:3: error: correlation has no 'group-by'\n");
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: temporal\n  rules: [failed_login, "
                      "base-refund]\n  group-by: {a: b}\n  timespan: 1m\n"),
            "c.yml:16:13: error: 'group-by' must be a list of field names\n");
}

TEST(correlation, requires_a_valid_timespan_for_windowed_types) {
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  condition: {gte: 2}\n"),
            "c.yml:14:3: error: correlation type 'event_count' needs a 'timespan'\n");
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  condition: {gte: 2}\n  timespan: 5 minutes\n"),
            "c.yml:18:13: error: invalid timespan '5 minutes' (expected a timespan such as "
            "500ms, 30s, 5m, 1h, 2d or 1w)\n");
}

TEST(correlation, requires_a_condition_with_one_or_two_comparisons_for_threshold_types) {
  for (const char* type : {"event_count", "value_count", "value_sum", "value_avg",
                           "value_percentile", "risk", "ratio"}) {
    std::string rules =
        std::string(type) == "ratio" ? "[failed_login, base-refund]" : "[failed_login]";
    std::string out =
        errors_of(std::string("title: x\ncorrelation:\n  type: ") + type + "\n  rules: " + rules +
                  "\n  group-by: [a]\n  timespan: 1m\n" + "  field: f\n");
    EXPECT_EQ(out, std::string("c.yml:14:3: error: correlation type '") + type +
                       "' needs a 'condition' such as {gte: 10}\n");
  }
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  timespan: 1m\n  condition: {gt: 1, lt: 9, neq: 5}\n"),
            "c.yml:18:14: error: a correlation condition takes at most two comparisons\n");
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  timespan: 1m\n  condition: {gte: ten}\n"),
            "c.yml:18:20: error: 'condition.gte' must be a number\n");
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  timespan: 1m\n  condition: {over: 3}\n"),
            "c.yml:18:15: error: unknown condition key 'over' (expected gt, gte, lt, lte, eq, neq "
            "or field)\n"
            "c.yml:18:14: error: correlation condition needs one or two of gt, gte, lt, lte, eq, "
            "neq\n");
}

TEST(correlation, requires_a_field_for_value_types_and_first_seen) {
  for (const char* type : {"value_count", "value_sum", "value_avg", "value_percentile"}) {
    EXPECT_EQ(errors_of(std::string("title: x\ncorrelation:\n  type: ") + type +
                        "\n  rules: [failed_login]\n  group-by: [a]\n  timespan: 1m\n"
                        "  condition: {gte: 2}\n"),
              std::string("c.yml:18:14: error: correlation type '") + type +
                  "' needs a 'field' in its condition\n");
  }
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: first_seen\n  rules: [failed_login]\n"
                      "  group-by: [a]\n"),
            "c.yml:14:3: error: correlation type 'first_seen' needs a 'field' in its condition\n");
}

TEST(correlation, checks_how_many_rules_each_type_takes) {
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: absence\n  rules: [failed_login]\n"
                      "  group-by: [a]\n  timespan: 1m\n"),
            "c.yml:15:10: error: 'absence' correlations need exactly 2 rules, got 1\n");
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: ratio\n  rules: [failed_login, "
                      "base-refund, base-fail]\n  group-by: [a]\n  timespan: 1m\n"
                      "  condition: {gt: 0.5}\n"),
            "c.yml:15:10: error: 'ratio' correlations need exactly 2 rules, got 3\n");
  for (const char* type : {"temporal", "temporal_ordered"})
    EXPECT_EQ(errors_of(std::string("title: x\ncorrelation:\n  type: ") + type +
                        "\n  rules: [failed_login]\n  group-by: [a]\n  timespan: 1m\n"),
              std::string("c.yml:15:10: error: '") + type +
                  "' correlations need at least 2 rules, got 1\n");
}

TEST(correlation, warns_of_a_first_seen_max_values_past_the_cap) {
  const std::string head = "title: x\ncorrelation:\n  type: first_seen\n  rules: [failed_login]\n"
                           "  group-by: [a]\n  field: source.ip\n";  // lines 12-17
  EXPECT_EQ(dump(with_bases(head + "  max_values: 10000\n")), "");
  auto r = with_bases(head + "  max_values: 50000\n");
  EXPECT_EQ(dump(r), "c.yml:18:15: warning: first_seen remembers at most 10000 values per group; "
                     "'max_values' above that has no effect\n");
  EXPECT_EQ(r.rules.correlations().size(), 1u);
}

TEST(correlation, refuses_bad_extension_values) {
  const std::string head =
      "title: x\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_login, base-refund]\n"
      "  group-by: [a]\n  timespan: 1m\n";  // lines 12-17
  EXPECT_EQ(errors_of(head + "  direction: sideways\n"),
            "c.yml:18:14: error: 'direction' must be after, before or either\n");
  EXPECT_EQ(errors_of(head + "  percentile: 101\n"),
            "c.yml:18:15: error: 'percentile' must be between 0 and 100\n");
  EXPECT_EQ(errors_of(head + "  max_values: 0\n"),
            "c.yml:18:15: error: 'max_values' must be a whole number of at least 1\n");
  EXPECT_EQ(errors_of(head + "  lookback: later\n"),
            "c.yml:18:13: error: invalid lookback 'later' (expected a timespan such as 500ms, "
            "30s, 5m, 1h, 2d or 1w)\n");
  EXPECT_EQ(errors_of(head + "  scores: {failed_login: lots}\n"),
            "c.yml:18:26: error: 'scores.failed_login' must be a number\n");
  EXPECT_EQ(errors_of(head + "  max_kmh: fast\n"),
            "c.yml:18:12: error: 'max_kmh' must be a number\n");
}

TEST(correlation, names_a_reference_that_resolves_to_no_rule_at_the_reference) {
  EXPECT_EQ(errors_of("title: x\ncorrelation:\n  type: temporal\n"
                      "  rules: [failed_login, faild_login]\n  group-by: [a]\n  timespan: 1m\n"),
            "c.yml:15:25: error: correlation refers to 'faild_login', which no loaded rule has "
            "as id or name\n");
}

TEST(correlation, resolves_references_to_correlations_by_id_or_name) {
  auto r = with_bases(
      "title: outer\nid: outer\n"
      "correlation: {type: event_count, rules: [inner_name], group-by: [a], timespan: 1h, "
      "condition: {gte: 2}}\n"
      "---\n"
      "title: inner\nid: inner\nname: inner_name\n"
      "correlation: {type: event_count, rules: [base-fail], group-by: [a], timespan: 1m, "
      "condition: {gte: 5}}\n");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  ASSERT_EQ(r.rules.correlations().size(), 2u);
  EXPECT_TRUE(r.rules.referenced_by_correlation("inner"));
  EXPECT_TRUE(r.rules.referenced_by_correlation("inner_name"));
  EXPECT_FALSE(r.rules.referenced_by_correlation("outer"));
}

TEST(correlation, refuses_correlations_that_reference_each_other_in_a_cycle) {
  auto r = with_bases(
      "title: a\nid: a\n"  // 12
      "correlation: {type: event_count, rules: [b], group-by: [x], timespan: 1m, "
      "condition: {gte: 2}}\n"
      "---\n"
      "title: b\nid: b\n"  // 16
      "correlation: {type: event_count, rules: [a], group-by: [x], timespan: 1m, "
      "condition: {gte: 2}}\n"
      "---\n"
      "title: c\nid: c\n"  // 20
      "correlation: {type: event_count, rules: [b], group-by: [x], timespan: 1m, "
      "condition: {gte: 2}}\n"
      "---\n"
      "title: self\nid: self\n"  // 24
      "correlation: {type: event_count, rules: [self], group-by: [x], timespan: 1m, "
      "condition: {gte: 2}}\n");
  EXPECT_TRUE(r.rules.correlations().empty());
  EXPECT_EQ(dump(r),
            "c.yml:12:1: error: correlation rules reference each other in a cycle: a -> b -> a\n"
            "c.yml:24:1: error: correlation rules reference each other in a cycle: self -> self\n"
            "c.yml:22:42: error: correlation refers to 'b', which was refused\n");
}

TEST(correlation, field_for_reads_aliases_by_rule_id_or_name) {
  auto r = with_bases(
      "title: fail then refund\n"
      "correlation:\n"
      "  type: temporal\n"
      "  rules: [failed_login, base-refund]\n"
      "  group-by: [who]\n"
      "  timespan: 1h\n"
      "  aliases:\n"
      "    who: {failed_login: user.name, base-refund: retail.employee.id}\n");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  const correlation_rule& c = r.rules.correlations().at(0);
  EXPECT_EQ(c.field_for("who", "failed_login"), "user.name");
  EXPECT_EQ(c.field_for("who", "base-fail"), "user.name");  // the same rule by id
  EXPECT_EQ(c.field_for("who", "base-refund"), "retail.employee.id");
  EXPECT_EQ(c.field_for("source.ip", "failed_login"), "source.ip");
  EXPECT_EQ(c.field_for("who", "unrelated"), "who");
}

TEST(correlation, referenced_rules_raise_alerts_only_when_a_correlation_generates) {
  auto r = with_bases(
      "title: quiet\nid: quiet\n"
      "correlation: {type: event_count, rules: [failed_login], group-by: [x], timespan: 1m, "
      "condition: {gte: 2}}\n"
      "---\n"
      "title: loud\nid: loud\n"
      "correlation: {type: event_count, rules: [quiet], group-by: [x], timespan: 1m, "
      "condition: {gte: 2}, generate: true}\n");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  const detection_rule& fail = *r.rules.find("base-fail");
  const detection_rule& refund = *r.rules.find("base-refund");
  EXPECT_TRUE(r.rules.referenced_by_correlation("base-fail"));
  EXPECT_TRUE(r.rules.referenced_by_correlation("failed_login"));
  EXPECT_FALSE(r.rules.referenced_by_correlation("base-refund"));
  EXPECT_FALSE(r.rules.generates_alerts(fail));
  EXPECT_TRUE(r.rules.generates_alerts(refund));
  EXPECT_TRUE(r.rules.generates_alerts(*r.rules.find_correlation("quiet")));  // loud generates
  EXPECT_TRUE(r.rules.generates_alerts(*r.rules.find_correlation("loud")));
}

class correlation_files : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sentrail-corr-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(correlation_files, resolve_references_to_rules_in_later_files) {
  std::ofstream(dir_ / "a_corr.yml")
      << "title: c\ncorrelation: {type: event_count, rules: [late], group-by: [x], timespan: 1m, "
         "condition: {gte: 2}}\n";
  std::ofstream(dir_ / "b_base.yml") << "title: late\nname: late\nlogsource: {product: retail}\n"
                                        "detection: {s: {f: x}, condition: s}\n";
  auto r = load_rules(dir_);
  EXPECT_TRUE(r.diagnostics.empty()) << dump(r);
  EXPECT_EQ(r.rules.correlations().size(), 1u);
}

}  // namespace
}  // namespace sentrail::rules
