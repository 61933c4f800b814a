// Google Benchmark for the hot components, each on realistic input:
// decode+normalise+minimise one event per channel, the PAN scan, rule matching,
// a correlation operator, and state access through the RocksDB-backed cache.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "correlate/codec.h"
#include "correlate/memory_state.h"
#include "correlate/pipeline.h"
#include "ingest/decoder.h"
#include "ingest/minimise.h"
#include "rules/loader.h"
#include "store/state.h"
#include "triage/service.h"

namespace {

using namespace sentrail;

const char* web_event =
    R"({"ts":"2026-11-23T10:00:00.123Z","client_ip":"203.0.113.7","method":"POST","path":"/checkout/pay","status":200,"bytes":512,"user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36","session_id":"s-8f3a9c","user":"alice@example.com","event":"payment_authorized","amount":129.99,"currency":"USD","card_pan":"4111111111111111"})";
const char* pos_event =
    R"({"ts":"2026-11-23T10:00:00.123Z","store_id":"S017","register_id":"S017-R3","employee_id":"E0421","txn_id":"T98765","event":"refund","amount":49.5,"currency":"USD"})";

struct fixture {
  ingest::channel_catalog channels = ingest::default_catalog().value();
  ingest::minimiser privacy{"bench-key-0123456789abcdef"};
  ingest::decoder decoder{privacy};
  ingest::event event;
};

void decode(benchmark::State& state, const char* channel, const char* raw) {
  fixture f;
  const auto& mapping = *f.channels.by_name(channel);
  for (auto _ : state) {
    auto r = f.decoder.decode(raw, mapping, {"t", 0, 0}, f.event);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * std::strlen(raw)));
}
BENCHMARK_CAPTURE(decode, web_payment_with_pan, "web", web_event);
BENCHMARK_CAPTURE(decode, pos_refund, "pos", pos_event);

// A card seen for the first time (the recent-digest cache misses): the keyed hash itself.
void card_token_of_new_cards(benchmark::State& state) {
  ingest::minimiser privacy{"bench-key-0123456789abcdef"};
  std::vector<std::string> cards;
  for (int i = 0; i < 100000; ++i) cards.push_back(std::to_string(4111111100000000LL + i * 7919LL));
  char token[36];
  std::size_t i = 0;
  for (auto _ : state) {
    privacy.card_token(cards[i], token);
    benchmark::DoNotOptimize(token);
    if (++i == cards.size()) i = 0;
  }
}
BENCHMARK(card_token_of_new_cards);

void find_pan_in_user_agent(benchmark::State& state) {
  std::string ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
  for (auto _ : state) benchmark::DoNotOptimize(ingest::find_pan(ua));
}
BENCHMARK(find_pan_in_user_agent);

void match_pack_rules(benchmark::State& state) {
  fixture f;
  auto loaded = rules::load_rules(SENTRAIL_SOURCE_DIR "/rules/pack");
  (void)f.decoder.decode(web_event, *f.channels.by_name("web"), {"t", 0, 0}, f.event);
  auto candidates = loaded.rules.for_channel("web");
  for (auto _ : state) {
    int n = 0;
    for (const auto* r : candidates) n += r->matches(f.event);
    benchmark::DoNotOptimize(n);
  }
  state.counters["rules"] = static_cast<double>(candidates.size());
}
BENCHMARK(match_pack_rules);

// One event through decode, detection and an event_count correlation (in memory).
void pipeline_event_count(benchmark::State& state) {
  fixture f;
  auto loaded = rules::parse_rules(R"(
title: Refund
name: refund
id: b-refund
logsource: {product: retail, service: pos}
detection: {sel: {event.action: refund}, condition: sel}
---
title: Refunds
id: b-refunds
correlation: {type: event_count, rules: [refund], group-by: [retail.employee.id], timespan: 1h, condition: {gte: 1000000}}
)", "b.yml");
  correlate::engine_options o;
  o.idle_timeout = INT64_MAX;
  o.allowed_lateness = 0;
  correlate::engine engine(loaded.rules, o);
  correlate::memory_state mem;
  correlate::pipeline pipe(f.channels, engine, f.privacy, mem);
  struct : correlate::alert_sink, correlate::rejection_sink {
    void emit(const correlate::alert&) override {}
    void reject(const ingest::rejection&, std::string_view, std::string_view, const ingest::source_position&) override {}
  } sink;
  const auto& pos = *f.channels.by_name("pos");
  std::int64_t i = 0;
  std::string raw = pos_event;
  for (auto _ : state) {
    pipe.process(raw, pos, {"t", 0, i++}, sink, sink);
    pipe.advance(0, sink);
  }
}
BENCHMARK(pipeline_event_count);

