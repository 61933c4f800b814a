// Rule attributes the engine reads (loss_exposure, risk_score, suppress),
// Sigma timespans, and logsource mappings from a config.

#include <gtest/gtest.h>

#include "rules/loader.h"
#include "rules/timespan.h"
#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::dump;

constexpr std::int64_t s = 1'000'000'000;

TEST(timespan, parses_every_sigma_unit_into_nanoseconds) {
  EXPECT_EQ(parse_timespan_ns("500ms"), 500'000'000);
  EXPECT_EQ(parse_timespan_ns("30s"), 30 * s);
  EXPECT_EQ(parse_timespan_ns("5m"), 300 * s);
  EXPECT_EQ(parse_timespan_ns("1h"), 3600 * s);
  EXPECT_EQ(parse_timespan_ns("2d"), 2 * 86400 * s);
  EXPECT_EQ(parse_timespan_ns("1w"), 7 * 86400 * s);
  EXPECT_EQ(parse_timespan_ns("0s"), 0);
}

TEST(timespan, gives_nothing_for_garbage) {
  for (const char* bad : {"", "5", "m", "5x", "-5m", "+5m", " 5m", "5m ", "1.5h", "5 m", "5mm",
                          "99999999999999999w", "5M"})
    EXPECT_FALSE(parse_timespan_ns(bad).has_value()) << bad;
}

const char* const base =
    "title: t\n"                                    // 1
    "id: t-1\n"                                     // 2
    "logsource: {product: retail, service: pos}\n"  // 3
    "detection: {s: {f: x}, condition: s}\n";       // 4

TEST(attributes, reads_loss_exposure_risk_score_and_suppress_of_a_detection_rule) {
  auto r = parse_rules(std::string(base) +
                           "loss_exposure: {low: 100, high: 2500.5, currency: EUR}\n"
                           "risk_score: 35.5\n"
                           "suppress: 1h\n",
                       "a.yml");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  const rule_info& i = r.rules.detections().at(0)->info();
  ASSERT_TRUE(i.loss_exposure.has_value());
  EXPECT_EQ(i.loss_exposure->low, 100);
  EXPECT_EQ(i.loss_exposure->high, 2500.5);
  EXPECT_EQ(i.loss_exposure->currency, "EUR");
  EXPECT_EQ(i.risk_score, 35.5);
  EXPECT_EQ(i.suppress, "1h");
  EXPECT_EQ(i.suppress_ns, 3600 * s);
}

TEST(attributes, leaves_them_empty_when_not_written) {
  auto r = parse_rules(base, "a.yml");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  const rule_info& i = r.rules.detections().at(0)->info();
  EXPECT_FALSE(i.loss_exposure.has_value());
  EXPECT_FALSE(i.risk_score.has_value());
  EXPECT_TRUE(i.suppress.empty());
  EXPECT_FALSE(i.suppress_ns.has_value());
  EXPECT_TRUE(i.tests.empty());
}

std::string only_error(const std::string& extra) {
  auto r = parse_rules(std::string(base) + extra, "a.yml");
  EXPECT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(r.rules.detections().empty());
  return r.diagnostics.empty() ? std::string{} : r.diagnostics[0].to_string();
}

TEST(attributes, refuses_a_loss_exposure_whose_low_is_above_high) {
  EXPECT_EQ(only_error("loss_exposure: {low: 900, high: 100, currency: USD}\n"),
            "a.yml:5:22: error: 'loss_exposure.low' is above 'high'");
}

TEST(attributes, refuses_a_non_numeric_loss_exposure) {
  EXPECT_EQ(only_error("loss_exposure: {low: lots, high: 100, currency: USD}\n"),
            "a.yml:5:22: error: 'loss_exposure.low' must be a number");
}

TEST(attributes, refuses_a_loss_exposure_without_an_iso_currency) {
  EXPECT_EQ(only_error("loss_exposure: {low: 1, high: 2, currency: euros}\n"),
            "a.yml:5:44: error: 'loss_exposure.currency' must be an ISO 4217 code such as EUR or "
            "USD");
  EXPECT_EQ(only_error("loss_exposure: {low: 1, high: 2}\n"),
            "a.yml:5:16: error: 'loss_exposure.currency' must be an ISO 4217 code such as EUR or "
            "USD");
}

TEST(attributes, refuses_a_loss_exposure_with_a_missing_bound_or_unknown_key) {
  EXPECT_EQ(only_error("loss_exposure: {high: 2, currency: EUR}\n"),
            "a.yml:5:16: error: 'loss_exposure' has no 'low'");
  EXPECT_EQ(only_error("loss_exposure: {low: 1, high: 2, currency: EUR, mid: 1}\n"),
            "a.yml:5:49: error: unknown loss_exposure key 'mid' (expected low, high, currency)");
}

TEST(attributes, refuses_a_non_numeric_risk_score_and_a_bad_suppress) {
  EXPECT_EQ(only_error("risk_score: high\n"), "a.yml:5:13: error: 'risk_score' must be a number");
  EXPECT_EQ(only_error("suppress: soon\n"),
            "a.yml:5:11: error: invalid suppress 'soon' (expected a timespan such as 500ms, 30s, "
            "5m, 1h, 2d or 1w)");
}

TEST(logsource_mappings, reads_a_config_list_into_mappings) {
  auto m = parse_logsource_mappings(
      "logsources:\n"
      "  - {product: windows, service: security, channel: winsec}\n"
      "  - {category: webserver, channel: web}\n",
      "sentrail.yml");
  ASSERT_TRUE(m.ok()) << m.message();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].product, "windows");
  EXPECT_EQ((*m)[0].service, "security");
  EXPECT_EQ((*m)[0].channel, "winsec");
  EXPECT_EQ((*m)[1].category, "webserver");
  EXPECT_EQ((*m)[1].product, "");

  load_options opts;
  opts.mappings = *m;
  auto r = parse_rules(
      "title: w\nlogsource: {product: windows, service: security}\n"
      "detection: {s: {EventID: 4625}, condition: s}\n",
      "w.yml", opts);
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  EXPECT_EQ(r.rules.for_channel("winsec").size(), 1u);
}

TEST(logsource_mappings, gives_nothing_for_a_config_without_logsources) {
  auto m = parse_logsource_mappings("kafka: {brokers: x}\n", "sentrail.yml");
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_TRUE(m->empty());
}

TEST(logsource_mappings, reports_bad_entries_with_file_line_and_column) {
  auto no_channel = parse_logsource_mappings("logsources:\n  - {product: windows}\n", "c.yml");
  ASSERT_FALSE(no_channel.ok());
  EXPECT_EQ(no_channel.message(), "c.yml:2:5: error: logsource mapping has no 'channel'");
  auto unknown = parse_logsource_mappings("logsources:\n  - {prodcut: x, channel: y}\n", "c.yml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.message(),
            "c.yml:2:6: error: unknown logsource key 'prodcut' (expected product, service, "
            "category, channel)");
  auto not_list = parse_logsource_mappings("logsources: windows\n", "c.yml");
  ASSERT_FALSE(not_list.ok());
  EXPECT_EQ(not_list.message(),
            "c.yml:1:13: error: 'logsources' must be a list of {product, service, category, "
            "channel}");
  auto bad_yaml = parse_logsource_mappings("logsources: [\n", "c.yml");
  ASSERT_FALSE(bad_yaml.ok());
  EXPECT_EQ(bad_yaml.message().rfind("c.yml:", 0), 0u) << bad_yaml.message();
}

}  // namespace
}  // namespace sentrail::rules
