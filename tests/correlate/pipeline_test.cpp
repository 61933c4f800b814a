#include "correlate/pipeline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "correlate/memory_state.h"
#include "rules/loader.h"

using namespace sentrail;

namespace {

const char* rules_yaml = R"(
title: Door forced
id: t-door-forced
level: high
tags: [attack.t1200]
logsource: {product: retail, service: badge}
detection:
  sel: {event.action: door_forced}
  condition: sel
---
title: Any failure anywhere
id: t-any-failure
level: low
logsource: {product: retail}
detection:
  sel: {event.outcome: failure}
  condition: sel
)";

struct collector : correlate::alert_sink, correlate::rejection_sink {
  std::vector<correlate::alert> alerts;
  std::vector<std::pair<ingest::rejection_reason, std::string>> rejected;
  void emit(const correlate::alert& a) override { alerts.push_back(a); }
  void reject(const ingest::rejection& why, std::string_view raw, std::string_view,
              const ingest::source_position&) override {
    rejected.emplace_back(why.reason, std::string(raw));
  }
};

struct fixture {
  ingest::channel_catalog channels = ingest::default_catalog().value();
  rules::load_result loaded = rules::parse_rules(rules_yaml, "test.yml");
  ingest::minimiser privacy{"pipeline-test-key-0123456789"};
  correlate::engine engine{loaded.rules, {}};
  correlate::memory_state state;
  correlate::pipeline pipe{channels, engine, privacy, state};
  collector out;

  fixture() { engine.set_clock([] { return timestamp_ns{42}; }); }
  void feed(std::string_view channel, std::string_view raw, std::int64_t offset = 0) {
    pipe.process(raw, *channels.by_name(channel), {"retail.test", 0, offset}, out, out);
  }
};

const char* forced = R"({"ts":"2026-11-23T03:00:00Z","badge_id":"B7","employee_id":"E1","site_id":"S1","door_id":"D9","event":"door_forced"})";

}  // namespace

TEST(pipeline, raises_one_alert_per_matching_rule_and_only_for_its_channel) {
  fixture f;
  ASSERT_FALSE(f.loaded.has_errors());
  f.feed("badge", forced);  // door_forced: both rules (outcome failure from the badge mapping)
  f.feed("web", R"({"ts":"2026-11-23T03:00:00Z","event":"door_forced","user":"u"})");  // not a badge event
  ASSERT_EQ(f.out.alerts.size(), 2u);
  EXPECT_EQ(f.out.alerts[0].rule_id, "t-door-forced");
  EXPECT_EQ(f.out.alerts[1].rule_id, "t-any-failure");
  EXPECT_EQ(f.pipe.counts().events, 2u);
  EXPECT_EQ(f.engine.counts().detection_alerts, 2u);
}

TEST(pipeline, alert_carries_rule_entity_evidence_and_event_time) {
  fixture f;
  f.feed("badge", forced, 17);
  ASSERT_FALSE(f.out.alerts.empty());
  const auto& a = f.out.alerts[0];
  EXPECT_EQ(a.level, "high");
  EXPECT_EQ(a.tags, std::vector<std::string>{"attack.t1200"});
  ASSERT_EQ(a.group.size(), 1u);
  EXPECT_EQ(a.group[0].first, "retail.employee.id");
  EXPECT_EQ(a.group[0].second, "E1");
  EXPECT_EQ(a.first_seen, *parse_rfc3339("2026-11-23T03:00:00Z"));
  EXPECT_EQ(a.emitted_at, 42);
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].offset, 17);
  std::string json = correlate::to_json(a);
  EXPECT_NE(json.find(R"("rule":{"id":"t-door-forced","title":"Door forced","level":"high","tags":["attack.t1200"]})"),
            std::string::npos) << json;
  EXPECT_NE(json.find(R"("group":{"retail.employee.id":"E1"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("status":"new")"), std::string::npos);
}

