#include "correlate/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include <map>

#include <filesystem>
#include <fstream>

#include "correlate/buffer_record.h"
#include "correlate/codec.h"
#include "correlate/evidence_key.h"
#include "ingest/decoder.h"
#include "harness.h"

using namespace sentrail;
using namespace sentrail::correlate;
using namespace sentrail::correlate::testing;

namespace {


raw_event failed(double s, std::string ip = "203.0.113.9", std::string user = "alice") {
  return {"web", R"({"ts":")" + at(s) + R"(","client_ip":")" + ip + R"(","user":")" + user +
                     R"(","event":"login_failed"})"};
}
raw_event login(double s, std::string ip = "203.0.113.9", std::string user = "alice") {
  return {"web", R"({"ts":")" + at(s) + R"(","client_ip":")" + ip + R"(","user":")" + user + R"(","event":"login"})"};
}
raw_event pos(double s, std::string action, std::string employee = "E1", double amount = 10, std::string store = "S1") {
  return {"pos", R"({"ts":")" + at(s) + R"(","store_id":")" + store + R"(","register_id":"R1","employee_id":")" +
                     employee + R"(","event":")" + action + R"(","amount":)" + std::to_string(amount) + "}"};
}
raw_event badge(double s, std::string employee = "E1", std::string site = "S1") {
  return {"badge", R"({"ts":")" + at(s) + R"(","badge_id":"B-)" + employee + R"(","employee_id":")" + employee +
                       R"(","site_id":")" + site + R"(","door_id":"front","event":"access_granted"})"};
}

std::string count_rule(std::string extra = "", std::string timespan = "60s", std::string condition = "{gte: 5}") {
  return base_rules + R"(title: Five failures per IP
id: t-five-failures
level: high
correlation:
  type: event_count
  rules: [web_login_failed]
  group-by: [source.ip]
  timespan: )" + timespan + "\n  condition: " + condition + "\n" + extra;
}

}  // namespace

TEST(event_count, fires_once_when_the_count_reaches_the_threshold_in_the_window) {
  harness h(count_rule());
  auto r = h.run({failed(0), failed(10), failed(20), failed(30), failed(40), failed(50), failed(55)});
  auto alerts = r.of("t-five-failures");
  ASSERT_EQ(alerts.size(), 1u);  // the 6th and 7th are repeats within the suppression period
  EXPECT_EQ(alerts[0].count, 5u);
  EXPECT_EQ(alerts[0].type, "event_count");
  EXPECT_EQ(alerts[0].level, "high");
  ASSERT_EQ(alerts[0].group.size(), 1u);
  EXPECT_EQ(alerts[0].group[0], (std::pair<std::string, std::string>{"source.ip", "203.0.113.9"}));
  EXPECT_EQ(alerts[0].first_seen, *parse_rfc3339(at(0)));
  EXPECT_EQ(alerts[0].last_seen, *parse_rfc3339(at(40)));
  ASSERT_EQ(alerts[0].events.size(), 5u);  // evidence, in time order
  EXPECT_EQ(alerts[0].events[0].time, *parse_rfc3339(at(0)));
  EXPECT_EQ(h.correlations().counts().suppressed, 2u);
}

TEST(engine, evidence_kept_by_reference_is_read_again_from_its_input_and_equals_the_stored_copy) {
  // Replay keeps evidence by reference (its files outlive the run): the engine
  // stores no copy and rereads the events an alert cites. The alerts must be
  // those of the stored copies, byte for byte, and the state must hold no copy.
  std::vector<raw_event> events = {failed(0, "203.0.113.9", "alice"), failed(10, "203.0.113.9", "bob"),
                                   login(15),                           failed(20, "203.0.113.9", "carol"),
                                   failed(30, "198.51.100.7", "dave"),  failed(35, "203.0.113.9", "erin"),
                                   failed(40, "203.0.113.9", "frank")};
  harness by_copy(count_rule());
  auto stored = by_copy.run(events);

  auto catalog = ingest::default_catalog().value();
  ingest::minimiser privacy{std::string(test_driver::hmac_key)};
  ingest::decoder decoder(privacy);
  std::vector<std::int64_t> reread;
  engine_options options;
  options.reread = [&](const ingest::source_position& from, ingest::event& out) {
    reread.push_back(from.offset);
    if (from.topic != "test" || from.offset < 0 || static_cast<std::size_t>(from.offset) >= events.size()) return false;
    const raw_event& e = events[static_cast<std::size_t>(from.offset)];
    return !decoder.decode(e.json, *catalog.by_name(e.channel), from, out);
  };
  harness by_reference(count_rule(), options);
  auto referenced = by_reference.run(events);

  ASSERT_EQ(stored.of("t-five-failures").size(), 1u);
  ASSERT_EQ(referenced.alerts.size(), stored.alerts.size());
  for (std::size_t i = 0; i < stored.alerts.size(); ++i)
    EXPECT_EQ(to_json(referenced.alerts[i]), to_json(stored.alerts[i]));
  EXPECT_EQ(referenced.of("t-five-failures")[0].events.size(), 5u);
  EXPECT_EQ(reread, (std::vector<std::int64_t>{0, 1, 3, 5, 6}));  // the five failures from 203.0.113.9
  int copies = 0;
  by_reference.state().for_each("e/", [&](std::string_view, std::string_view) { ++copies; });
  EXPECT_EQ(copies, 0);
  by_copy.state().for_each("e/", [&](std::string_view, std::string_view) { ++copies; });
  EXPECT_EQ(copies, 6);  // every failure was kept, cited or not
}

// Reads events of `events` again by offset, as a Kafka topic would, recording the
// prefetched batches and leaving out the offsets in `gone` (retention).
struct topic_of_events {
  const std::vector<raw_event>& events;
  std::set<std::int64_t> gone;
  std::vector<std::vector<std::int64_t>> prefetched;
  ingest::channel_catalog catalog = ingest::default_catalog().value();
  ingest::minimiser privacy{std::string(test_driver::hmac_key)};
  ingest::decoder decoder{privacy};

  rules::load_result loaded = rules::parse_rules(count_rule(), "test.yml");

  /// The event at `offset`, decoded and minimised as the engine's reread gives it.
  bool read(std::int64_t offset, ingest::event& out) { return options().reread({"test", 0, offset}, out); }

  /// A new engine on `state`, as after a restart: restore() reads the buffer back from this topic.
  std::unique_ptr<engine> restart(state_view& state, timestamp_ns lateness = 3600 * ns_per_second) {
    EXPECT_FALSE(loaded.has_errors());
    auto e = std::make_unique<engine>(loaded.rules, options(lateness));
    e->restore(state);
    return e;
  }

  engine_options options(timestamp_ns lateness = 3600 * ns_per_second) {  // default: everything waits until the flush
    engine_options o;
    o.allowed_lateness = lateness;
    o.durable_references = true;
    o.reread = [this](const ingest::source_position& from, ingest::event& out) {
      if (from.topic != "test" || from.offset < 0 || static_cast<std::size_t>(from.offset) >= events.size() ||
          gone.count(from.offset))
        return false;
      const raw_event& e = events[static_cast<std::size_t>(from.offset)];
      return !decoder.decode(e.json, *catalog.by_name(e.channel), from, out);
    };
    o.prefetch = [this](const std::vector<ingest::source_position>& at) {
      auto& batch = prefetched.emplace_back();
      for (const auto& p : at) batch.push_back(p.offset);
    };
    return o;
  }
};

