// The window operators keep running figures as entries come and go (a sum, the
// numbers in order, entries per rule, distinct values) instead of passing over
// the whole window at every match, and drop their oldest entries by moving the
// window's start. These tests recount the window from scratch after every event
// and hold each alert's figure to the recount: through evictions, a window
// emptied by a long gap, a burst past the 10,000-entry cap, and windows decoded
// again from the state at every batch.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "harness.h"

using namespace sentrail;
using namespace sentrail::correlate;
using namespace sentrail::correlate::testing;

namespace {

constexpr std::int64_t timespan_ms = 60'000;
constexpr std::size_t window_cap = 10'000;  // the engine's entries per group

struct sample {
  std::int64_t ms;  // event time, milliseconds after the harness's base time
  int action;       // 0 sale, 1 void, 2 refund
  double amount;    // in cents' steps, so sums are not exact in binary
  int store;
};

const char* const action_names[] = {"sale", "void", "refund"};

// One employee's events: mostly seconds apart (entries leave the window one or
// two at a time), a gap longer than the timespan (the window empties) and, with
// `burst`, 10,200 one millisecond apart (the window passes its cap; every event
// raises an alert here, so only the tests of the cap's path take the time).
std::vector<sample> traffic(unsigned seed, bool burst = false) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> action(0, 2), store(1, 30), cents(1, 99999), gap_ms(1, 3000);
  std::vector<sample> out;
  std::int64_t t = 0;
  auto add = [&](std::int64_t step) {
    t += step;
    // Every fifth amount is the same, so windows hold equal numbers to count and drop.
    out.push_back({t, action(rng), out.size() % 5 == 0 ? 10.0 : cents(rng) / 100.0, store(rng)});
  };
  for (int i = 0; i < 400; ++i) add(gap_ms(rng));
  t += 2 * timespan_ms;
  for (int i = 0; i < 200; ++i) add(gap_ms(rng));
  if (burst)
    for (int i = 0; i < 10'200; ++i) add(1);
  for (int i = 0; i < 300; ++i) add(gap_ms(rng));
  return out;
}

// Event time in whole nanoseconds: a time built from seconds as a double could
// land a nanosecond off a window's edge.
timestamp_ns time_of(const sample& s) { return *parse_rfc3339("2026-11-23T10:00:00Z") + s.ms * 1'000'000; }

std::vector<raw_event> as_events(const std::vector<sample>& samples) {
  std::vector<raw_event> events;
  for (const auto& s : samples)
    events.push_back({"pos", R"({"ts":")" + format_rfc3339(time_of(s)) +
                                 R"(","store_id":"S)" + std::to_string(s.store) +
                                 R"(","register_id":"R1","employee_id":"E1","event":")" + action_names[s.action] +
                                 R"(","amount":)" + std::to_string(s.amount) + "}"});
  return events;
}

// The window as the engine defines it, recounted: the matches of the last
// timespan (inclusive), at most the cap, oldest dropped first.
struct recount {
  std::deque<sample> window;
  void add(const sample& s) {
    while (!window.empty() && window.front().ms < s.ms - timespan_ms) window.pop_front();
    window.push_back(s);
    if (window.size() > window_cap) window.pop_front();
  }
  double sum() const {
    double v = 0;
    for (const auto& s : window) v += s.amount;
    return v;
  }
};

// Runs `correlation` (without its closing brace: the test adds no suppression)
// over the traffic in batches of `per_advance` events and returns its alerts in
// order. (A window is stored and read back between batches: in one value, or past
// 512 entries in segments of 128.)
std::vector<alert> alerts_of(const std::string& correlation, const std::vector<sample>& samples,
                             std::size_t per_advance = 1000) {
  harness h(base_rules + "title: Under test\nid: t-under-test\ncorrelation: {group-by: [retail.employee.id], timespan: 60s, "
                        "suppress: 0s, " + correlation + "}\n");
  auto out = h.run_batched(as_events(samples), {}, per_advance);
  auto alerts = out.of("t-under-test");
  std::sort(alerts.begin(), alerts.end(), [](const alert& a, const alert& b) { return a.last_seen < b.last_seen; });
  return alerts;
}

