#include "store/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>

using namespace sentrail::store;

namespace {
std::filesystem::path fresh_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("sentrail-store-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}
}  // namespace

TEST(store, offsets_alerts_and_outbox_survive_a_reopen_together) {
  auto dir = fresh_dir("reopen");
  {
    auto db = durable_store::open(dir);
    ASSERT_TRUE(db) << db.message();
    EXPECT_FALSE((*db)->next_offset("retail.pos", 3));
    batch b;
    b.set_next_offset("retail.pos", 3, 41);
    b.set_next_offset("retail.pos", 3, 42);  // the highest wins
    EXPECT_TRUE((*db)->add_alert(b, "a1", R"({"id":"a1"})"));
    EXPECT_FALSE((*db)->add_alert(b, "a1", R"({"id":"a1"})"));  // twice in one batch
    b.add_outbox("sentrail.alerts", "a1", R"({"id":"a1"})");
    ASSERT_TRUE((*db)->commit(b).ok());
    EXPECT_EQ(b.outbox[0].sequence, 1u);
  }
  auto db = durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  EXPECT_EQ((*db)->next_offset("retail.pos", 3), 42);
  EXPECT_FALSE((*db)->next_offset("retail.pos", 4));
  EXPECT_TRUE((*db)->has_alert("a1"));
  batch again;
  EXPECT_FALSE((*db)->add_alert(again, "a1", "{}"));  // a restart never raises it twice
  auto pending = (*db)->pending_outbox();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].topic, "sentrail.alerts");
  EXPECT_EQ(pending[0].key, "a1");
  EXPECT_EQ(pending[0].payload, R"({"id":"a1"})");
  ASSERT_TRUE((*db)->mark_published({pending[0].sequence}).ok());
  EXPECT_TRUE((*db)->pending_outbox().empty());
  // Sequences keep rising after published records are gone.
  batch next;
  next.add_outbox("t", "k", "v");
  ASSERT_TRUE((*db)->commit(next).ok());
  EXPECT_GT(next.outbox[0].sequence, pending[0].sequence);
  std::filesystem::remove_all(dir);
}

TEST(store, a_batch_swaps_an_outbox_record_for_another_in_one_write) {
  auto dir = fresh_dir("swap");
  {
    auto db = durable_store::open(dir);
    ASSERT_TRUE(db) << db.message();
    batch first;
    first.add_outbox("sentrail.alerts", "a1", std::string(5000, 'x'));
    first.add_outbox("sentrail.alerts", "a2", "small");
    ASSERT_TRUE((*db)->commit(first).ok());
    batch swap;
    swap.retired_outbox.push_back(first.outbox[0].sequence);
    swap.add_outbox("sentrail.deadletter", "a1", "notice");
    EXPECT_FALSE(swap.empty());
    ASSERT_TRUE((*db)->commit(swap).ok());
  }
  auto db = durable_store::open(dir);
  ASSERT_TRUE(db) << db.message();
  auto pending = (*db)->pending_outbox();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].key, "a2");
  EXPECT_EQ(pending[1].topic, "sentrail.deadletter");
  EXPECT_EQ(pending[1].payload, "notice");
  std::filesystem::remove_all(dir);
}

TEST(store, refuses_a_state_directory_it_cannot_create) {
  auto db = durable_store::open("/proc/sentrail-cannot-be-here");
  ASSERT_FALSE(db);
  EXPECT_NE(db.message().find("/proc/sentrail-cannot-be-here"), std::string::npos);
}