// Flushes `e` and expects the one alert it raises to be `want`, but for when it was emitted.
static void expect_one_alert_on_flush(engine& e, state_view& state, const alert& want) {
  run_result out;
  e.flush(state, out);
  ASSERT_EQ(out.alerts.size(), 1u);
  out.alerts[0].emitted_at = want.emitted_at;  // the flush's wall clock
  EXPECT_EQ(to_json(out.alerts[0]), to_json(want));
}

TEST(engine, a_reorder_buffer_kept_by_reference_is_read_back_in_one_pass_on_restore) {
  // The streaming engine with evidence by reference writes only the rules each
  // buffered event matched; a restart reads the events back from their topic,
  // all at once, and correlates them as if it had never stopped.
  std::vector<raw_event> events = {failed(0, "203.0.113.9", "alice"), failed(10, "203.0.113.9", "bob"),
                                   failed(20, "203.0.113.9", "carol"), failed(30, "203.0.113.9", "dave"),
                                   failed(40, "203.0.113.9", "erin")};
  harness by_copy(count_rule());
  auto expected = by_copy.run(events);
  ASSERT_EQ(expected.of("t-five-failures").size(), 1u);

  topic_of_events topic{events};
  harness before_restart(count_rule(), topic.options());
  EXPECT_TRUE(before_restart.run(events, /*flush=*/false).alerts.empty());
  EXPECT_EQ(before_restart.correlations().counts().buffered, 5u);
  // One record per advance (the harness advances after each event), with each
  // event's key and rules, not the event; no entry per event.
  std::size_t records = 0, stored_bytes = 0, evidence_entries = 0;
  std::vector<std::string> referenced_rules;
  before_restart.state().for_each("b/", [&](std::string_view, std::string_view v) {
    ++records;
    stored_bytes += v.size();
    EXPECT_TRUE(for_each_buffered(v, [&](std::string_view, std::string_view ids) { referenced_rules.emplace_back(ids); }));
  });
  before_restart.state().for_each("e/", [&](std::string_view, std::string_view) { ++evidence_entries; });
  EXPECT_EQ(records, 5u);
  EXPECT_EQ(referenced_rules, std::vector<std::string>(5, "t-web-login-failed"));
  EXPECT_LT(stored_bytes, 5u * 64);  // keys and rule ids, not events
  EXPECT_EQ(evidence_entries, 0u);

  auto restarted = topic.restart(before_restart.state());
  engine& after_restart = *restarted;
  EXPECT_EQ(after_restart.counts().buffered, 5u);
  EXPECT_EQ(after_restart.counts().unreadable, 0u);
  ASSERT_EQ(topic.prefetched.size(), 1u);
  EXPECT_EQ(topic.prefetched[0], (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  expect_one_alert_on_flush(after_restart, before_restart.state(), expected.of("t-five-failures")[0]);
}

TEST(engine, a_batch_record_of_the_reorder_buffer_goes_once_the_watermark_has_released_it) {
  // Five failures 10 s apart, 15 s of lateness, an advance after each: the
  // watermark ends at 25 s, so the first three are released and their records
  // deleted; the last two wait, and a restart reads back only those.
  std::vector<raw_event> events = {failed(0), failed(10), failed(20), failed(30), failed(40)};
  harness by_copy(count_rule());
  auto expected = by_copy.run(events);
  ASSERT_EQ(expected.of("t-five-failures").size(), 1u);

  const timestamp_ns lateness = 15 * ns_per_second;
  topic_of_events topic{events};
  harness before_restart(count_rule(), topic.options(lateness));
  EXPECT_TRUE(before_restart.run(events, /*flush=*/false).alerts.empty());
  EXPECT_EQ(before_restart.correlations().counts().buffered, 2u);
  std::vector<std::int64_t> recorded;  // offsets of the events still in a record
  before_restart.state().for_each("b/", [&](std::string_view, std::string_view v) {
    for_each_buffered(v, [&](std::string_view key, std::string_view) { recorded.push_back(evidence_source(key)->offset); });
  });
  EXPECT_EQ(recorded, (std::vector<std::int64_t>{3, 4}));

  auto restarted = topic.restart(before_restart.state(), lateness);
  engine& after_restart = *restarted;
  EXPECT_EQ(after_restart.counts().buffered, 2u);
  ASSERT_EQ(topic.prefetched.size(), 1u);
  EXPECT_EQ(topic.prefetched[0], (std::vector<std::int64_t>{3, 4}));
  expect_one_alert_on_flush(after_restart, before_restart.state(), expected.of("t-five-failures")[0]);
  // Everything is released now: no record is left behind.
  std::size_t left = 0;
  before_restart.state().for_each("b/", [&](std::string_view, std::string_view) { ++left; });
  EXPECT_EQ(left, 0u);
}

TEST(engine, records_of_the_reorder_buffer_written_after_a_restart_do_not_overwrite_older_ones) {
  // The restarted engine numbers its records after the stored ones: writing
  // over one would lose the events it still holds for the next restart.
  std::vector<raw_event> events = {failed(0), failed(10), failed(20), failed(30), failed(40)};
  topic_of_events topic{events};
  harness first(count_rule(), topic.options());
  first.run({events[0], events[1]}, /*flush=*/false);
  auto second = topic.restart(first.state());
  run_result out;
  // The next three offsets as the topic numbers them, one advance for each.
  for (std::int64_t i = 2; i < 5; ++i) {
    ingest::event e;
    ASSERT_TRUE(topic.read(i, e));
    second->on_event(e, "test/0", first.state(), out);
    second->advance(0, first.state(), out);
  }
  auto third = topic.restart(first.state());
  EXPECT_EQ(third->counts().buffered, 5u);
  third->flush(first.state(), out);
  ASSERT_EQ(out.of("t-five-failures").size(), 1u);
  EXPECT_EQ(out.of("t-five-failures")[0].events.size(), 5u);
}

TEST(engine, restores_a_reorder_buffer_kept_by_reference_one_entry_per_event) {
  // Earlier versions wrote each buffered event's rules under its own e/ key
  // (layout 3: an empty channel, the layout, the rule ids). A state they left
  // is read back through the topic like the records that replaced them.
  std::vector<raw_event> events = {failed(0), failed(10), failed(20), failed(30), failed(40)};
  harness by_copy(count_rule());
  auto expected = by_copy.run(events);
  topic_of_events topic{events};
  harness old_state(count_rule(), topic.options());
  for (std::int64_t i = 0; i < 5; ++i) {
    ingest::event e;
    ASSERT_TRUE(topic.read(i, e));
    std::string key("e/"), value;
    append_evidence_key(key, e);
    encoder w(value);
    w.bytes({});
    w.u64(3);
    w.bytes("t-web-login-failed");
    old_state.state().put(key, value, INT64_MAX);
  }
  auto restarted = topic.restart(old_state.state());
  EXPECT_EQ(restarted->counts().buffered, 5u);
  expect_one_alert_on_flush(*restarted, old_state.state(), expected.of("t-five-failures")[0]);
}

TEST(engine, an_input_that_spoke_since_the_last_advance_is_not_idle_however_late_the_advance) {
  // An input's silence is measured from the advance after it last sent, by
  // that advance's wall clock: a batch that took long is not silence.
  std::vector<raw_event> events = {failed(0), failed(100), failed(5), failed(105), failed(110), failed(115)};
  topic_of_events topic{events};
  engine_options options = topic.options(0);
  options.idle_timeout = 10 * ns_per_second;
  engine e(topic.loaded.rules, options);
  memory_state state;
  run_result out;
  auto send = [&](std::int64_t offset, std::string_view partition) {
    ingest::event ev;
    ASSERT_TRUE(topic.read(offset, ev));
    e.on_event(ev, partition, state, out);
  };
  const timestamp_ns s = ns_per_second, t0 = *parse_rfc3339("2026-11-23T10:00:00Z");
  send(0, "a");
  send(1, "b");
  e.advance(1 * s, state, out);
  EXPECT_EQ(e.watermark(), t0);  // the slower input, at 0 s
  send(2, "a");
  send(3, "b");
  e.advance(60 * s, state, out);  // 59 s after the last advance: both spoke meanwhile
  EXPECT_EQ(e.watermark(), t0 + 5 * s);
  send(4, "b");
  e.advance(65 * s, state, out);  // a silent for 5 s: still waited for
  EXPECT_EQ(e.watermark(), t0 + 5 * s);
  send(5, "b");
  e.advance(71 * s, state, out);  // a silent for 11 s: idle, b alone moves event time
  EXPECT_EQ(e.watermark(), t0 + 115 * s);
}

TEST(engine, a_watermark_jump_is_released_a_bounded_share_per_advance_with_the_alerts_of_one_release) {
  // Failures from three IPs (alice and bob), one a second, the 9th at the 8th's
  // time; one at 200 s lets event time jump to 195 s. Counts and absence timers
  // both fire on the way.
  std::vector<raw_event> events;
  for (int i = 0; i < 90; ++i)
    events.push_back(failed(i == 8 ? 7 : i, "198.51.100." + std::to_string(i % 3), i % 4 == 0 ? "bob" : "alice"));
  events.push_back(failed(200));
  topic_of_events topic{events};
  topic.loaded = rules::parse_rules(count_rule() + R"(---
title: Failure never followed by success
id: t-no-success
correlation: {type: absence, rules: [web_login_failed, web_login], group-by: [user.name], timespan: 30s}
)", "test.yml");
  ASSERT_FALSE(topic.loaded.has_errors());
  const timestamp_ns s = ns_per_second, t0 = *parse_rfc3339("2026-11-23T10:00:00Z");
  auto feed = [&](engine& e, state_view& state, run_result& out) {
    for (std::int64_t offset = 0; offset < static_cast<std::int64_t>(events.size()); ++offset) {
      ingest::event ev;
      ASSERT_TRUE(topic.read(offset, ev));
      e.on_event(ev, "a", state, out);
    }
  };
  engine whole(topic.loaded.rules, topic.options(5 * s));
  memory_state whole_state;
  run_result at_once;
  feed(whole, whole_state, at_once);
  whole.advance(1 * s, whole_state, at_once);
  EXPECT_FALSE(whole.release_pending());
  EXPECT_EQ(whole.watermark(), t0 + 195 * s);
  ASSERT_FALSE(at_once.of("t-five-failures").empty());
  ASSERT_FALSE(at_once.of("t-no-success").empty());

  engine bounded(topic.loaded.rules, topic.options(5 * s));
  memory_state bounded_state;
  run_result in_shares;
  feed(bounded, bounded_state, in_shares);
  bounded.advance(1 * s, bounded_state, in_shares, {}, 4);
  EXPECT_TRUE(bounded.release_pending());
  EXPECT_EQ(bounded.watermark(), t0 + 3 * s);  // the events at 0..3 s
  EXPECT_EQ(bounded.counts().buffered, events.size() - 4);
  bounded.advance(1 * s, bounded_state, in_shares, {}, 4);
  EXPECT_EQ(bounded.watermark(), t0 + 7 * s);  // 4..7 s, and the second event at 7 s with them
  EXPECT_EQ(bounded.counts().buffered, events.size() - 9);
  int advances = 2;
  while (bounded.release_pending() && advances < 100) {
    bounded.advance(1 * s, bounded_state, in_shares, {}, 4);
    ++advances;
  }
  EXPECT_FALSE(bounded.release_pending());
  EXPECT_EQ(advances, 23);  // then 81 events from 9 s to 89 s, four an advance
  EXPECT_EQ(bounded.watermark(), t0 + 195 * s);
  EXPECT_EQ(in_shares.ids(), at_once.ids());
  EXPECT_EQ(bounded.counts().buffered, whole.counts().buffered);
}

TEST(engine, events_gone_from_their_topic_are_counted_not_hidden) {
  std::vector<raw_event> events = {failed(0), failed(10), failed(20), failed(30), failed(40), failed(50)};
  topic_of_events topic{events};
  harness before_restart(count_rule(), topic.options());
  before_restart.run(events, /*flush=*/false);
  topic.gone = {0};  // retention removed the first before the restart
  auto restarted = topic.restart(before_restart.state());
  engine& after_restart = *restarted;
  EXPECT_EQ(after_restart.counts().buffered, 5u);
  EXPECT_EQ(after_restart.counts().unreadable, 1u);
  topic.gone = {1};  // and then the second, before the alert cites it
  run_result out;
  after_restart.flush(before_restart.state(), out);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].events.size(), 4u);
  EXPECT_EQ(out.alerts[0].evidence_unavailable, 1u);
  EXPECT_NE(to_json(out.alerts[0]).find(R"("evidence_unavailable":1)"), std::string::npos);
  EXPECT_EQ(after_restart.counts().unreadable, 2u);
}