TEST(window_upkeep, event_count_counts_the_window_through_evictions_and_past_the_cap) {
  auto samples = traffic(1, true);
  for (std::size_t per_advance : {std::size_t{1000}, std::size_t{37}}) {
  SCOPED_TRACE("advancing every " + std::to_string(per_advance) + " events");
  auto alerts = alerts_of("type: event_count, rules: [pos_sale, pos_void, pos_refund], condition: {gte: 0}", samples,
                          per_advance);
  ASSERT_EQ(alerts.size(), samples.size());
  recount r;
  std::size_t at_cap = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    r.add(samples[i]);
    ASSERT_EQ(alerts[i].last_seen, time_of(samples[i])) << i;
    ASSERT_EQ(alerts[i].count, r.window.size()) << "event " << i;
    ASSERT_EQ(alerts[i].first_seen, time_of(r.window.front())) << "event " << i;
    at_cap += r.window.size() == window_cap;
  }
  EXPECT_GT(at_cap, 100u);  // the burst held the window at its cap
  }
}

TEST(window_upkeep, value_sum_equals_the_sum_of_the_window_past_the_cap) {
  auto samples = traffic(2, true);
  auto sums = alerts_of("type: value_sum, rules: [pos_sale, pos_void, pos_refund], condition: {field: retail.amount, gte: 0}", samples);
  ASSERT_EQ(sums.size(), samples.size());
  recount r;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    r.add(samples[i]);
    const double sum = r.sum();
    ASSERT_NEAR(sums[i].value.value_or(NAN), sum, 1e-9 * std::max(1.0, sum)) << "event " << i;
  }
}

TEST(window_upkeep, value_avg_is_the_mean_of_the_window) {
  auto samples = traffic(8);
  auto avgs = alerts_of("type: value_avg, rules: [pos_sale, pos_void, pos_refund], condition: {field: retail.amount, gte: 0}", samples);
  ASSERT_EQ(avgs.size(), samples.size());
  recount r;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    r.add(samples[i]);
    ASSERT_NEAR(avgs[i].value.value_or(NAN), r.sum() / static_cast<double>(r.window.size()), 1e-9) << "event " << i;
  }
}

TEST(window_upkeep, value_percentile_is_the_nearest_rank_of_the_window) {
  auto samples = traffic(3);
  auto alerts = alerts_of(
      "type: value_percentile, percentile: 90, rules: [pos_sale, pos_void, pos_refund], condition: {field: retail.amount, gte: 0}",
      samples);
  ASSERT_EQ(alerts.size(), samples.size());
  recount r;
  std::vector<double> sorted;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    r.add(samples[i]);
    sorted.clear();
    for (const auto& s : r.window) sorted.push_back(s.amount);
    std::sort(sorted.begin(), sorted.end());
    auto rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(sorted.size())));
    ASSERT_EQ(alerts[i].value, sorted[rank - 1]) << "event " << i;
  }
}

TEST(window_upkeep, value_count_counts_the_distinct_values_in_the_window) {
  auto samples = traffic(4);
  auto alerts = alerts_of(
      "type: value_count, rules: [pos_sale, pos_void, pos_refund], condition: {field: retail.store.id, gte: 0}", samples);
  ASSERT_EQ(alerts.size(), samples.size());
  recount r;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    r.add(samples[i]);
    std::set<int> stores;
    for (const auto& s : r.window) stores.insert(s.store);
    ASSERT_EQ(alerts[i].value, static_cast<double>(stores.size())) << "event " << i;
  }
}

