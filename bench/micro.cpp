// Google Benchmark for the hot components, each on realistic input:
// decode+normalise+minimise one event per channel, the PAN scan, rule matching,
// a correlation operator, and state access through the RocksDB-backed cache.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

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

// One batch's worth of state writes through the cache into a store batch: what
// the worker's loop thread does per batch besides correlating (groups are new,
// as with a million entities, so every write is a key the cache has not seen).
void cached_state_batch_of_writes(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / "sentrail-micro-state-writes";
  std::filesystem::remove_all(dir);
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  store::cached_state s(**db, 1000);
  const std::string value(120, 'w');
  std::string key;
  std::uint64_t n = 0;
  for (auto _ : state) {
    store::batch b;
    for (int k = 0; k < 1000; ++k, ++n) {
      key = "c/sentrail-web-credential-stuffing\x1e198.51." + std::to_string(n);
      s.put(key, value, INT64_MAX);
    }
    s.flush_into(b);
    s.trim();
    benchmark::DoNotOptimize(b.state.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  std::filesystem::remove_all(dir);
}
BENCHMARK(cached_state_batch_of_writes);

// A group the cache has never seen, as most are with a million entities: the
// read goes to RocksDB, whose memtables hold the last few batches' writes.
void cached_state_miss_new_group(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / "sentrail-micro-state-miss";
  std::filesystem::remove_all(dir);
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  {
    store::batch b;
    for (int k = 0; k < 40000; ++k)
      b.state.push_back({"c/sentrail-web-credential-stuffing\x1e203.0." + std::to_string(k), std::string(120, 'w'),
                         INT64_MAX});
    (void)(*db)->commit(b);
  }
  store::cached_state s(**db, 1000);
  std::uint64_t n = 0;
  std::string key;
  for (auto _ : state) {
    key = "c/sentrail-web-credential-stuffing\x1e198.51." + std::to_string(n++);
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