TEST(store, finds_alerts_by_time_rule_level_status_and_entity_newest_first) {
  auto dir = fresh_dir("index");
  auto db = durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db) << db.message();
  batch b;
  auto make = [](std::string id, std::string rule, std::string level, std::int64_t t, std::string entity) {
    sentrail::correlate::alert a;
    a.id = std::move(id);
    a.rule_id = std::move(rule);
    a.level = std::move(level);
    a.last_seen = t;
    a.group = {{"user.name", std::move(entity)}};
    return a;
  };
  for (auto a : {make("a1", "r1", "high", 100, "alice"), make("a2", "r2", "low", 200, "bob"),
                 make("a3", "r1", "high", 300, "bob"), make("a4", "r1", "low", 400, "alice")})
    EXPECT_TRUE((*db)->add_alert(b, a, "{}"));
  EXPECT_FALSE((*db)->add_alert(b, make("a1", "r1", "high", 100, "alice"), "{}"));
  ASSERT_TRUE((*db)->commit(b).ok());
  using idx = durable_store::alert_index;
  EXPECT_EQ((*db)->find_alerts(idx::time, "", 0, 1000, 10), (std::vector<std::string>{"a4", "a3", "a2", "a1"}));
  EXPECT_EQ((*db)->find_alerts(idx::time, "", 150, 350, 10), (std::vector<std::string>{"a3", "a2"}));
  EXPECT_EQ((*db)->find_alerts(idx::rule, "r1", 0, 1000, 2), (std::vector<std::string>{"a4", "a3"}));
  EXPECT_EQ((*db)->find_alerts(idx::level, "high", 0, 1000, 10), (std::vector<std::string>{"a3", "a1"}));
  EXPECT_EQ((*db)->find_alerts(idx::status, "new", 0, 1000, 10).size(), 4u);
  EXPECT_EQ((*db)->find_alerts(idx::entity, "bob", 0, 1000, 10), (std::vector<std::string>{"a3", "a2"}));
  EXPECT_TRUE((*db)->find_alerts(idx::entity, "bo", 0, 1000, 10).empty());  // exact values, not prefixes
  std::filesystem::remove_all(dir);
}

TEST(store, keyed_tables_scan_by_prefix_both_ways_and_commit_with_a_batch) {
  auto dir = fresh_dir("tables");
  {
    auto db = durable_store::open(dir).value();
    ASSERT_TRUE(db->write({{table::triage, "a/1", "one"},
                           {table::triage, "a/2", "two"},
                           {table::triage, std::string("a\xff", 2) + "x", "edge"},
                           {table::triage, "b/1", "other"}})
                    .ok());
    batch b;
    b.tables.push_back({table::deliveries, "hook/0001", "payload"});
    b.set_next_offset("web", 0, 5);
    ASSERT_TRUE(db->commit(b).ok());
    ASSERT_TRUE(db->write({{table::triage, "a/2", std::nullopt}}).ok());
  }
  auto db = durable_store::open(dir).value();
  EXPECT_EQ(db->get(table::deliveries, "hook/0001").value_or(""), "payload");
  EXPECT_FALSE(db->get(table::triage, "a/2"));
  EXPECT_FALSE(db->get(table::audit, "a/1"));  // tables are separate

  std::vector<std::string> forward, backward, ranged;
  db->scan(table::triage, "a/", false, [&](auto k, auto) { forward.emplace_back(k); return true; });
  db->scan(table::triage, "a", true, [&](auto k, auto) { backward.emplace_back(k); return true; });
  db->scan_range(table::triage, "a/", "b", [&](auto k, auto) { ranged.emplace_back(k); return true; });
  EXPECT_EQ(forward, (std::vector<std::string>{"a/1"}));
  EXPECT_EQ(backward, (std::vector<std::string>{std::string("a\xff", 2) + "x", "a/1"}));
  EXPECT_EQ(ranged, (std::vector<std::string>{"a/1", std::string("a\xff", 2) + "x"}));

  std::size_t seen = 0;
  db->scan(table::triage, "", false, [&](auto, auto) { return ++seen < 2; });
  EXPECT_EQ(seen, 2u);  // the callback stops the scan
}