TEST(window_upkeep, risk_adds_up_the_scores_in_the_window) {
  auto samples = traffic(5);
  auto alerts = alerts_of(
      "type: risk, rules: [pos_sale, pos_void, pos_refund], scores: {pos_sale: 1, pos_void: 10, pos_refund: 100}, condition: {gte: 0}",
      samples);
  ASSERT_EQ(alerts.size(), samples.size());
  const double score[] = {1, 10, 100};
  recount r;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    r.add(samples[i]);
    double sum = 0;
    for (const auto& s : r.window) sum += score[s.action];
    ASSERT_EQ(alerts[i].value, sum) << "event " << i;
  }
}

TEST(window_upkeep, ratio_divides_the_window_counts_of_its_two_rules) {
  auto samples = traffic(6);
  for (auto& s : samples) s.action = s.action == 2 ? 0 : s.action;  // sales and voids only
  auto alerts = alerts_of("type: ratio, rules: [pos_void, pos_sale], min_denominator: 1, condition: {gte: 0}", samples);
  recount r;
  std::size_t expected = 0;
  for (const auto& s : samples) {
    r.add(s);
    const auto voids = static_cast<double>(std::count_if(r.window.begin(), r.window.end(), [](const sample& x) { return x.action == 1; }));
    const double sales = static_cast<double>(r.window.size()) - voids;
    if (s.action != 1 || sales < 1) continue;  // only a void is judged, and only with a sale to divide by
    ASSERT_LT(expected, alerts.size());
    ASSERT_EQ(alerts[expected].last_seen, time_of(s));
    ASSERT_EQ(alerts[expected].value, voids / sales) << "alert " << expected;
    ++expected;
  }
  EXPECT_EQ(alerts.size(), expected);
  EXPECT_GT(expected, 200u);
}

TEST(window_upkeep, temporal_fires_when_the_window_holds_every_rule_and_starts_over) {
  auto samples = traffic(7);
  auto alerts = alerts_of("type: temporal, rules: [pos_sale, pos_void, pos_refund]", samples);
  recount r;
  std::size_t expected = 0;
  for (const auto& s : samples) {
    r.add(s);
    std::set<int> actions;
    for (const auto& x : r.window) actions.insert(x.action);
    if (actions.size() < 3) continue;
    ASSERT_LT(expected, alerts.size());
    ASSERT_EQ(alerts[expected].last_seen, time_of(s));
    ASSERT_EQ(alerts[expected].count, r.window.size()) << "alert " << expected;
    ++expected;
    r.window.clear();  // a completed set starts over
  }
  EXPECT_EQ(alerts.size(), expected);
  EXPECT_GT(expected, 50u);
}

// absence keeps a group's waiting A's decoded through an advance too: refunds
// (A) mostly seconds apart, with sales (B) among them, and a run of 3,000
// refunds 10 ms apart that no sale answers. An A alerts when no B follows it
// within the timespan (a B at the deadline still answers).
TEST(window_upkeep, absence_alerts_for_every_a_no_b_answered_within_the_timespan) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> gap_ms(1, 4000), coin(0, 3);
  std::vector<sample> samples;
  std::int64_t t = 0;
  for (int i = 0; i < 600; ++i) samples.push_back({t += gap_ms(rng), coin(rng) == 0 ? 0 : 2, 1, 1});
  for (int i = 0; i < 3000; ++i) samples.push_back({t += 10, 2, 1, 1});
  t += 2 * timespan_ms;  // nothing answers the run
  for (int i = 0; i < 300; ++i) samples.push_back({t += gap_ms(rng), coin(rng) == 0 ? 0 : 2, 1, 1});
  std::vector<timestamp_ns> expected;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].action != 2) continue;
    bool answered = false;
    for (std::size_t j = i + 1; j < samples.size() && samples[j].ms <= samples[i].ms + timespan_ms; ++j)
      answered = answered || samples[j].action == 0;
    if (!answered) expected.push_back(time_of(samples[i]));
  }
  auto alerts = alerts_of("type: absence, rules: [pos_refund, pos_sale], direction: after", samples);
  std::vector<timestamp_ns> got;
  for (const auto& a : alerts) got.push_back(a.first_seen);
  EXPECT_EQ(got, expected);
  EXPECT_GT(expected.size(), 3000u);
}

