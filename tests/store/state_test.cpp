#include "store/state.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "../correlate/harness.h"
#include "store/store.h"

using namespace sentrail;
using namespace sentrail::correlate::testing;

namespace {

const char* rules_yaml = R"(
title: Failed web login
name: web_login_failed
id: t-failed
logsource: {product: retail, service: web}
detection: {sel: {event.action: login_failed}, condition: sel}
---
title: Five failures per IP
id: t-five
correlation: {type: event_count, rules: [web_login_failed], group-by: [source.ip], timespan: 10m, condition: {gte: 5}}
)";

raw_event failed(double s, int ip) {
  return {"web", R"({"ts":")" + at(s) + R"(","client_ip":"198.51.100.)" + std::to_string(ip) +
                     R"(","user":"u","event":"login_failed"})"};
}

std::filesystem::path fresh_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / (std::string("sentrail-state-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

// Runs events through an engine whose state lives in the store at `dir`,
// committing after every `per_batch` events as the worker does per batch.
std::vector<std::string> run_on_store(const std::filesystem::path& dir, const std::vector<raw_event>& events,
                                      bool flush, const char* yaml = rules_yaml, std::size_t per_batch = 1) {
  auto loaded = rules::parse_rules(yaml, "t.yml");
  correlate::engine_options options;
  options.idle_timeout = INT64_MAX;
  correlate::engine engine(loaded.rules, options);
  engine.set_clock([] { return timestamp_ns{0}; });
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  EXPECT_TRUE(db) << db.message();
  store::cached_state state(**db, 16);
  engine.restore(state);
  ingest::channel_catalog channels = ingest::default_catalog().value();
  ingest::minimiser privacy("state-test-key-0123456789");
  correlate::pipeline pipe(channels, engine, privacy, state);
  run_result out;
  std::int64_t offset = 0;
  for (const auto& e : events) {
    pipe.process(e.json, *channels.by_name(e.channel), {"t", 0, offset++}, out, out);
    if (offset % static_cast<std::int64_t>(per_batch) != 0 && &e != &events.back()) continue;
    pipe.advance(0, out);
    store::batch b;
    state.flush_into(b);
    EXPECT_TRUE((*db)->commit(b).ok());
    state.trim();
  }
  if (flush) {
    pipe.flush(out);
    store::batch b;
    state.flush_into(b);
    EXPECT_TRUE((*db)->commit(b).ok());
  }
  return out.ids();
}

}  // namespace

TEST(durable_state, a_restart_between_batches_changes_no_alert) {
  std::vector<raw_event> events;
  for (int i = 0; i < 60; ++i) events.push_back(failed(i * 20, i % 4));
  auto whole_dir = fresh_dir("whole");
  auto whole = run_on_store(whole_dir, events, true);
  ASSERT_FALSE(whole.empty());

  auto split_dir = fresh_dir("split");
  std::vector<raw_event> first(events.begin(), events.begin() + 27), second(events.begin() + 27, events.end());
  auto before = run_on_store(split_dir, first, false);  // "crash": no flush, a new process follows
  auto after = run_on_store(split_dir, second, true);
  before.insert(before.end(), after.begin(), after.end());
  std::sort(before.begin(), before.end());
  EXPECT_EQ(before, whole);
  std::filesystem::remove_all(whole_dir);
  std::filesystem::remove_all(split_dir);
}

// A window past 512 entries is stored in segments (w/ keys, correlate/ops.cpp):
// through RocksDB and a restart in the middle of a burst, the alert that fires
// when one IP's window reaches 10,000 matches is the same.
TEST(durable_state, a_window_stored_in_segments_survives_a_restart) {
  const char* yaml = R"(
title: Failed web login
name: web_login_failed
id: t-failed
logsource: {product: retail, service: web}
detection: {sel: {event.action: login_failed}, condition: sel}
---
title: Ten thousand failures per IP
id: t-ten-thousand
correlation: {type: event_count, rules: [web_login_failed], group-by: [source.ip], timespan: 10m, condition: {gte: 10000}}
)";
  std::vector<raw_event> events;
  for (int i = 0; i < 12'000; ++i) events.push_back(failed(i * 0.01, 7));
  auto whole_dir = fresh_dir("segments-whole");
  auto whole = run_on_store(whole_dir, events, true, yaml, 500);
  ASSERT_EQ(whole.size(), 1u) << "one alert, when the window reaches 10,000 (then suppressed)";
  auto split_dir = fresh_dir("segments-split");
  std::vector<raw_event> first(events.begin(), events.begin() + 6'000), second(events.begin() + 6'000, events.end());
  auto before = run_on_store(split_dir, first, false, yaml, 500);
  {
    auto db = store::durable_store::open(split_dir, {.sync_writes = false});
    ASSERT_TRUE(db) << db.message();
    std::size_t segments = 0;
    (*db)->for_each_state("w/", INT64_MIN, [&](std::string_view, std::string_view) { ++segments; });
    EXPECT_GT(segments, 30u) << "the burst's window is stored in segments";
  }
  auto after = run_on_store(split_dir, second, true, yaml, 500);
  before.insert(before.end(), after.begin(), after.end());
  std::sort(before.begin(), before.end());
  std::sort(whole.begin(), whole.end());
  EXPECT_EQ(before, whole);
  std::filesystem::remove_all(whole_dir);
  std::filesystem::remove_all(split_dir);
}

TEST(durable_state, expired_state_is_dropped_by_compaction) {
  auto dir = fresh_dir("expiry");
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db);
  store::cached_state state(**db);
  state.put("c/rule\x1eold", std::string(1000, 'x'), 100);
  state.put("c/rule\x1enew", std::string(1000, 'y'), 1000);
  store::batch b;
  state.flush_into(b);
  ASSERT_TRUE((*db)->commit(b).ok());
  EXPECT_TRUE((*db)->state_value("c/rule\x1eold", 50));
  state.set_now(500);
  (*db)->compact_state();
  EXPECT_FALSE((*db)->state_value("c/rule\x1eold", INT64_MIN));  // gone from disk, whatever the reader's clock
  EXPECT_TRUE((*db)->state_value("c/rule\x1enew", INT64_MIN));
  std::filesystem::remove_all(dir);
}

