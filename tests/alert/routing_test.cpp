#include <gtest/gtest.h>

#include "alert/sink.h"
#include "alert/sink_config.h"

using namespace sentrail;
using namespace sentrail::alert;
using namespace std::chrono_literals;

namespace {
correlate::alert make(std::string rule, std::string level, std::vector<std::string> tags) {
  correlate::alert a;
  a.id = "id-" + rule;
  a.rule_id = std::move(rule);
  a.level = std::move(level);
  a.tags = std::move(tags);
  return a;
}
}  // namespace

TEST(route, an_empty_route_takes_every_alert) {
  EXPECT_TRUE(matches({}, make("r", "low", {})));
  EXPECT_TRUE(matches({}, make("r", "critical", {"x"})));
}

TEST(route, min_level_takes_that_level_and_above_only) {
  route_match m;
  m.min_level = level_rank("high");
  EXPECT_FALSE(matches(m, make("r", "informational", {})));
  EXPECT_FALSE(matches(m, make("r", "low", {})));
  EXPECT_FALSE(matches(m, make("r", "medium", {})));
  EXPECT_TRUE(matches(m, make("r", "high", {})));
  EXPECT_TRUE(matches(m, make("r", "critical", {})));
  EXPECT_FALSE(matches(m, make("r", "unheard-of", {})));  // an unknown level is below any minimum
}

TEST(route, levels_tags_and_rules_are_any_of_lists_that_must_all_hold) {
  route_match levels;
  levels.levels = {"low", "critical"};
  EXPECT_TRUE(matches(levels, make("r", "low", {})));
  EXPECT_FALSE(matches(levels, make("r", "medium", {})));
  EXPECT_TRUE(matches(levels, make("r", "critical", {})));

  route_match tags;
  tags.tags = {"attack.t1200", "retail.fraud"};
  EXPECT_TRUE(matches(tags, make("r", "low", {"attack.initial-access", "retail.fraud"})));
  EXPECT_FALSE(matches(tags, make("r", "low", {"attack.initial-access"})));
  EXPECT_FALSE(matches(tags, make("r", "low", {})));

  route_match rules;
  rules.rules = {"door-forced"};
  EXPECT_TRUE(matches(rules, make("door-forced", "low", {})));
  EXPECT_FALSE(matches(rules, make("door-forced-2", "low", {})));

  route_match all;
  all.min_level = level_rank("medium");
  all.tags = {"retail.fraud"};
  all.rules = {"a", "b"};
  EXPECT_TRUE(matches(all, make("b", "high", {"retail.fraud"})));
  EXPECT_FALSE(matches(all, make("b", "low", {"retail.fraud"})));   // level fails
  EXPECT_FALSE(matches(all, make("c", "high", {"retail.fraud"})));  // rule fails
  EXPECT_FALSE(matches(all, make("a", "high", {"other"})));         // tag fails
}

TEST(backoff, doubles_from_the_initial_delay_and_stops_at_the_cap) {
  backoff_policy p{8, 1s, 30s};
  // jitter 0.5 is the midpoint: the exact schedule.
  EXPECT_EQ(backoff_delay(p, 1, 0.5), 1s);
  EXPECT_EQ(backoff_delay(p, 2, 0.5), 2s);
  EXPECT_EQ(backoff_delay(p, 3, 0.5), 4s);
  EXPECT_EQ(backoff_delay(p, 5, 0.5), 16s);
  EXPECT_EQ(backoff_delay(p, 6, 0.5), 30s);
  EXPECT_EQ(backoff_delay(p, 1000, 0.5), 30s);  // no overflow far past the cap
  auto previous = 0ns;
  for (int failures = 1; failures < 80; ++failures) {
    for (double j : {0.0, 0.5, 0.999}) {
      auto d = backoff_delay(p, failures, j);
      EXPECT_GT(d, 0ns);
      EXPECT_LE(d, p.max) << failures << " " << j;
    }
    auto mid = backoff_delay(p, failures, 0.5);
    EXPECT_GE(mid, previous);
    previous = mid;
  }
}

TEST(backoff, jitter_spreads_a_delay_by_a_quarter_either_way) {
  backoff_policy p{8, 4s, 5min};
  EXPECT_EQ(backoff_delay(p, 1, 0.0), 3s);
  EXPECT_EQ(backoff_delay(p, 1, 1.0), 5s);
  EXPECT_EQ(backoff_delay(p, 2, 0.0), 6s);
}

TEST(sink_name, letters_digits_and_few_marks_only_because_it_is_a_key_and_a_label) {
  EXPECT_TRUE(valid_sink_name("soc-webhook_2.eu"));
  EXPECT_FALSE(valid_sink_name(""));
  EXPECT_FALSE(valid_sink_name("a/b"));
  EXPECT_FALSE(valid_sink_name("a b"));
  EXPECT_FALSE(valid_sink_name(std::string(65, 'a')));
}

TEST(http_outcome, server_errors_throttling_and_transport_errors_retry_other_client_errors_do_not) {
  using o = delivery_result::outcome;
  EXPECT_EQ(classify_http(200, "").what, o::delivered);
  EXPECT_EQ(classify_http(204, "").what, o::delivered);
  EXPECT_EQ(classify_http(0, "connection refused").what, o::retriable);
  EXPECT_EQ(classify_http(500, "").what, o::retriable);
  EXPECT_EQ(classify_http(503, "").what, o::retriable);
  EXPECT_EQ(classify_http(429, "").what, o::retriable);
  EXPECT_EQ(classify_http(408, "").what, o::retriable);
  EXPECT_EQ(classify_http(400, "bad").what, o::rejected);
  EXPECT_EQ(classify_http(404, "").what, o::rejected);
  EXPECT_EQ(classify_http(400, "bad").error, "bad");
}

TEST(alertmanager, labels_and_annotations_come_from_rule_level_channel_and_entity) {
  auto a = make("sentrail-badge-door-forced", "high", {"attack.t1200"});
  a.rule_title = "Door forced open";
  a.group = {{"retail.door.id", "S07-stockroom"}};
  a.first_seen = 1'795'402'800'000'000'000;  // 2026-11-23T03:00:00Z
  a.events.resize(2);
  a.events[0].channel = a.events[1].channel = "badge";
  a.loss_exposure = correlate::alert::exposure{500, 20000, "EUR"};
  EXPECT_EQ(alertmanager_alert(a, "http://console.example/"),
            R"({"labels":{"alertname":"sentrail-badge-door-forced","severity":"high","rule":"sentrail-badge-door-forced",)"
            R"("channel":"badge","entity":"retail.door.id=S07-stockroom","sentrail_alert_id":"id-sentrail-badge-door-forced"},)"
            R"("annotations":{"summary":"Door forced open: retail.door.id=S07-stockroom","loss_exposure":"500-20000 EUR"},)"
            R"("startsAt":"2026-11-23T03:00:00.000Z","generatorURL":"http://console.example/#/alerts/id-sentrail-badge-door-forced"})");
  a.events[1].channel = "pos";
  a.loss_exposure.reset();
  auto mixed = alertmanager_alert(a, "");
  EXPECT_NE(mixed.find(R"("channel":"multiple")"), std::string::npos);
  EXPECT_EQ(mixed.find("generatorURL"), std::string::npos);
  EXPECT_EQ(mixed.find("loss_exposure"), std::string::npos);
}