// A timer whose A a B already answered finds nothing to fire; the window it
// opened (with a later A still waiting) must not be written back as changed,
// or with an expiry it never had.
TEST(window_upkeep, absence_timer_with_nothing_to_fire_leaves_the_waiting_a_alone) {
  const std::vector<sample> samples = {
      {0, 2, 1, 1},        // A1
      {10'000, 0, 1, 1},   // B answers A1
      {20'000, 2, 1, 1},   // A2 waits
      {61'000, 1, 1, 1},   // a void (no rule here) moves event time past A1's deadline
      {79'000, 1, 1, 1},   // and up to A2's: still in time for a B
      {200'000, 1, 1, 1},  // past A2's deadline: A2 alerts
  };
  for (std::size_t per_advance : {std::size_t{1}, std::size_t{100}}) {
    harness h(base_rules + "title: Under test\nid: t-under-test\ncorrelation: {group-by: [retail.store.id], "
                          "timespan: 60s, type: absence, rules: [pos_refund, pos_sale], direction: after}\n",
              [] {
                engine_options o;
                o.allowed_lateness = 0;
                return o;
              }());
    auto alerts = h.run_batched(as_events(samples), {}, per_advance).of("t-under-test");
    ASSERT_EQ(alerts.size(), 1u) << "advancing every " << per_advance << " events";
    EXPECT_EQ(alerts[0].first_seen, time_of(samples[2]));
  }
}

// Matches the cap pushes out are counted per correlation (the engine reports
// them with its rule matches; /metrics and `sentrail replay` show them).
TEST(window_upkeep, matches_pushed_out_at_the_cap_are_counted_per_rule) {
  harness h(base_rules + "title: Counted\nid: t-counted\ncorrelation: {type: event_count, rules: [pos_sale], "
                        "group-by: [retail.employee.id], timespan: 60s, condition: {gte: 1000000}}\n---\n"
                        "title: Waiting\nid: t-waiting\ncorrelation: {type: absence, rules: [pos_refund, pos_void], "
                        "group-by: [retail.employee.id], timespan: 60s, suppress: 0s}\n");
  std::vector<sample> samples;
  for (std::int64_t i = 0; i < 10'050; ++i) samples.push_back({i, 0, 1, 1});  // sales: 50 past the cap
  for (std::int64_t i = 0; i < 10'020; ++i) samples.push_back({20'000 + i, 2, 1, 1});  // refunds, unanswered
  auto out = h.run_batched(as_events(samples), {}, 1000);
  std::map<std::string, std::uint64_t> pushed_out;
  for (const auto& r : h.correlations().rule_matches()) pushed_out[std::string(r.rule_id)] = r.pushed_out;
  EXPECT_EQ(pushed_out["t-counted"], 50u);
  EXPECT_EQ(pushed_out["t-waiting"], 20u);
  // The 20 newest refunds were turned away at the cap, without a verdict; the
  // 10,000 oldest each alerted at their own deadline, the first one on time.
  auto waiting = out.of("t-waiting");
  ASSERT_EQ(waiting.size(), 10'000u);
  std::vector<timestamp_ns> got, expected;
  for (const auto& a : waiting) got.push_back(a.first_seen);
  for (std::int64_t i = 0; i < 10'000; ++i) expected.push_back(time_of(samples[10'050 + i]));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

// A window past 512 entries is stored as segments of 128 entries, each written
// once, and a value holding the rest: what a batch writes for a group under
// attack no longer grows with its window. Segments the window's start passes
// are erased, and a window that shrinks goes back to one value.
TEST(window_upkeep, a_large_window_is_stored_in_segments_and_shrinks_back_to_one_value) {
  harness h(base_rules + "title: Under test\nid: t-under-test\ncorrelation: {group-by: [retail.employee.id], "
                        "timespan: 60s, type: event_count, rules: [pos_sale], condition: {gte: 1000000}}\n",
            [] {
              engine_options o;
              o.allowed_lateness = 0;  // each batch releases all it read
              return o;
            }());
  std::vector<sample> burst;
  for (std::int64_t i = 0; i < 12'000; ++i) burst.push_back({i, 0, 1, 1});  // 2,000 past the cap
  h.run_batched(as_events(burst), {}, 1000, /*flush=*/false);
  auto segments = [&] {
    std::size_t n = 0;
    h.state().for_each_from("w/", "w/", [&](std::string_view, std::string_view) { ++n; });
    return n;
  };
  const std::string key = "c/t-under-test\x1e" "E1";
  auto value = h.state().get(key);
  ASSERT_TRUE(value.has_value());
  EXPECT_LT(value->size(), 16'000u) << "the window's own value holds at most one segment's worth";
  EXPECT_GE(segments(), 10'000u / 128 - 1);
  EXPECT_LE(segments(), 10'000u / 128 + 1);
  // `sentrail state inspect` shows the whole window, segments included.
  const std::string shown = describe_state(key, [&](std::string_view k) -> std::optional<std::string> {
    auto v = h.state().get(k);
    return v ? std::optional<std::string>(*v) : std::nullopt;
  });
  std::size_t entries_shown = 0;
  for (std::size_t at = shown.find("\"rule\":"); at != std::string::npos; at = shown.find("\"rule\":", at + 1))
    ++entries_shown;  // each entry names its rule (its evidence does not)
  EXPECT_EQ(entries_shown, 10'000u);
  // Past the timespan, a few sales: the window holds them alone, in one value.
  std::vector<sample> later;
  for (std::int64_t i = 0; i < 5; ++i) later.push_back({200'000 + i * 1000, 0, 1, 1});
  h.run_batched(as_events(later), {}, 1, /*flush=*/false);
  EXPECT_EQ(segments(), 0u);
}

// first_seen against a recount: values seen again move to the newest end, the
// least recently seen are forgotten past max_values, and one not seen within the
// lookback is new again, whether the engine advances after every event or every
// 250. (It reads and writes its values at every match: kept decoded through an
// advance as the window operators are, the pack replay took 1.8% more
// instructions, its groups being mostly one match per batch.)
TEST(window_upkeep, first_seen_alerts_on_values_new_within_the_lookback_and_the_remembered_set) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> store(1, 40), gap_ms(1, 2000);
  std::vector<sample> samples;
  std::int64_t t = 0;
  for (int i = 0; i < 3000; ++i) samples.push_back({t += gap_ms(rng), 0, 1, store(rng)});
  // The engine's rule: lookback 30 s, 16 values remembered, alerts once 1 event was seen.
  std::vector<timestamp_ns> expected;
  std::vector<std::pair<int, std::int64_t>> remembered;  // store, last seen; most recent last
  for (const auto& s : samples) {
    auto it = std::find_if(remembered.begin(), remembered.end(), [&](const auto& r) { return r.first == s.store; });
    const bool known = it != remembered.end() && s.ms - it->second <= 30'000;
    if (it != remembered.end()) remembered.erase(it);
    if (!known && &s != &samples.front()) expected.push_back(time_of(s));
    remembered.push_back({s.store, s.ms});
    if (remembered.size() > 16) remembered.erase(remembered.begin());
  }
  for (std::size_t per_advance : {std::size_t{1}, std::size_t{250}}) {
    SCOPED_TRACE("advancing every " + std::to_string(per_advance) + " events");
    harness h(base_rules + "title: Under test\nid: t-under-test\ncorrelation: {type: first_seen, rules: [pos_sale], "
                           "group-by: [retail.employee.id], field: retail.store.id, lookback: 30s, max_values: 16}\n");
    auto alerts = h.run_batched(as_events(samples), {}, per_advance).of("t-under-test");
    std::vector<timestamp_ns> got;
    for (const auto& a : alerts) got.push_back(a.first_seen);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected);
  }
  EXPECT_GT(expected.size(), 300u);
  EXPECT_LT(expected.size(), 2500u);
}

}  // namespace