// Each correlation operator on one group whose window holds `window` matches
// (events 1 s apart, timespan `window` seconds): a burst on one entity must not
// cost more per event as its window grows. `no_match` is the baseline: the same
// events decoded and checked against the same detections, none of which matches.
// Conditions never hold, so what is timed is the window's upkeep, not alerting,
// and the events cycle through the actions of the rules the correlation
// references, so no detection alerts on its own. geo_velocity is left out: POS
// events carry no place, and its state is one location whatever the traffic.
std::string pos_detection(std::string_view name, std::string_view action) {
  return "title: " + std::string(name) + "\nname: " + std::string(name) + "\nid: b-" + std::string(name) +
         "\nlogsource: {product: retail, service: pos}\ndetection: {sel: {event.action: " + std::string(action) +
         "}, condition: sel}\n---\n";
}
const std::string operator_base_rules = pos_detection("pos_sale", "sale") + pos_detection("pos_void", "void") +
                                        pos_detection("pos_refund", "refund") + pos_detection("pos_nosale", "no_sale");

std::string operator_rule(std::string_view type, std::int64_t window) {
  const std::string span = std::to_string(window) + "s";
  const std::string yaml_type = type == "absence_unanswered" ? "absence" : std::string(type);
  const std::string head = "title: Op\nid: b-op\ncorrelation: {type: " + yaml_type +
                           ", group-by: [retail.employee.id], timespan: " + span + ", ";
  if (type == "no_match") return "";
  if (type == "event_count") return head + "rules: [pos_sale, pos_void, pos_refund], condition: {gte: 1000000000}}\n";
  if (type == "value_count")
    return head + "rules: [pos_sale, pos_void, pos_refund], condition: {field: retail.store.id, gte: 1000000000}}\n";
  if (type == "value_sum" || type == "value_avg")
    return head + "rules: [pos_sale, pos_void, pos_refund], condition: {field: retail.amount, gte: 1.0e18}}\n";
  if (type == "value_percentile")
    return head + "rules: [pos_sale, pos_void, pos_refund], percentile: 95, condition: {field: retail.amount, gte: 1.0e18}}\n";
  if (type == "temporal") return head + "rules: [pos_sale, pos_void, pos_refund, pos_nosale]}\n";
  if (type == "temporal_ordered") return head + "rules: [pos_sale, pos_void, pos_refund]}\n";
  if (type == "absence" || type == "absence_unanswered")
    return head + "rules: [pos_refund, pos_sale], direction: after}\n";
  if (type == "ratio") return head + "rules: [pos_void, pos_sale], min_denominator: 1, condition: {gte: 1000000000}}\n";
  if (type == "risk")
    return head + "rules: [pos_sale, pos_void, pos_refund], scores: {pos_sale: 1, pos_void: 2, pos_refund: 3}, " +
           "condition: {gte: 1.0e18}}\n";
  if (type == "rate_anomaly")
    return head + "rules: [pos_sale, pos_void, pos_refund], factor: 1000000, min_count: 1000000000, baseline_buckets: 24}\n";
  if (type == "first_seen") return head + "rules: [pos_sale, pos_void, pos_refund], field: retail.store.id}\n";
  return "unknown type";
}