TEST(engine, with_batched_evidence_the_alerts_of_one_advance_read_their_evidence_in_one_pass) {
  // Each read from Kafka is a round trip: two alerts fired by one flush ask for
  // their ten events at once, and go out as the stored copies would have. Each
  // alert's evidence also goes to the source as the alert is raised, before
  // that pass, so the reads overlap the rest of the advance.
  std::vector<raw_event> events;
  for (int i = 0; i < 5; ++i) {
    events.push_back(failed(i * 10, "203.0.113.9", "alice"));
    events.push_back(failed(i * 10 + 1, "198.51.100.7", "bob"));
  }
  harness by_copy(count_rule());
  auto expected = by_copy.run(events);
  ASSERT_EQ(expected.of("t-five-failures").size(), 2u);

  topic_of_events topic{events};
  engine_options options = topic.options();
  options.batch_evidence = true;
  std::vector<std::int64_t> announced;
  std::vector<std::size_t> passes_before;  // prefetch passes made before each early call
  options.prefetch_early = [&](const std::vector<ingest::source_position>& at) {
    EXPECT_EQ(at.size(), 5u);  // one alert's evidence
    for (const auto& p : at) announced.push_back(p.offset);
    passes_before.push_back(topic.prefetched.size());
  };
  harness batched(count_rule(), options);
  auto out = batched.run(events);
  ASSERT_EQ(topic.prefetched.size(), 1u);
  EXPECT_EQ(topic.prefetched[0].size(), 10u);
  EXPECT_EQ(passes_before, (std::vector<std::size_t>{0, 0}));  // one per alert, both before the pass
  std::vector<std::int64_t> passed = topic.prefetched[0];
  std::sort(announced.begin(), announced.end());
  std::sort(passed.begin(), passed.end());
  EXPECT_EQ(announced, passed);
  ASSERT_EQ(out.alerts.size(), expected.alerts.size());
  for (std::size_t i = 0; i < out.alerts.size(); ++i) EXPECT_EQ(to_json(out.alerts[i]), to_json(expected.alerts[i]));
}