TEST(store, an_index_key_moved_by_hand_is_what_find_alerts_sees) {
  auto dir = fresh_dir("reindex");
  auto db = durable_store::open(dir).value();
  ASSERT_TRUE(db->write({{table::alert_index,
                          durable_store::alert_index_key(durable_store::alert_index::status, "new", 100, "id1"),
                          ""}})
                  .ok());
  EXPECT_EQ(db->find_alerts(durable_store::alert_index::status, "new", 0, 1000, 10),
            (std::vector<std::string>{"id1"}));
  ASSERT_TRUE(db->write({{table::alert_index,
                          durable_store::alert_index_key(durable_store::alert_index::status, "new", 100, "id1"),
                          std::nullopt},
                         {table::alert_index,
                          durable_store::alert_index_key(durable_store::alert_index::status, "closed", 100, "id1"),
                          ""}})
                  .ok());
  EXPECT_TRUE(db->find_alerts(durable_store::alert_index::status, "new", 0, 1000, 10).empty());
  EXPECT_EQ(db->find_alerts(durable_store::alert_index::status, "closed", 0, 1000, 10),
            (std::vector<std::string>{"id1"}));
}

// The offsets column family gets a few bytes per batch and so never fills its
// memtable; without a cap on the log it pinned every write-ahead log since the
// start, up to RocksDB's default cap of four times all the memtables (88 MiB
// here, 704 MiB with the default write buffer).
TEST(store, write_ahead_logs_stay_bounded_by_the_write_buffer) {
  auto dir = fresh_dir("wal");
  store_options options{.sync_writes = false, .write_buffer_bytes = 4 << 20};
  auto db = durable_store::open(dir, options);
  ASSERT_TRUE(db) << db.message();
  auto log_bytes = [&] {
    std::uintmax_t logs = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      std::error_code gone;  // RocksDB's threads delete logs as we list them
      if (f.path().extension() != ".log") continue;
      if (auto size = std::filesystem::file_size(f.path(), gone); !gone) logs += size;
    }
    return logs;
  };
  const std::string value(1000, 'v');
  std::uintmax_t most = 0;
  for (int n = 0; n < 100; ++n) {
    batch b;
    b.set_next_offset("retail.web", 0, n + 1);
    // Distinct groups, as with a million entities, so no write replaces another.
    for (int k = 0; k < 1000; ++k) b.state.push_back({"c/rule\x1e" + std::to_string(n * 1000 + k), value, INT64_MAX});
    ASSERT_TRUE((*db)->commit(b).ok());
    most = std::max(most, log_bytes());
  }
  // 100 MB went through the log; what it kept stayed within a memtable of the cap
  // (without the cap it kept all of it).
  EXPECT_LT(most, wal_cap_bytes(options) + options.write_buffer_bytes) << most << " bytes of logs";
  EXPECT_EQ((*db)->next_offset("retail.web", 0), 100);
  db->reset();
  auto again = durable_store::open(dir, options);
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ((*again)->next_offset("retail.web", 0), 100);
  EXPECT_TRUE((*again)->state_value("c/rule\x1e" "99999", 0));
  again->reset();
  std::filesystem::remove_all(dir);
}

// While the batch before is still being written, its alerts are not in the store
// yet; the batch after must still not raise them again.
TEST(store, an_alert_of_the_batch_being_written_counts_as_stored) {
  auto dir = fresh_dir("after");
  auto db = durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db) << db.message();
  batch writing;
  EXPECT_TRUE((*db)->add_alert(writing, "a1", "{}"));
  batch next;
  next.after = &writing;
  EXPECT_FALSE((*db)->add_alert(next, "a1", "{}"));
  EXPECT_TRUE((*db)->add_alert(next, "a2", "{}"));
  ASSERT_TRUE((*db)->commit(writing).ok());
  next.clear();
  EXPECT_EQ(next.after, nullptr);
  EXPECT_FALSE((*db)->add_alert(next, "a1", "{}"));
  db->reset();
  std::filesystem::remove_all(dir);
}