TEST(durable_state, the_reorder_buffer_is_the_evidence_after_the_watermark) {
  // A buffered event is written once (its evidence, with the rules it matched),
  // not also as a reorder entry; a restart reads the buffer back from it.
  auto dir = fresh_dir("buffer");
  auto loaded = rules::parse_rules(rules_yaml, "t.yml");
  ingest::channel_catalog channels = ingest::default_catalog().value();
  ingest::minimiser privacy("state-test-key-0123456789");
  correlate::engine_options options;
  options.idle_timeout = INT64_MAX;
  options.allowed_lateness = 60 * ns_per_second;  // nothing below is released before the restart
  {
    correlate::engine engine(loaded.rules, options);
    auto db = store::durable_store::open(dir, {.sync_writes = false});
    ASSERT_TRUE(db) << db.message();
    store::cached_state state(**db);
    correlate::pipeline pipe(channels, engine, privacy, state);
    run_result out;
    for (int i = 0; i < 5; ++i) pipe.process(failed(i * 2, 1).json, *channels.by_name("web"), {"t", 0, i}, out, out);
    pipe.advance(0, out);
    store::batch b;
    state.flush_into(b);
    ASSERT_TRUE((*db)->commit(b).ok());
    EXPECT_TRUE(out.ids().empty());
    EXPECT_EQ(engine.counts().buffered, 5u);
    int reorder_entries = 0, evidence = 0;
    (*db)->for_each_state("r/", INT64_MIN, [&](std::string_view, std::string_view) { ++reorder_entries; });
    (*db)->for_each_state("e/", INT64_MIN, [&](std::string_view, std::string_view) { ++evidence; });
    EXPECT_EQ(reorder_entries, 0);
    EXPECT_EQ(evidence, 5);
  }
  correlate::engine engine(loaded.rules, options);
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db) << db.message();
  store::cached_state state(**db);
  engine.restore(state);
  EXPECT_EQ(engine.counts().buffered, 5u);
  correlate::pipeline pipe(channels, engine, privacy, state);
  run_result out;
  pipe.flush(out);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].count, 5u);
  EXPECT_EQ(out.alerts[0].events.size(), 5u);
  std::filesystem::remove_all(dir);
}

TEST(cached_state, a_put_after_a_get_is_written_to_its_own_key_whatever_the_get_loaded) {
  auto dir = fresh_dir("put-after-get");
  {
    auto db = store::durable_store::open(dir);
    ASSERT_TRUE(db) << db.message();
    {
      store::cached_state state(**db);
      state.put("c/a", "a1", 1000);
      store::batch b;
      state.flush_into(b);
      ASSERT_TRUE((*db)->commit(b).ok());
    }
    store::cached_state state(**db);  // a cold cache: gets load from disk
    ASSERT_EQ(state.get("c/a").value_or("absent"), "a1");
    for (int i = 0; i < 500; ++i) EXPECT_FALSE(state.get("c/other" + std::to_string(i)));  // loads move entries
    state.put("c/a", "a2", 1000);
    ASSERT_EQ(state.get("c/a").value_or("absent"), "a2");
    state.put("c/b", "b1", 1000);  // after a get of another key
    store::batch b;
    state.flush_into(b);
    ASSERT_EQ(b.state.size(), 2u);
    ASSERT_TRUE((*db)->commit(b).ok());
  }
  auto db = store::durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  EXPECT_EQ((*db)->state_value("c/a", 0).value_or("absent"), "a2");
  EXPECT_EQ((*db)->state_value("c/b", 0).value_or("absent"), "b1");
  std::filesystem::remove_all(dir);
}