TEST(temporal_ordered, cites_every_step_when_an_evidence_key_holds_a_newline_byte) {
  // Evidence keys are binary: the event at offset 10 has 0x0A as its key's last
  // byte. A sequence used to join its keys with '\n' and cited neither half.
  std::string rule = base_rules + R"(title: Failure then success
id: t-fail-then-login
correlation:
  type: temporal_ordered
  rules: [web_login_failed, web_login]
  group-by: [user.name]
  timespan: 10m
)";
  std::vector<raw_event> events;
  for (int i = 0; i < 10; ++i) events.push_back(login(i, "198.51.100.1", "someone-else"));
  events.push_back(failed(20));  // offset 10
  events.push_back(login(30));   // offset 11
  harness h(rule);
  auto r = h.run(events);
  ASSERT_EQ(r.of("t-fail-then-login").size(), 1u);
  const auto& cited = r.of("t-fail-then-login")[0].events;
  ASSERT_EQ(cited.size(), 2u);
  EXPECT_EQ(cited[0].offset, 10);
  EXPECT_EQ(cited[1].offset, 11);
}

TEST(engine, counts_matches_per_rule_for_detections_and_correlations) {
  harness h(count_rule());
  h.run({failed(0), failed(10), failed(20)});
  std::map<std::string, std::pair<std::string, std::uint64_t>> by_rule;
  for (const auto& m : h.correlations().rule_matches())
    by_rule[std::string(m.rule_id)] = {std::string(m.kind), m.matches};
  EXPECT_EQ(by_rule["t-web-login-failed"], (std::pair<std::string, std::uint64_t>{"detection", 3}));
  EXPECT_EQ(by_rule["t-pos-refund"].second, 0u);  // listed, never matched
  EXPECT_EQ(by_rule["t-five-failures"], (std::pair<std::string, std::uint64_t>{"correlation", 3}));
}

TEST(event_count, referenced_rules_do_not_alert_on_their_own_unless_generate_is_set) {
  harness quiet(count_rule());
  EXPECT_TRUE(quiet.run({failed(0)}).of("t-web-login-failed").empty());
  harness loud(count_rule("  generate: true\n"));
  EXPECT_EQ(loud.run({failed(0)}).of("t-web-login-failed").size(), 1u);
}

TEST(event_count, counts_a_burst_that_straddles_a_minute_boundary) {
  // 58s..62s: a fixed one-minute bucket would split these 3 + 2.
  harness h(count_rule());
  auto r = h.run({failed(58), failed(59), failed(60), failed(61), failed(62)});
  EXPECT_EQ(r.of("t-five-failures").size(), 1u);
}

TEST(event_count, window_boundaries_are_inclusive_of_exactly_the_timespan) {
  harness inside(count_rule());
  EXPECT_EQ(inside.run({failed(0), failed(15), failed(30), failed(45), failed(60)}).of("t-five-failures").size(), 1u);
  harness outside(count_rule());
  EXPECT_TRUE(outside.run({failed(0), failed(15), failed(30), failed(45), failed(60.001)}).of("t-five-failures").empty());
}

TEST(event_count, keeps_groups_apart) {
  harness h(count_rule());
  std::vector<raw_event> events;
  for (int i = 0; i < 4; ++i) {
    events.push_back(failed(i, "198.51.100.1"));
    events.push_back(failed(i, "198.51.100.2"));
  }
  events.push_back(failed(5, "198.51.100.2"));
  auto alerts = h.run(events).of("t-five-failures");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].group[0].second, "198.51.100.2");
}

TEST(event_count, alerts_again_after_the_suppression_period) {
  harness h(count_rule("  suppress: 30s\n"));
  std::vector<raw_event> events;
  for (int i = 0; i < 12; ++i) events.push_back(failed(i * 5));  // 0..55 s
  auto alerts = h.run(events).of("t-five-failures");
  // Fires at 20 s (5th), suppressed until 50 s; fires again at 50 s.
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_NE(alerts[0].id, alerts[1].id);
}

TEST(event_count, shuffled_input_within_the_lateness_gives_the_alerts_of_sorted_input) {
  std::vector<raw_event> sorted;
  for (int i = 0; i < 200; ++i) {
    sorted.push_back(failed(i * 1.5, "198.51.100." + std::to_string(i % 7)));
    if (i % 3 == 0) sorted.push_back(failed(i * 1.5, "198.51.100.99"));  // ties in time
  }
  harness a(count_rule());
  auto expected = a.run(sorted);
  ASSERT_FALSE(expected.alerts.empty());
  for (unsigned seed = 1; seed <= 5; ++seed) {
    harness b(count_rule());
    auto got = b.run(shuffled_within(sorted, 3, seed));  // at most ~3 s out of order, lateness 5 s
    EXPECT_EQ(got.ids(), expected.ids()) << "seed " << seed;
    EXPECT_EQ(b.correlations().counts().late, 0u);
  }
}

// The reorder buffer takes each event at the place after its input's last one
// when it can: batches of events from several partitions, in order within some,
// shuffled within others, with releases between batches (which invalidate those
// places), must still correlate as sorted input does.
TEST(event_count, batches_from_several_partitions_in_any_order_give_the_alerts_of_sorted_input) {
  std::vector<raw_event> sorted;
  for (int i = 0; i < 600; ++i) sorted.push_back(failed(i * 0.75, "198.51.100." + std::to_string(i % 5)));
  harness a(count_rule());
  auto expected = a.run(sorted);
  ASSERT_GE(expected.alerts.size(), 5u);
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    std::vector<raw_event> fed;
    std::vector<std::int32_t> partitions;
    constexpr std::size_t batch = 40;  // 30 s of events: later batches are never behind the watermark
    for (std::size_t from = 0; from < sorted.size(); from += batch) {
      // Partition 0 gets its events in time order, partition 1 in reverse, partition 2 shuffled.
      std::vector<raw_event> of[3];
      for (std::size_t i = from; i < std::min(sorted.size(), from + batch); ++i) of[rng() % 3].push_back(sorted[i]);
      std::reverse(of[1].begin(), of[1].end());
      std::shuffle(of[2].begin(), of[2].end(), rng);
      // Interleaved at random, each partition's own order kept.
      std::size_t next[3] = {0, 0, 0};
      while (next[0] < of[0].size() || next[1] < of[1].size() || next[2] < of[2].size()) {
        auto p = static_cast<std::int32_t>(rng() % 3);
        if (next[p] == of[p].size()) continue;
        fed.push_back(of[p][next[p]++]);
        partitions.push_back(p);
      }
    }
    harness b(count_rule());
    auto got = b.run_batched(fed, partitions, batch);
    EXPECT_EQ(got.ids(), expected.ids()) << "seed " << seed;
    EXPECT_EQ(b.correlations().counts().late, 0u) << "seed " << seed;
    EXPECT_EQ(b.correlations().counts().buffered, 0u) << "seed " << seed;
  }
}