// RocksDB writes the options it runs with to OPTIONS-* in the state directory:
// the operator's tuning must be there, over Sentrail's own settings.
// The text of the latest OPTIONS file RocksDB wrote in `dir` (the numbers grow).
std::string options_file(const std::filesystem::path& dir) {
  std::filesystem::path latest;
  for (const auto& f : std::filesystem::directory_iterator(dir))
    if (f.path().filename().string().starts_with("OPTIONS-") && f.path().filename() > latest.filename())
      latest = f.path();
  if (latest.empty()) return "";
  std::ifstream in(latest);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One column family's section of an OPTIONS file.
std::string column_family_options(const std::string& text, const std::string& name) {
  auto start = text.find("[CFOptions \"" + name + "\"]");
  if (start == std::string::npos) return "";
  return text.substr(start, text.find("\n[CFOptions", start + 1) - start);
}

TEST(store, rocksdb_tuning_from_the_configuration_reaches_the_open_database) {
  auto dir = fresh_dir("tuning");
  store_options options{.sync_writes = false};
  options.rocksdb_db_options = "max_background_jobs=3";
  options.rocksdb_column_family_options = "level0_file_num_compaction_trigger=9;max_bytes_for_level_base=123456789";
  ASSERT_TRUE(check_tuning(options));
  auto db = durable_store::open(dir, options);
  ASSERT_TRUE(db) << db.message();
  std::string text = options_file(dir);
  ASSERT_FALSE(text.empty()) << "no OPTIONS file in " << dir;
  EXPECT_NE(text.find("max_background_jobs=3\n"), std::string::npos);
  for (const char* cf : {"state", "evidence", "alerts"}) {
    std::string section = column_family_options(text, cf);
    EXPECT_NE(section.find("level0_file_num_compaction_trigger=9\n"), std::string::npos) << cf;
    EXPECT_NE(section.find("max_bytes_for_level_base=123456789\n"), std::string::npos) << cf;
    // What the tuning does not name keeps Sentrail's setting.
    EXPECT_NE(section.find("compression=kLZ4Compression\n"), std::string::npos) << cf;
  }
  db->reset();
  std::filesystem::remove_all(dir);
}

// Most state reads are for keys never written, which a memtable bloom filter
// answers without searching the memtables; the other tables go without its
// memory. The state is compacted less often than RocksDB's default.
TEST(store, the_state_alone_has_a_memtable_bloom_filter_which_tuning_may_change) {
  auto dir = fresh_dir("memtable-bloom");
  auto db = durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db) << db.message();
  std::string text = options_file(dir);
  std::string state = column_family_options(text, "state");
  ASSERT_FALSE(state.empty()) << text;
  EXPECT_NE(state.find("memtable_prefix_bloom_size_ratio=0.100000\n"), std::string::npos) << state;
  EXPECT_NE(state.find("memtable_whole_key_filtering=true\n"), std::string::npos) << state;
  EXPECT_NE(state.find("level0_file_num_compaction_trigger=8\n"), std::string::npos) << state;
  std::string alerts = column_family_options(text, "alerts");
  EXPECT_NE(alerts.find("memtable_prefix_bloom_size_ratio=0.000000\n"), std::string::npos) << alerts;
  std::string evidence = column_family_options(text, "evidence");
  ASSERT_FALSE(evidence.empty()) << text;
  EXPECT_NE(evidence.find("memtable_prefix_bloom_size_ratio=0.000000\n"), std::string::npos) << evidence;
  EXPECT_NE(evidence.find("level0_file_num_compaction_trigger=8\n"), std::string::npos) << evidence;
  EXPECT_NE(evidence.find("target_file_size_base=8388608\n"), std::string::npos) << evidence;
  db->reset();
  std::filesystem::remove_all(dir);

  store_options tuned{.sync_writes = false};
  tuned.rocksdb_column_family_options = "memtable_prefix_bloom_size_ratio=0.02";
  db = durable_store::open(dir, tuned);
  ASSERT_TRUE(db) << db.message();
  state = column_family_options(options_file(dir), "state");
  EXPECT_NE(state.find("memtable_prefix_bloom_size_ratio=0.020000\n"), std::string::npos) << state;
  EXPECT_NE(state.find("memtable_whole_key_filtering=true\n"), std::string::npos) << state;
  db->reset();
  std::filesystem::remove_all(dir);
}