// The worker writes a batch on another thread while it processes the next one:
// until the batch is durable, the cache is the only place that has what it
// wrote, write-once keys (evidence) included.
TEST(durable_state, a_flushed_batch_stays_readable_until_it_is_durable) {
  auto dir = fresh_dir("in-flight");
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db);
  store::cached_state state(**db, 1);
  state.put("e/event-1", "the event", 1000);
  state.put("c/rule\x1egroup", "window", 1000);
  state.erase("c/rule\x1egone");
  store::batch written;
  state.flush_into(written);
  ASSERT_EQ(written.state.size(), 2u);
  ASSERT_EQ(written.borrowed_state.size(), 1u);  // the evidence, by view
  // Not yet committed: the next batch still reads what this one holds.
  EXPECT_EQ(state.get("e/event-1"), std::optional<std::string_view>("the event"));
  EXPECT_EQ(state.get("c/rule\x1egroup"), std::optional<std::string_view>("window"));
  EXPECT_FALSE(state.get("c/rule\x1egone"));
  state.put("c/rule\x1egroup", "window, next batch", 1000);
  ASSERT_TRUE((*db)->commit(written).ok());
  // Durable now: trim drops the evidence and the clean entries (capacity 1), not
  // the next batch's change, and what it dropped is read from the store.
  state.trim();
  EXPECT_EQ(state.cached(), 1u);
  EXPECT_EQ(state.get("c/rule\x1egroup"), std::optional<std::string_view>("window, next batch"));
  EXPECT_EQ(state.get("e/event-1"), std::optional<std::string_view>("the event"));
  store::batch next;
  state.flush_into(next);
  ASSERT_EQ(next.state.size(), 1u);
  EXPECT_EQ(next.state[0].value, "window, next batch");
  std::filesystem::remove_all(dir);
}

// The engine hints the keys of the events it is about to correlate; a hint
// must change nothing: no entry for a key never read, the same values after.
TEST(durable_state, a_prefetch_hint_changes_nothing_the_cache_holds) {
  using stage = correlate::state_view::prefetch_stage;
  auto dir = fresh_dir("prefetch");
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db);
  store::cached_state state(**db);
  state.put("c/rule\x1ekept", "window", 1000);
  state.erase("c/rule\x1egone");
  ASSERT_EQ(state.cached(), 2u);
  for (const char* key : {"c/rule\x1ekept", "c/rule\x1egone", "c/rule\x1enever-read"}) {
    state.prefetch(key, stage::lookup);
    state.prefetch(key, stage::value);
  }
  EXPECT_EQ(state.cached(), 2u) << "a hint loaded or created an entry";
  EXPECT_EQ(state.get("c/rule\x1ekept"), std::optional<std::string_view>("window"));
  EXPECT_FALSE(state.get("c/rule\x1egone"));
  // The put after a get reuses the entry the get found; a hint in between must not confuse it.
  ASSERT_TRUE(state.get("c/rule\x1ekept"));
  state.prefetch("c/rule\x1enever-read", stage::value);
  state.put("c/rule\x1ekept", "window 2", 1000);
  EXPECT_EQ(state.get("c/rule\x1ekept"), std::optional<std::string_view>("window 2"));
  store::batch b;
  state.flush_into(b);
  ASSERT_EQ(b.state.size(), 2u) << "the kept key once, the erased one as a delete, nothing for the hinted one";
  EXPECT_EQ(b.state[0].key, "c/rule\x1ekept");
  EXPECT_EQ(b.state[0].value, "window 2");
  EXPECT_EQ(b.state[1].key, "c/rule\x1egone");
  EXPECT_FALSE(b.state[1].value);
  std::filesystem::remove_all(dir);
}