TEST(pipeline, alert_ids_depend_on_rule_and_event_not_on_transport_or_clock) {
  fixture a, b;
  b.engine.set_clock([] { return timestamp_ns{99}; });
  a.feed("badge", forced, 1);
  b.feed("badge", forced, 500);  // same event read at another offset, another time
  ASSERT_EQ(a.out.alerts.size(), 2u);
  ASSERT_EQ(b.out.alerts.size(), 2u);
  EXPECT_EQ(a.out.alerts[0].id, b.out.alerts[0].id);
  EXPECT_NE(a.out.alerts[0].id, a.out.alerts[1].id);  // two rules, two ids
  a.feed("badge", R"({"ts":"2026-11-23T03:00:01Z","badge_id":"B7","employee_id":"E1","door_id":"D9","event":"door_forced"})");
  EXPECT_NE(a.out.alerts[2].id, a.out.alerts[0].id);  // another event, another id
  EXPECT_EQ(a.out.alerts[0].id.size(), 32u);
}

TEST(pipeline, sends_bad_input_to_the_rejection_sink_with_its_reason_and_bytes) {
  fixture f;
  f.feed("pos", "{not json");
  f.feed("pos", R"({"event":"sale"})");
  ASSERT_EQ(f.out.rejected.size(), 2u);
  EXPECT_EQ(f.out.rejected[0].first, ingest::rejection_reason::invalid_json);
  EXPECT_EQ(f.out.rejected[0].second, "{not json");
  EXPECT_EQ(f.out.rejected[1].first, ingest::rejection_reason::missing_timestamp);
  EXPECT_EQ(f.pipe.counts().rejected, 2u);
  EXPECT_EQ(f.pipe.counts().rejected_by_reason[static_cast<std::size_t>(ingest::rejection_reason::invalid_json)], 1u);
  EXPECT_TRUE(f.out.alerts.empty());
}

TEST(stable_id, separates_its_parts) {
  EXPECT_NE(correlate::stable_id({"ab", "c"}), correlate::stable_id({"a", "bc"}));
  EXPECT_EQ(correlate::stable_id({"x", "y"}), correlate::stable_id({"x", "y"}));
}

TEST(pipeline, a_matched_event_is_kept_fully_minimised_though_only_read_fields_were_minimised_first) {
  // The web mapping hashes session.id and every field is scanned for PANs; the
  // rule reads neither, so both happen only once the rule has matched.
  fixture f;
  const char* failed =
      R"({"ts":"2026-11-23T03:00:00Z","event":"login_failed","client_ip":"198.51.100.7","user":"ann",)"
      R"("session_id":"sess-secret-123","user_agent":"card 4111111111111111"})";
  f.feed("web", failed);
  ASSERT_EQ(f.out.alerts.size(), 1u);
  const auto& evidence = f.out.alerts[0].events.at(0);
  bool saw_session = false;
  for (const auto& field : evidence.fields) {
    EXPECT_EQ(field.text.find("sess-secret"), std::string::npos) << field.name;
    EXPECT_EQ(field.text.find("4111111111111111"), std::string::npos) << field.name;
    if (field.name == "session.id") {
      saw_session = true;
      EXPECT_EQ(field.text.substr(0, 2), "h_");
    }
  }
  EXPECT_TRUE(saw_session);
  // The same event minimised at once, outside the pipeline, is the same evidence.
  ingest::decoder whole(f.privacy);
  ingest::event e;
  ASSERT_FALSE(whole.decode(failed, *f.channels.by_name("web"), {"retail.test", 0, 0}, e));
  auto direct = correlate::evidence::of(e);
  ASSERT_EQ(direct.fields.size(), evidence.fields.size());
  for (std::size_t i = 0; i < direct.fields.size(); ++i) {
    EXPECT_EQ(direct.fields[i].name, evidence.fields[i].name);
    EXPECT_EQ(direct.fields[i].text, evidence.fields[i].text);
  }
}