TEST(store, rocksdb_tuning_with_an_unknown_name_or_a_bad_value_is_refused) {
  store_options unknown;
  unknown.rocksdb_column_family_options = "level0_file_num_compaction_trigger=8;no_such_option=1";
  auto refused = check_tuning(unknown);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.message().find("store.rocksdb.column_families"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("no_such_option"), std::string::npos) << refused.message();
  auto dir = fresh_dir("bad-tuning");
  auto db = durable_store::open(dir, unknown);
  EXPECT_FALSE(db);
  store_options bad_value;
  bad_value.rocksdb_db_options = "max_background_jobs=many";
  auto bad = check_tuning(bad_value);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.message().find("store.rocksdb.db"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("max_background_jobs"), std::string::npos) << bad.message();
  std::filesystem::remove_all(dir);
}

namespace {
// State values as the store writes them: the expiry first (8 bytes, big-endian, sign-flipped).
std::string with_expiry(std::int64_t expires, std::string_view value) {
  auto u = static_cast<std::uint64_t>(expires) ^ (std::uint64_t{1} << 63);
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xFF));
  return out.append(value);
}

// The keys each column family of a closed store holds, read with RocksDB itself.
std::map<std::string, std::vector<std::string>> keys_by_family(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  rocksdb::DB::ListColumnFamilies({}, dir.string(), &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  std::map<std::string, std::vector<std::string>> keys;
  if (!rocksdb::DB::OpenForReadOnly({}, dir.string(), descriptors, &handles, &raw).ok()) return keys;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator({}, handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys[names[i]].push_back(it->key().ToString());
  }
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
  return keys;
}

void commit_state(durable_store& db, const std::vector<std::pair<std::string, std::int64_t>>& keys_and_expiry) {
  batch b;
  for (const auto& [key, expires] : keys_and_expiry) b.state.push_back({key, "value of " + key, expires});
  ASSERT_TRUE(db.commit(b).ok());
}
}  // namespace

// Evidence is kept in a column family of its own (compacting the operator state
// does not rewrite it), and reads like any other state: one key, many keys
// across both families, a prefix scan, and a scan spanning both in key order.
TEST(store, evidence_has_its_own_column_family_and_reads_like_other_state) {
  auto dir = fresh_dir("evidence-family");
  {
    auto db = durable_store::open(dir, {.sync_writes = false});
    ASSERT_TRUE(db) << db.message();
    commit_state(**db, {{"c/rule\x1eip", 100}, {"e/2", 100}, {"e/1", 100}, {"f/x", 100}, {"a/y", 100}});
    EXPECT_EQ((*db)->state_value("e/1", 0), "value of e/1");
    EXPECT_EQ((*db)->state_value("c/rule\x1eip", 0), "value of c/rule\x1eip");
    auto many = (*db)->state_values({"e/2", "c/rule\x1eip", "e/3", "f/x"}, 0);
    ASSERT_EQ(many.size(), 4u);
    EXPECT_EQ(many[0], "value of e/2");
    EXPECT_EQ(many[1], "value of c/rule\x1eip");
    EXPECT_FALSE(many[2]);
    EXPECT_EQ(many[3], "value of f/x");
    std::vector<std::string> seen;
    (*db)->for_each_state("e/", 0, [&](std::string_view k, std::string_view) { seen.emplace_back(k); });
    EXPECT_EQ(seen, (std::vector<std::string>{"e/1", "e/2"}));
    seen.clear();
    (*db)->for_each_state("", 0, [&](std::string_view k, std::string_view) { seen.emplace_back(k); });
    EXPECT_EQ(seen, (std::vector<std::string>{"a/y", "c/rule\x1eip", "e/1", "e/2", "f/x"}));
    seen.clear();
    (*db)->for_each_state("", 0, [&](std::string_view k, std::string_view) { seen.emplace_back(k); }, "e/2");
    EXPECT_EQ(seen, (std::vector<std::string>{"e/2", "f/x"}));
    // Expired: gone for every read.
    EXPECT_FALSE((*db)->state_value("e/1", 101));
    EXPECT_FALSE((*db)->state_values({"e/1"}, 101)[0]);
  }
  auto keys = keys_by_family(dir);
  EXPECT_EQ(keys["evidence"], (std::vector<std::string>{"e/1", "e/2"}));
  EXPECT_EQ(keys["state"], (std::vector<std::string>{"a/y", "c/rule\x1eip", "f/x"}));
  std::filesystem::remove_all(dir);
}