TEST(event_count, counts_and_dead_letters_events_later_than_the_allowed_lateness) {
  harness h(count_rule("  generate: true\n"));
  auto r = h.run({failed(100), failed(200), failed(10)});  // 10 s is 185 s behind the watermark
  EXPECT_EQ(h.correlations().counts().late, 1u);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].first, ingest::rejection_reason::late_event);
  // Detection still saw it: three single-event alerts.
  EXPECT_EQ(r.of("t-web-login-failed").size(), 3u);
}

TEST(event_count, replaying_the_same_input_gives_the_same_alert_ids) {
  std::vector<raw_event> events;
  for (int i = 0; i < 30; ++i) events.push_back(failed(i * 3, "198.51.100." + std::to_string(i % 3)));
  harness a(count_rule()), b(count_rule());
  auto first = a.run(events), second = b.run(events);
  ASSERT_FALSE(first.alerts.empty());
  EXPECT_EQ(first.ids(), second.ids());
}

TEST(value_count, counts_distinct_users_per_ip) {
  harness h(base_rules + R"(title: Credential stuffing
id: t-stuffing
correlation:
  type: value_count
  rules: [web_login_failed]
  group-by: [source.ip]
  timespan: 5m
  condition: {field: user.name, gte: 3}
)");
  auto r = h.run({failed(0, "198.51.100.5", "a"), failed(1, "198.51.100.5", "a"), failed(2, "198.51.100.5", "b"),
                  failed(3, "198.51.100.6", "c"), failed(4, "198.51.100.5", "c")});
  auto alerts = r.of("t-stuffing");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].value, 3.0);
  EXPECT_EQ(alerts[0].group[0].second, "198.51.100.5");
}

// A burst keeps one group's window decoded from its first match in a release
// to the end of it (op::flush writes it back), with the distinct values counted
// as entries come and go. Released once at the end (one long release) or event
// by event (a decode and a store per match), the alerts must be the same: ids,
// windows, counts, distinct values and evidence, through evictions and repeats.
TEST(value_count, a_burst_in_one_release_alerts_as_event_by_event) {
  const std::string rule = base_rules + R"(title: Credential stuffing
id: t-stuffing
correlation:
  type: value_count
  rules: [web_login_failed]
  group-by: [source.ip]
  timespan: 30s
  condition: {field: user.name, gte: 5}
---
title: Many failures
id: t-many
correlation:
  type: event_count
  rules: [web_login_failed]
  group-by: [source.ip]
  timespan: 20s
  condition: {gte: 25}
)";
  // Each user fails three times in a row, then the next: a 30 s window (both ends
  // in) holds 61 events of 21 users, and values leave it as it slides.
  std::vector<raw_event> burst;
  for (int i = 0; i < 400; ++i) burst.push_back(failed(i * 0.5, "203.0.113.9", "user" + std::to_string(i / 3)));
  engine_options one_release;
  one_release.allowed_lateness = 3600 * ns_per_second;  // nothing released before the final flush
  harness stepwise(rule), at_once(rule, one_release);
  auto a = stepwise.run(burst), b = at_once.run(burst);
  auto describe = [](const std::vector<alert>& alerts) {
    std::vector<std::string> out;
    for (const auto& x : alerts)
      out.push_back(x.id + " " + x.rule_id + " " + std::to_string(x.first_seen) + " " + std::to_string(x.last_seen) +
                    " " + std::to_string(x.count) + " " + std::to_string(x.value.value_or(-1)) + " " +
                    std::to_string(x.events.size()));
    std::sort(out.begin(), out.end());
    return out;
  };
  ASSERT_GE(a.of("t-stuffing").size(), 5u);  // re-fired after each suppression period, windows sliding
  EXPECT_EQ(a.of("t-stuffing").back().value, 21.0);
  EXPECT_GE(a.of("t-many").size(), 5u);
  EXPECT_EQ(describe(a.alerts), describe(b.alerts));
  // What each run left in the state is the same window, whichever way it was kept.
  std::string key_a, key_b, value_a, value_b;
  stepwise.state().for_each("c/", [&](std::string_view k, std::string_view v) { key_a += std::string(k) + ";", value_a += v; });
  at_once.state().for_each("c/", [&](std::string_view k, std::string_view v) { key_b += std::string(k) + ";", value_b += v; });
  EXPECT_FALSE(key_a.empty());
  EXPECT_EQ(key_a, key_b);
  EXPECT_EQ(value_a, value_b);
}

TEST(temporal, needs_every_rule_in_any_order_within_the_timespan) {
  std::string rule = base_rules + R"(title: Failure and success
id: t-both
correlation:
  type: temporal
  rules: [web_login_failed, web_login]
  group-by: [user.name]
  timespan: 1m
)";
  harness any_order(rule);
  EXPECT_EQ(any_order.run({login(0), failed(30)}).of("t-both").size(), 1u);
  harness too_far(rule);
  EXPECT_TRUE(too_far.run({login(0), failed(61)}).of("t-both").empty());
  harness one_kind(rule);
  EXPECT_TRUE(one_kind.run({failed(0), failed(5)}).of("t-both").empty());
}

TEST(temporal_ordered, chains_an_event_count_into_brute_force_then_success) {
  std::string rule = base_rules + R"(title: Many failures
name: many_failures
id: t-many-failures
correlation:
  type: event_count
  rules: [web_login_failed]
  group-by: [user.name]
  timespan: 10m
  condition: {gte: 3}
---
title: Brute force then success
id: t-brute-then-success
level: critical
correlation:
  type: temporal_ordered
  rules: [many_failures, web_login]
  group-by: [user.name]
  timespan: 10m
)";
  harness ordered(rule);
  auto r = ordered.run({failed(0), failed(10), failed(20), login(30)});
  ASSERT_EQ(r.of("t-brute-then-success").size(), 1u);
  EXPECT_TRUE(r.of("t-many-failures").empty());  // referenced: no alert of its own
  EXPECT_EQ(r.of("t-brute-then-success")[0].level, "critical");
  EXPECT_GE(r.of("t-brute-then-success")[0].events.size(), 2u);
  harness wrong_order(rule);
  EXPECT_TRUE(wrong_order.run({login(0), failed(10), failed(20), failed(30)}).of("t-brute-then-success").empty());
  harness too_slow(rule);
  EXPECT_TRUE(too_slow.run({failed(0), failed(10), failed(20), login(20 + 601)}).of("t-brute-then-success").empty());
}