void correlation_operator(benchmark::State& state, std::string_view type) {
  const std::int64_t window = state.range(0);
  fixture f;
  auto loaded = rules::parse_rules(operator_base_rules + operator_rule(type, window), "b.yml");
  for (const auto& d : loaded.diagnostics)
    if (d.sev == rules::severity::error) {
      state.SkipWithError(d.to_string().c_str());
      return;
    }
  correlate::engine_options o;
  o.idle_timeout = INT64_MAX;
  o.allowed_lateness = 0;
  std::vector<std::string> problems;
  correlate::engine engine(loaded.rules, o, &problems);
  if (!problems.empty()) {
    state.SkipWithError(problems.front().c_str());
    return;
  }
  correlate::memory_state mem;
  correlate::pipeline pipe(f.channels, engine, f.privacy, mem);
  struct : correlate::alert_sink, correlate::rejection_sink {
    std::uint64_t alerts = 0;
    void emit(const correlate::alert&) override { ++alerts; }
    void reject(const ingest::rejection&, std::string_view, std::string_view, const ingest::source_position&) override {}
  } sink;
  const auto& pos = *f.channels.by_name("pos");
  std::vector<std::string> actions = {"sale", "void", "refund"};
  if (type == "ratio") actions = {"void", "sale"};
  if (type == "absence") actions = {"refund", "sale"};
  // No sale ever answers: `window` refunds wait, and each event's timer fires for the oldest (an alert per event).
  if (type == "absence_unanswered") actions = {"refund"};
  if (type == "no_match") actions = {"return", "layaway", "price_check"};
  const timestamp_ns start = *parse_rfc3339("2026-11-23T00:00:00Z");
  std::int64_t i = 0;
  std::string raw;
  auto next = [&] {
    raw = R"({"ts":")" + format_rfc3339(start + i * ns_per_second) + R"(","store_id":"S)" + std::to_string(i % 50) +
          R"(","register_id":"R1","employee_id":"E0421","txn_id":"T)" + std::to_string(i) + R"(","event":")" +
          actions[static_cast<std::size_t>(i) % actions.size()] + R"(","amount":)" + std::to_string((i * 37) % 500) + R"(.5,"currency":"USD"})";
    pipe.process(raw, pos, {"t", 0, i}, sink, sink);
    // The worker advances once a batch; a small batch keeps the flush of each window in the figure.
    if (++i % 256 == 0) pipe.advance(0, sink);
  };
  // Fill the window first (up to the engine's cap of 10,000 entries and beyond it).
  for (std::int64_t k = 0; k < std::min<std::int64_t>(window, 20000); ++k) next();
  for (auto _ : state) next();
  state.SetItemsProcessed(state.iterations());
  state.counters["alerts"] = static_cast<double>(sink.alerts);
}
#define SENTRAIL_OPERATOR_BENCHMARK(type) \
  BENCHMARK_CAPTURE(correlation_operator, type, #type)->Arg(16)->Arg(1000)->Arg(20000)
SENTRAIL_OPERATOR_BENCHMARK(no_match);
SENTRAIL_OPERATOR_BENCHMARK(event_count);
SENTRAIL_OPERATOR_BENCHMARK(value_count);
SENTRAIL_OPERATOR_BENCHMARK(value_sum);
SENTRAIL_OPERATOR_BENCHMARK(value_avg);
SENTRAIL_OPERATOR_BENCHMARK(value_percentile);
SENTRAIL_OPERATOR_BENCHMARK(temporal);
SENTRAIL_OPERATOR_BENCHMARK(temporal_ordered);
SENTRAIL_OPERATOR_BENCHMARK(absence);
SENTRAIL_OPERATOR_BENCHMARK(absence_unanswered);
SENTRAIL_OPERATOR_BENCHMARK(first_seen);
SENTRAIL_OPERATOR_BENCHMARK(rate_anomaly);
SENTRAIL_OPERATOR_BENCHMARK(risk);
SENTRAIL_OPERATOR_BENCHMARK(ratio);
#undef SENTRAIL_OPERATOR_BENCHMARK

void cached_state_hit(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / "sentrail-micro-state";
  std::filesystem::remove_all(dir);
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  store::cached_state s(**db);
  std::string value(64, 'x');
  for (int k = 0; k < 1000; ++k) s.put("c/r\x1e" + std::to_string(k), value, INT64_MAX);
  int k = 0;
  for (auto _ : state) {
    auto v = s.get("c/r\x1e" + std::to_string(k++ % 1000));
    benchmark::DoNotOptimize(v);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(cached_state_hit);

// 1,000 puts of a `value_size`-byte value through the cache, under the keys
// `key_of(n)` writes, flushed into a store batch: one batch's worth per iteration.
template <class KeyOf>
void batch_of_puts(benchmark::State& state, const char* dir_name, std::size_t value_size, KeyOf key_of) {
  auto dir = std::filesystem::temp_directory_path() / dir_name;
  std::filesystem::remove_all(dir);
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  store::cached_state s(**db, 1000);
  const std::string value(value_size, 'v');
  std::string key;
  std::uint64_t n = 0;
  for (auto _ : state) {
    store::batch b;
    for (int k = 0; k < 1000; ++k, ++n) {
      key_of(key, n);
      s.put(key, value, INT64_MAX);
    }
    s.flush_into(b);
    benchmark::DoNotOptimize(b);
    s.trim();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  std::filesystem::remove_all(dir);
}

// One batch's worth of state writes through the cache into a store batch: what
// the worker's loop thread does per batch besides correlating (groups are new,
// as with a million entities, so every write is a key the cache has not seen).
void cached_state_batch_of_writes(benchmark::State& state) {
  batch_of_puts(state, "sentrail-micro-state-writes", 120, [](std::string& key, std::uint64_t n) {
    key = "c/sentrail-web-credential-stuffing\x1e" "198.51." + std::to_string(n);
  });
}
BENCHMARK(cached_state_batch_of_writes);

// Stored evidence, one write per correlated event (more than half the pack's
// events), into the cache's evidence log and then the batch. Keys and values
// are sized as the pack's (about 40 and 280 bytes).
void cached_state_batch_of_evidence(benchmark::State& state) {
  batch_of_puts(state, "sentrail-micro-evidence", 280, [](std::string& key, std::uint64_t n) {
    key = "e/";
    correlate::append_ordered_time(key, static_cast<std::int64_t>(n));
    key += "0123456789abcdef/retail.pos";
  });
}
BENCHMARK(cached_state_batch_of_evidence);

// A group the cache has never seen, as most are with a million entities: the
// read goes to RocksDB, whose memtables hold the last few batches' writes.
void cached_state_miss_new_group(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / "sentrail-micro-state-miss";
  std::filesystem::remove_all(dir);
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  {
    store::batch b;
    for (int k = 0; k < 40000; ++k)
      b.state.push_back({"c/sentrail-web-credential-stuffing\x1e" "203.0." + std::to_string(k), std::string(120, 'w'),
                         INT64_MAX});
    (void)(*db)->commit(b);
  }
  store::cached_state s(**db, 1000);
  std::uint64_t n = 0;
  std::string key;
  for (auto _ : state) {
    key = "c/sentrail-web-credential-stuffing\x1e" "198.51." + std::to_string(n++);
    benchmark::DoNotOptimize(s.get(key));
    if (n % 1000 == 0) s.trim();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  std::filesystem::remove_all(dir);
}
BENCHMARK(cached_state_miss_new_group);

// The analysts' usual queue view (status=new) over a long-run store, where most
// alerts are closed: from the status index (the service's choice) against the
// full scan the same view took before (forced here by a filter every alert passes).
void triage_queue_of_new_alerts(benchmark::State& state, bool scan) {
  auto dir = std::filesystem::temp_directory_path() / "sentrail-micro-triage";
  std::filesystem::remove_all(dir);
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  triage::service service(**db);
  constexpr int alerts = 5000, still_new = 250;
  const timestamp_ns start = 1'795'000'000'000'000'000;
  {
    store::batch b;
    for (int n = 0; n < alerts; ++n) {
      correlate::alert a;
      a.id = "alert-" + std::to_string(n);
      a.rule_id = "sentrail-web-credential-stuffing";
      a.rule_title = "Credential stuffing";
      a.level = n % 3 ? "medium" : "high";
      a.type = "correlation";
      a.group = {{"source.ip", "203.0.113." + std::to_string(n % 250)}};
      a.first_seen = a.last_seen = a.emitted_at = start + n * ns_per_second;
      a.count = 20;
      correlate::evidence e;
      e.channel = "web";
      e.topic = "retail.web";
      e.time = a.last_seen;
      e.fields = {{"source.ip", a.group[0].second, ingest::value_kind::string},
                  {"event.action", "login_failed", ingest::value_kind::string}};
      a.events.assign(5, e);
      (void)(*db)->add_alert(b, a, correlate::to_json(a));
    }
    (void)(*db)->commit(b);
  }
  const triage::actor analyst{"bench", triage::role::analyst};
  for (int n = 0; n < alerts - still_new; ++n)
    (void)service.act(analyst, "alert-" + std::to_string(n), {triage::action_kind::close, "benign", {}, {}});
  triage::alert_filter view;
  view.statuses = {"new"};
  if (scan) view.channel = "web";
  std::size_t listed = 0;
  for (auto _ : state) {
    auto page = service.list_alerts(view);
    listed = page ? page->total : 0;
    benchmark::DoNotOptimize(listed);
  }
  state.counters["new_alerts"] = static_cast<double>(listed);
  std::filesystem::remove_all(dir);
}
BENCHMARK_CAPTURE(triage_queue_of_new_alerts, from_status_index, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(triage_queue_of_new_alerts, full_scan, true)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