// commit() puts a batch's state in key order (its sort reads each key's first
// 16 bytes as integers), and reuses one write buffer from commit to commit:
// what a batch writes twice ends as its later write, whether the two came as
// copies or as borrowed views; keys that share their first 16 bytes, or end
// inside them, all land; a smaller batch after a larger leaves nothing behind.
TEST(store, state_written_twice_in_a_batch_keeps_the_later_write_whatever_the_keys_share) {
  auto dir = fresh_dir("state-order");
  auto db = durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db) << db.message();
  const std::string shared = "c/0123456789abcdef";  // 18 bytes: a 16-byte prefix and more
  const std::vector<std::string> keys = {shared + "b", shared + "a", shared, "c/0123",
                                         std::string("c/0123\0", 7), "c/", "e/1", "e/12"};
  batch big;
  for (const auto& k : keys) big.state.push_back({k, "first " + k, 100});
  big.state.push_back({shared + "a", std::string("second"), 100});
  big.state.push_back({"c/0123", std::nullopt, 0});  // a delete after a put
  const std::string borrowed_value = "borrowed";
  big.borrowed_state.push_back({"e/1", borrowed_value, 100});  // after its copy in `state`
  ASSERT_TRUE((*db)->commit(big).ok());
  EXPECT_EQ((*db)->state_value(shared + "a", 0), "second");
  EXPECT_EQ((*db)->state_value(shared + "b", 0), "first " + shared + "b");
  EXPECT_EQ((*db)->state_value(shared, 0), "first " + shared);
  EXPECT_FALSE((*db)->state_value("c/0123", 0));
  EXPECT_EQ((*db)->state_value(std::string("c/0123\0", 7), 0), "first " + std::string("c/0123\0", 7));
  EXPECT_EQ((*db)->state_value("c/", 0), "first c/");
  EXPECT_EQ((*db)->state_value("e/1", 0), "borrowed");
  EXPECT_EQ((*db)->state_value("e/12", 0), "first e/12");
  std::vector<std::string> seen;
  (*db)->for_each_state("c/", 0, [&](std::string_view k, std::string_view) { seen.emplace_back(k); });
  EXPECT_EQ(seen, (std::vector<std::string>{"c/", std::string("c/0123\0", 7), shared, shared + "a", shared + "b"}));
  // The next, smaller batch reuses the buffer: only its own writes land.
  batch small;
  small.state.push_back({"c/small", std::string("v"), 100});
  ASSERT_TRUE((*db)->commit(small).ok());
  EXPECT_EQ((*db)->state_value("c/small", 0), "v");
  EXPECT_EQ((*db)->state_value(shared + "a", 0), "second");
  batch offsets_only;
  offsets_only.set_next_offset("retail.web", 0, 7);
  ASSERT_TRUE((*db)->commit(offsets_only).ok());
  EXPECT_EQ((*db)->next_offset("retail.web", 0), 7);
  std::filesystem::remove_all(dir);
}