// Evidence is kept apart from the cached table until it is durable: it must read
// back, scan, rewrite and erase as any other key does, before and after its batch.
TEST(durable_state, evidence_reads_scans_rewrites_and_erases_like_any_key_around_its_batch) {
  auto dir = fresh_dir("evidence-log");
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db);
  store::cached_state state(**db, 10);
  state.put("e/1", "first", 1000);
  state.put("e/2", "second", 1000);
  state.put("e/2", "second, again", 1000);  // the same event twice in one batch: one write, the last
  state.put("e/3", "gone", 1000);
  state.erase("e/3");
  EXPECT_EQ(state.get("e/2"), std::optional<std::string_view>("second, again"));
  EXPECT_FALSE(state.get("e/3"));
  std::vector<std::string> scanned;
  state.for_each("e/", [&](std::string_view k, std::string_view v) { scanned.push_back(std::string(k) + "=" + std::string(v)); });
  EXPECT_EQ(scanned, (std::vector<std::string>{"e/1=first", "e/2=second, again"}));
  store::batch b;
  state.flush_into(b);
  std::map<std::string, std::optional<std::string>> written;
  for (const auto& w : b.state) written[w.key] = w.value;
  for (const auto& w : b.borrowed_state) written[std::string(w.key)] = std::string(w.value);
  EXPECT_EQ(written, (std::map<std::string, std::optional<std::string>>{
                         {"e/1", "first"}, {"e/2", "second, again"}, {"e/3", std::nullopt}}));
  EXPECT_EQ(b.state.size() + b.borrowed_state.size(), 3u);
  EXPECT_EQ(b.borrowed_state.size(), 2u);  // the evidence, lent by view until trim()
  // Written, not yet durable: still read from memory.
  EXPECT_EQ(state.get("e/1"), std::optional<std::string_view>("first"));
  // Erased by the next batch while this one is written: gone for reads at once.
  state.put("e/4", "sealed, then erased", 1000);
  store::batch with_e4;
  state.flush_into(with_e4);
  state.erase("e/4");
  EXPECT_FALSE(state.get("e/4"));
  ASSERT_TRUE((*db)->commit(b).ok());
  ASSERT_TRUE((*db)->commit(with_e4).ok());
  // The views lent to b held across the next batch's puts and flush.
  EXPECT_EQ((*db)->state_value("e/2", 0).value_or("absent"), "second, again");
  state.trim();
  EXPECT_FALSE(state.get("e/4"));
  EXPECT_EQ(state.get("e/1"), std::optional<std::string_view>("first"));  // from the store now
  // Restore's rewrite: read, then written again; later reads see the new value.
  ASSERT_TRUE(state.get("e/2"));
  state.put("e/2", "rewritten", 1000);
  store::batch next;
  state.flush_into(next);
  ASSERT_TRUE((*db)->commit(next).ok());
  state.trim();
  EXPECT_EQ(state.get("e/2"), std::optional<std::string_view>("rewritten"));
  EXPECT_EQ((*db)->state_value("e/2", 0).value_or("absent"), "rewritten");
  EXPECT_EQ((*db)->state_value("e/3", 0).value_or("absent"), "absent");
  EXPECT_EQ((*db)->state_value("e/4", 0).value_or("absent"), "absent");
  std::filesystem::remove_all(dir);
}

// An alert's evidence is read in one call: from the batch's log, the cache and
// the store (one batched read), each exactly as get() gives it.
TEST(durable_state, reading_many_keys_gives_what_get_gives_for_each) {
  auto dir = fresh_dir("get-many");
  auto db = store::durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db);
  {
    store::cached_state writer(**db, 10);
    writer.put("e/on-disk", "stored", 1000);
    writer.put("e/expires", "old", 50);
    writer.put("c/group", "window", 1000);
    store::batch b;
    writer.flush_into(b);
    ASSERT_TRUE((*db)->commit(b).ok());
    writer.trim();
  }
  store::cached_state state(**db, 10);
  state.set_now(100);
  state.put("e/in-log", "this batch", 1000);  // not flushed: only the log has it
  state.put("e/erased", "x", 1000);
  state.erase("e/erased");
  ASSERT_TRUE(state.get("c/group"));  // now cached
  const std::vector<std::string> keys = {"e/in-log", "e/on-disk", "e/expires", "c/group",
                                         "e/erased", "e/never", "e/on-disk"};
  std::vector<std::optional<std::string>> many;
  state.get_many(keys, many);
  ASSERT_EQ(many.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    SCOPED_TRACE(keys[i]);
    auto one = state.get(keys[i]);
    EXPECT_EQ(many[i], one ? std::optional<std::string>(*one) : std::nullopt);
  }
  EXPECT_EQ(many[0], "this batch");
  EXPECT_EQ(many[1], "stored");
  EXPECT_FALSE(many[2]);  // expired at 50, read at 100
  EXPECT_EQ(many[3], "window");
  EXPECT_FALSE(many[4]);
  EXPECT_FALSE(many[5]);
  EXPECT_EQ(many[6], "stored");
  std::filesystem::remove_all(dir);
}