TEST(value_sum, sums_refund_amounts_per_employee) {
  std::string rule = base_rules + R"(title: Refund total
id: t-refund-total
correlation:
  type: value_sum
  rules: [pos_refund]
  group-by: [retail.employee.id]
  timespan: 8h
  condition: {field: retail.amount, gte: 1000}
)";
  harness over(rule);
  auto alerts = over.run({pos(0, "refund", "E1", 400), pos(60, "refund", "E2", 900), pos(120, "refund", "E1", 600)}).of("t-refund-total");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].value, 1000.0);
  EXPECT_EQ(alerts[0].group[0].second, "E1");
  harness under(rule);
  EXPECT_TRUE(under.run({pos(0, "refund", "E1", 400), pos(60, "refund", "E1", 599.99)}).of("t-refund-total").empty());
}

TEST(value_avg_and_percentile, aggregate_the_window) {
  harness avg(base_rules + R"(title: Avg
id: t-avg
correlation: {type: value_avg, rules: [pos_refund], group-by: [retail.employee.id], timespan: 1h, condition: {field: retail.amount, gt: 100}}
)");
  auto a = avg.run({pos(0, "refund", "E1", 50), pos(1, "refund", "E1", 200)}).of("t-avg");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].value, 125.0);
  harness pct(base_rules + R"(title: P90
id: t-p90
correlation: {type: value_percentile, rules: [pos_refund], group-by: [retail.employee.id], timespan: 1h, percentile: 90, condition: {field: retail.amount, gte: 500}}
)");
  std::vector<raw_event> events;
  for (int i = 0; i < 9; ++i) events.push_back(pos(i, "refund", "E1", 10));
  events.push_back(pos(10, "refund", "E1", 900));  // p90 of ten values is the 9th: still 10
  EXPECT_TRUE(pct.run(events).of("t-p90").empty());
}

TEST(absence, fires_when_the_second_rule_never_follows_and_not_when_it_does) {
  std::string rule = base_rules + R"(title: Failure never followed by success
id: t-no-success
correlation:
  type: absence
  rules: [web_login_failed, web_login]
  group-by: [user.name]
  timespan: 10m
)";
  harness missing(rule);
  auto r = missing.run({failed(0, "1.1.1.1", "bob"), failed(0, "1.1.1.1", "eve"), login(300, "1.1.1.1", "eve")});
  auto alerts = r.of("t-no-success");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].group[0].second, "bob");
  EXPECT_EQ(alerts[0].type, "absence");
  // Exactly at the deadline still counts as in time.
  harness at_deadline(rule);
  EXPECT_TRUE(at_deadline.run({failed(0), login(600)}).of("t-no-success").empty());
}

TEST(absence, the_timer_fires_as_event_time_passes_without_a_flush) {
  harness h(base_rules + R"(title: No success
id: t-no-success
correlation: {type: absence, rules: [web_login_failed, web_login], group-by: [user.name], timespan: 1m}
)");
  // Another user's traffic moves event time past the deadline (+ lateness).
  auto r = h.run({failed(0, "1.1.1.1", "bob"), login(120, "1.1.1.1", "other")}, /*flush=*/false);
  EXPECT_EQ(r.of("t-no-success").size(), 1u);
}

TEST(absence, repeats_stay_quiet_for_the_suppression_period_however_event_time_advances) {
  // bob fails every 4 s and never succeeds: each failure's verdict comes 30 s
  // later, and one alert per 30 s period goes out: for the failures at 0, 32, 64 and 96 s.
  std::string rule = base_rules + R"(title: No success
id: t-no-success
correlation: {type: absence, rules: [web_login_failed, web_login], group-by: [user.name], timespan: 30s}
)";
  std::vector<raw_event> events;
  for (int i = 0; i <= 24; ++i) events.push_back(failed(i * 4, "1.1.1.1", "bob"));
  const timestamp_ns t0 = *parse_rfc3339(at(0));
  for (std::size_t per_advance : {std::size_t{1}, std::size_t{3}, events.size()}) {
    harness h(rule);
    auto r = h.run_batched(events, std::vector<std::int32_t>(events.size(), 0), per_advance);
    std::vector<timestamp_ns> got;
    for (const auto& a : r.of("t-no-success")) got.push_back((a.last_seen - t0) / ns_per_second);
    EXPECT_EQ(got, (std::vector<timestamp_ns>{0, 32, 64, 96})) << per_advance << " events an advance";
  }
}

TEST(absence, joins_pos_and_badge_by_employee_through_aliases_looking_back) {
  std::string rule = base_rules + R"(title: POS login with no badge-in
id: t-pos-no-badge
correlation:
  type: absence
  rules: [pos_login, badge_in]
  group-by: [employee, site]
  timespan: 12h
  direction: before
  aliases:
    employee: {pos_login: retail.employee.id, badge_in: retail.employee.id}
    site: {pos_login: retail.store.id, badge_in: retail.site.id}
)";
  harness h(rule);
  auto r = h.run({badge(0, "E1", "S1"), pos(600, "employee_login", "E1", 0, "S1"),
                  pos(700, "employee_login", "E2", 0, "S1"),          // never badged in
                  badge(800, "E3", "S2"), pos(900, "employee_login", "E3", 0, "S1")});  // badged at another store
  auto alerts = r.of("t-pos-no-badge");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].group[0], (std::pair<std::string, std::string>{"employee", "E2"}));
  EXPECT_EQ(alerts[1].group[0].second, "E3");
}

TEST(first_seen, alerts_on_a_new_value_once_the_group_has_history) {
  harness h(base_rules + R"(title: New IP for a user
id: t-new-ip
correlation: {type: first_seen, rules: [web_login], group-by: [user.name], field: source.ip, lookback: 1d}
)");
  auto r = h.run({login(0, "10.0.0.1"), login(60, "10.0.0.1"), login(120, "10.0.0.2"), login(180, "10.0.0.2"),
                  login(240, "10.0.0.1", "newcomer")});
  auto alerts = r.of("t-new-ip");
  ASSERT_EQ(alerts.size(), 1u);  // the first value of any group is its baseline
  EXPECT_EQ(alerts[0].events.at(0).time, *parse_rfc3339(at(120)));
}

TEST(first_seen, forgets_values_older_than_the_lookback) {
  harness h(base_rules + R"(title: New IP
id: t-new-ip
correlation: {type: first_seen, rules: [web_login], group-by: [user.name], field: source.ip, lookback: 1h}
)");
  // .1 was last seen at 0 s; at 5000 s it is older than the lookback, so it is new again.
  auto r = h.run({login(0, "10.0.0.1"), login(60, "10.0.0.2"), login(3000, "10.0.0.2"), login(5000, "10.0.0.1")});
  EXPECT_EQ(r.of("t-new-ip").size(), 2u);
}