// A store written before evidence had its own column family: read as it is by
// `state inspect` (read-only), and moved at the first open for writing.
TEST(store, evidence_an_earlier_version_kept_with_the_state_is_moved_at_open) {
  auto dir = fresh_dir("evidence-move");
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name : {"default", "offsets", "alerts", "outbox", "state", "alert_index", "deliveries",
                             "delivery_failures", "triage", "incidents", "audit"})
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.string(), families, &handles, &raw).ok());
    rocksdb::ColumnFamilyHandle* state = handles[4];
    for (int i = 0; i < 3000; ++i) {  // more than one write's chunk would hold
      std::string key = "e/" + std::to_string(100000 + i);
      ASSERT_TRUE(raw->Put({}, state, key, with_expiry(100, std::string(8000, 'v'))).ok());
    }
    ASSERT_TRUE(raw->Put({}, state, "c/rule\x1eip", with_expiry(100, "window")).ok());
    ASSERT_TRUE(raw->Put({}, state, "w", with_expiry(INT64_MAX, "watermark")).ok());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  {
    auto reader = durable_store::open_read_only(dir);
    ASSERT_TRUE(reader) << reader.message();
    EXPECT_EQ((*reader)->state_value("e/100007", 0), std::string(8000, 'v'));
    std::size_t evidence = 0;
    (*reader)->for_each_state("e/", 0, [&](std::string_view, std::string_view) { ++evidence; });
    EXPECT_EQ(evidence, 3000u);
  }
  {
    auto db = durable_store::open(dir, {.sync_writes = false});
    ASSERT_TRUE(db) << db.message();
    EXPECT_EQ((*db)->state_value("e/100007", 0), std::string(8000, 'v'));
    EXPECT_EQ((*db)->state_value("e/102999", 0), std::string(8000, 'v'));
    EXPECT_EQ((*db)->state_value("c/rule\x1eip", 0), "window");
    std::size_t evidence = 0;
    (*db)->for_each_state("e/", 0, [&](std::string_view, std::string_view) { ++evidence; });
    EXPECT_EQ(evidence, 3000u);
  }
  auto keys = keys_by_family(dir);
  EXPECT_EQ(keys["evidence"].size(), 3000u);
  EXPECT_EQ(keys["state"], (std::vector<std::string>{"c/rule\x1eip", "w"}));
  // Opened again: nothing left to move, nothing lost.
  auto again = durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ((*again)->state_value("e/100000", 0), std::string(8000, 'v'));
  again->reset();
  std::filesystem::remove_all(dir);
}

// Compaction moves time-ordered evidence files down the levels without reading
// them, so the expiry filter never drops what they hold: a file whose entries
// have all expired goes whole, and one with a single live entry stays.
TEST(store, evidence_files_whose_entries_all_expired_are_dropped_whole) {
  auto dir = fresh_dir("evidence-expiry");
  auto db = durable_store::open(dir, {.sync_writes = false});
  ASSERT_TRUE(db) << db.message();
  std::vector<std::pair<std::string, std::int64_t>> older;
  for (int i = 0; i < 100; ++i) older.emplace_back("e/1" + std::to_string(1000 + i), 1000 + i);
  commit_state(**db, older);
  (*db)->compact_state();  // to a file below L0; nothing has expired yet
  commit_state(**db, {{"e/2", 5000}});  // newer, still in the memtable

  (*db)->set_state_watermark(1050);  // half of the file's entries expired
  EXPECT_EQ((*db)->drop_expired_evidence(), 0u);
  EXPECT_TRUE((*db)->state_value("e/11000", INT64_MIN));  // expired, but its file stays

  (*db)->set_state_watermark(2000);
  EXPECT_EQ((*db)->evidence_files_dropped(), 0u);
  EXPECT_EQ((*db)->drop_expired_evidence(), 1u);
  EXPECT_EQ((*db)->evidence_files_dropped(), 1u);  // what sentrail_state_evidence_files_dropped_total shows
  EXPECT_FALSE((*db)->state_value("e/11000", INT64_MIN));  // gone, whatever the reader's clock
  EXPECT_FALSE((*db)->state_value("e/11099", INT64_MIN));
  EXPECT_EQ((*db)->state_value("e/2", 2000), "value of e/2");
  EXPECT_EQ((*db)->drop_expired_evidence(), 0u);

  // One entry that lives on keeps its whole file.
  std::vector<std::pair<std::string, std::int64_t>> mixed;
  for (int i = 0; i < 100; ++i) mixed.emplace_back("e/3" + std::to_string(1000 + i), i == 50 ? 9000 : 3000);
  commit_state(**db, mixed);
  (*db)->compact_state();
  (*db)->set_state_watermark(4000);
  EXPECT_EQ((*db)->drop_expired_evidence(), 0u);
  EXPECT_EQ((*db)->state_value("e/31050", 4000), "value of e/31050");
  db->reset();
  std::filesystem::remove_all(dir);
}