TEST(first_seen, a_group_silent_for_longer_than_the_lookback_starts_a_new_baseline) {
  harness h(base_rules + R"(title: New IP
id: t-new-ip
correlation: {type: first_seen, rules: [web_login], group-by: [user.name], field: source.ip, lookback: 1h}
)");
  // All of alice's state expires with her lookback: her next IP is a baseline, not an alert.
  auto r = h.run({login(0, "10.0.0.1"), login(60 + 7200, "10.0.0.9")});
  EXPECT_TRUE(r.of("t-new-ip").empty());
}

TEST(geo_velocity, flags_travel_faster_than_max_kmh) {
  std::string rule = base_rules + R"(title: Impossible travel
id: t-travel
correlation: {type: geo_velocity, rules: [mobile_login], group-by: [user.id], timespan: 1d, max_kmh: 900}
)";
  auto mobile = [](double s, double lat, double lon) {
    return raw_event{"mobile", R"({"ts":")" + at(s) + R"(","customer_id":"C1","device_id":"D1","ip":"1.2.3.4","geo":{"lat":)" +
                                   std::to_string(lat) + R"(,"lon":)" + std::to_string(lon) + R"(},"event":"login"})"};
  };
  harness fast(rule);  // Columbus, Ohio → Lagos in 10 minutes
  auto alerts = fast.run({mobile(0, 39.96, -83.0), mobile(600, 6.52, 3.38)}).of("t-travel");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_GT(*alerts[0].value, 9000);
  EXPECT_EQ(alerts[0].events.size(), 2u);
  harness slow(rule);  // the same trip in a day
  EXPECT_TRUE(slow.run({mobile(0, 39.96, -83.0), mobile(20 * 3600, 6.52, 3.38)}).of("t-travel").empty());
}

TEST(rate_anomaly, fires_when_a_bucket_far_exceeds_the_groups_baseline) {
  harness h(base_rules + R"(title: Refund spike
id: t-spike
correlation: {type: rate_anomaly, rules: [pos_refund], group-by: [retail.store.id], timespan: 1h, factor: 4, min_count: 8, baseline_buckets: 6}
)");
  std::vector<raw_event> events;
  for (int hour = 0; hour < 8; ++hour)
    for (int i = 0; i < 2; ++i) events.push_back(pos(hour * 3600 + i * 60, "refund"));
  for (int i = 0; i < 12; ++i) events.push_back(pos(8 * 3600 + i * 60, "refund"));  // 12 in hour 8
  auto alerts = h.run(events).of("t-spike");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 9u);  // fires when the count first passes 4 × baseline (2) and min_count
}

TEST(ratio, flags_many_voids_per_sale) {
  harness h(base_rules + R"(title: Void ratio
id: t-void-ratio
correlation: {type: ratio, rules: [pos_void, pos_sale], group-by: [retail.employee.id], timespan: 8h, min_denominator: 4, condition: {gte: 0.5}}
)");
  std::vector<raw_event> events;
  for (int i = 0; i < 4; ++i) events.push_back(pos(i * 60, "sale", "E1"));
  for (int i = 0; i < 4; ++i) events.push_back(pos(i * 60, "sale", "E2"));
  events.push_back(pos(300, "void", "E1"));
  events.push_back(pos(360, "void", "E1"));  // 2 voids / 4 sales
  events.push_back(pos(300, "void", "E2"));  // 1 / 4
  auto alerts = h.run(events).of("t-void-ratio");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].group[0].second, "E1");
  EXPECT_EQ(alerts[0].value, 0.5);
}

TEST(risk, sums_rule_scores_per_entity_and_alerts_over_the_threshold) {
  harness h(R"(title: Refund
name: refund
id: t-refund
risk_score: 20
logsource: {product: retail, service: pos}
detection: {sel: {event.action: refund}, condition: sel}
---
title: Void
name: void
id: t-void
risk_score: 35
logsource: {product: retail, service: pos}
detection: {sel: {event.action: void}, condition: sel}
---
title: Insider risk
id: t-insider
correlation:
  type: risk
  rules: [refund, void]
  group-by: [retail.employee.id]
  timespan: 1d
  condition: {gte: 100}
)");
  auto r = h.run({pos(0, "refund", "E1"), pos(10, "void", "E1"), pos(20, "void", "E1"), pos(30, "refund", "E2"),
                  pos(40, "refund", "E1")});  // E1: 20 + 35 + 35 + 20 = 110
  auto alerts = r.of("t-insider");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].value, 110.0);
  EXPECT_EQ(alerts[0].group[0].second, "E1");
}

TEST(alerts, carry_the_rules_loss_exposure) {
  harness h(count_rule("loss_exposure: {low: 100, high: 2500, currency: USD}\n"));
  std::vector<raw_event> events;
  for (int i = 0; i < 5; ++i) events.push_back(failed(i));
  auto alerts = h.run(events).of("t-five-failures");
  ASSERT_EQ(alerts.size(), 1u);
  ASSERT_TRUE(alerts[0].loss_exposure);
  EXPECT_EQ(alerts[0].loss_exposure->high, 2500);
  EXPECT_NE(to_json(alerts[0]).find(R"("loss_exposure":{"low":100,"high":2500,"currency":"USD"})"), std::string::npos);
}

TEST(geo_velocity, places_pos_events_through_a_store_location_table) {
  auto csv = std::filesystem::temp_directory_path() / ("stores-" + std::to_string(::getpid()) + ".csv");
  std::ofstream(csv) << "store_id,lat,lon\nS-OH,39.96,-83.0\nS-NY,40.71,-74.0\n";
  std::string rule = base_rules + R"(title: Employee at two stores too fast
id: t-two-stores
correlation:
  type: geo_velocity
  rules: [pos_sale]
  group-by: [retail.employee.id]
  timespan: 1d
  max_kmh: 500
  location_table: )" + csv.string() + R"(
  location_key: retail.store.id
)";
  harness h(rule);
  auto alerts = h.run({pos(0, "sale", "E1", 10, "S-OH"), pos(1800, "sale", "E1", 10, "S-NY"),
                       pos(0, "sale", "E2", 10, "S-OH"), pos(5 * 3600, "sale", "E2", 10, "S-NY"),
                       pos(100, "sale", "E3", 10, "S-UNKNOWN")}).of("t-two-stores");
  ASSERT_EQ(alerts.size(), 1u);  // 760 km in 30 min; not in 5 h; an unknown store has no place
  EXPECT_EQ(alerts[0].group[0].second, "E1");
  std::filesystem::remove(csv);
}

TEST(geo_velocity, a_location_table_that_does_not_parse_is_reported) {
  auto csv = std::filesystem::temp_directory_path() / ("bad-stores-" + std::to_string(::getpid()) + ".csv");
  std::ofstream(csv) << "store_id,lat,lon\nS-OH,north,-83.0\n";
  auto table = load_location_table(csv.string());
  ASSERT_FALSE(table);
  EXPECT_NE(table.message().find(":2: latitude and longitude must be numbers"), std::string::npos) << table.message();
  std::filesystem::remove(csv);
}

// A failed web login from 203.0.113.9 at `t`, offset `offset`, matched by
// `rule_ids`, in a layout earlier versions stored: 1 (no marker, a number after
// every field) or 2 (a marker, a number only for numbers); both spell names out.
static std::string earlier_layout_event(int layout, timestamp_ns t, int offset, std::string_view rule_ids) {
  auto& names = ingest::field_table::global();
  std::string out;
  encoder w(out);
  if (layout == 2) {
    w.bytes("");
    w.u64(2);
  }
  w.bytes("web");
  w.bytes("retail.web");
  w.i64(0);
  w.i64(offset);
  w.i64(t);
  w.bytes(rule_ids);
  w.u64(2);
  for (auto [name, text] : {std::pair{names.name(ingest::fields::source_ip), "203.0.113.9"},
                            std::pair{names.name(ingest::fields::event_action), "login_failed"}}) {
    w.bytes(name);
    w.u64(static_cast<std::uint64_t>(ingest::value_kind::string));
    w.bytes(text);
    if (layout == 1) w.f64(0);
  }
  return out;
}
static std::string first_layout_event(timestamp_ns t, int offset, std::string_view rule_ids) {
  return earlier_layout_event(1, t, offset, rule_ids);
}


TEST(engine, stored_evidence_names_known_fields_by_code_and_others_by_name) {
  // Field names were nearly half of every stored event: the known ones are
  // written as a code. A field no mapping knows keeps its name, and both come
  // back whole in the alert's evidence.
  auto with_note = [](double s) {
    raw_event e = failed(s);
    e.json.insert(e.json.size() - 1, R"(,"x_shift_note":"late shift")");
    return e;
  };
  harness h(count_rule());
  std::vector<raw_event> events = {with_note(0), with_note(10), with_note(20), with_note(30), with_note(40)};
  EXPECT_TRUE(h.run(events, /*flush=*/false).alerts.empty());
  int stored = 0;
  h.state().for_each("e/", [&](std::string_view, std::string_view v) {
    ++stored;
    EXPECT_EQ(v.find("source.ip"), std::string_view::npos);
    EXPECT_EQ(v.find("event.action"), std::string_view::npos);
    EXPECT_NE(v.find("x_shift_note"), std::string_view::npos);
    EXPECT_NE(v.find("203.0.113.9"), std::string_view::npos);
  });
  EXPECT_EQ(stored, 5);
  run_result out = h.run({}, /*flush=*/true);
  auto alerts = out.of("t-five-failures");
  ASSERT_EQ(alerts.size(), 1u);
  ASSERT_EQ(alerts[0].events.size(), 5u);
  std::map<std::string, std::string> fields;
  for (const auto& f : alerts[0].events[0].fields) fields[f.name] = f.text;
  EXPECT_EQ(fields["source.ip"], "203.0.113.9");
  EXPECT_EQ(fields["event.action"], "login_failed");
  EXPECT_EQ(fields["x_shift_note"], "late shift");
}

// Five failed logins buffered by an earlier version, in one of its layouts:
// the whole event in its reorder entry (r/); the event as evidence (e/, no
// rules) beside a reorder entry holding the rules it matched; or the event with
// its rules as evidence, field names spelled out (layout 2, before the codes).
enum class old_layout { event_in_reorder_entry, rules_in_reorder_entry, names_spelled_out };
static memory_state buffered_by_an_earlier_version(old_layout layout) {
  memory_state state;
  const timestamp_ns t0 = *parse_rfc3339(at(0));
  for (int i = 0; i < 5; ++i) {
    timestamp_ns t = t0 + i * 10 * ns_per_second;
    std::string key;
    append_ordered_time(key, t);
    key.push_back(static_cast<char>('a' + i));
    if (layout == old_layout::event_in_reorder_entry) {
      state.put("r/" + key, first_layout_event(t, i, "t-web-login-failed"), INT64_MAX);
    } else if (layout == old_layout::names_spelled_out) {
      state.put("e/" + key, earlier_layout_event(2, t, i, "t-web-login-failed"), INT64_MAX);
    } else {
      state.put("e/" + key, first_layout_event(t, i, ""), INT64_MAX);
      state.put("r/" + key, "t-web-login-failed", INT64_MAX);
    }
  }
  return state;
}

static engine_options no_lateness() {
  engine_options options;
  options.allowed_lateness = 0;
  return options;
}

// An engine restored from five events an earlier version buffered (all five back
// in the reorder buffer), then flushed: what it raises from them.
static run_result restored_and_flushed(old_layout layout) {
  run_result out;
  auto loaded = rules::parse_rules(count_rule(), "test.yml");
  EXPECT_FALSE(loaded.has_errors());
  if (loaded.has_errors()) return out;
  engine e(loaded.rules, no_lateness());
  memory_state state = buffered_by_an_earlier_version(layout);
  e.restore(state);
  EXPECT_EQ(e.counts().buffered, 5u);
  e.flush(state, out);
  return out;
}

TEST(engine, evidence_stored_in_the_second_layout_is_restored_and_cited) {
  // State written before field names were stored by code must still correlate
  // and be cited, name for name, after an upgrade.
  run_result out = restored_and_flushed(old_layout::names_spelled_out);
  ASSERT_EQ(out.alerts.size(), 1u);
  ASSERT_EQ(out.alerts[0].events.size(), 5u);
  const auto& fields = out.alerts[0].events[2].fields;
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].name, "source.ip");
  EXPECT_EQ(fields[0].text, "203.0.113.9");
  EXPECT_EQ(fields[1].name, "event.action");
  EXPECT_EQ(out.alerts[0].events[2].offset, 2);
}

TEST(engine, restores_a_reorder_buffer_written_before_events_moved_to_evidence) {
  // State written when buffered events lived whole in r/ must still correlate,
  // with evidence, after an upgrade.
  run_result out = restored_and_flushed(old_layout::event_in_reorder_entry);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].rule_id, "t-five-failures");
  ASSERT_EQ(out.alerts[0].events.size(), 5u);  // the evidence moved to e/ on restore
  EXPECT_EQ(out.alerts[0].events[4].offset, 4);
}

TEST(engine, restores_a_reorder_buffer_that_named_its_rules_beside_the_evidence) {
  // A restore folds the rules of r/ into the evidence and drops the reorder entries.
  auto loaded = rules::parse_rules(count_rule(), "test.yml");
  ASSERT_FALSE(loaded.has_errors());
  engine e(loaded.rules, no_lateness());
  memory_state state = buffered_by_an_earlier_version(old_layout::rules_in_reorder_entry);
  e.restore(state);
  EXPECT_EQ(e.counts().buffered, 5u);
  int reorder_entries = 0;
  state.for_each("r/", [&](std::string_view, std::string_view) { ++reorder_entries; });
  EXPECT_EQ(reorder_entries, 0);
  // A second restore (a restart before anything was released) finds the same buffer.
  engine again(loaded.rules, no_lateness());
  again.restore(state);
  EXPECT_EQ(again.counts().buffered, 5u);
  run_result out;
  again.flush(state, out);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].rule_id, "t-five-failures");
  EXPECT_EQ(out.alerts[0].events.size(), 5u);
}
