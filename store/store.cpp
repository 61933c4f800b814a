#include "store/store.h"

#include "correlate/evidence_key.h"

#include <algorithm>
#include <limits>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/db.h>
#include <rocksdb/convenience.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/table.h>
#include <rocksdb/table_properties.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace sentrail::store {
namespace {

constexpr const char* column_families[] = {"default",    "offsets",    "alerts",            "outbox",
                                           "state",      "alert_index", "deliveries",       "delivery_failures",
                                           "triage",     "incidents",  "audit",      "evidence"};
enum cf_index {
  cf_default = 0,
  cf_offsets = 1,
  cf_alerts = 2,
  cf_outbox = 3,
  cf_state = 4,
  cf_alert_index = 5,
  cf_deliveries = 6,
  cf_delivery_failures = 7,
  cf_triage = 8,
  cf_incidents = 9,
  cf_audit = 10,
  cf_evidence = 11,
};

// Evidence has a column family of its own. It is most of the state's bytes,
// written once, with keys in about event-time order. With the operator state,
// whose keys are random, every L0 file spanned both, so each compaction rewrote
// all of L1, a little more each time: a 2M drain's compactions wrote 655-658 MiB
// together, and 195-198 MiB apart (`COUNT=2000000 scripts/bench-ab.sh drain 2`).
bool is_evidence(std::string_view key) { return correlate::is_evidence_state_key(key); }

cf_index cf_of(table t) {
  switch (t) {
    case table::deliveries: return cf_deliveries;
    case table::delivery_failures: return cf_delivery_failures;
    case table::triage: return cf_triage;
    case table::incidents: return cf_incidents;
    case table::audit: return cf_audit;
    case table::alert_index: return cf_alert_index;
  }
  return cf_default;
}

constexpr std::string_view index_names[] = {"time", "rule", "level", "status", "entity"};

// "<index>\0<value>\0<time><id>": one prefix seek lists an index value newest-last.
std::string index_prefix(durable_store::alert_index index, std::string_view value) {
  std::string k(index_names[static_cast<int>(index)]);
  k.push_back('\0');
  if (index != durable_store::alert_index::time) {
    k.append(value);
    k.push_back('\0');
  }
  return k;
}

// State values start with their event-time expiry (8 bytes, big-endian, sign-flipped).
void put_expiry(std::string& out, std::int64_t t) {
  auto u = static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xFF));
}
std::int64_t read_expiry(std::string_view v) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8 && i < v.size(); ++i) u = (u << 8) | static_cast<unsigned char>(v[i]);
  return static_cast<std::int64_t>(u ^ (std::uint64_t{1} << 63));
}

// Drops state whose window has closed: expiry by event time, so retention follows
// the data rather than the wall clock, and the database stops growing under steady load.
class expiry_filter : public rocksdb::CompactionFilter {
 public:
  explicit expiry_filter(const std::atomic<std::int64_t>& now) : now_(now) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*, bool*) const override {
    return value.size() >= 8 && read_expiry(value.ToStringView()) < now_.load(std::memory_order_relaxed);
  }
  const char* Name() const override { return "sentrail.expiry"; }

 private:
  const std::atomic<std::int64_t>& now_;
};

// Each evidence file records the latest expiry of its entries. Compaction moves
// time-ordered files down the levels without rewriting them, so the expiry filter
// never sees most evidence; a file whose every entry has expired is dropped whole
// instead (durable_store::drop_expired_evidence).
constexpr const char* latest_expiry_property = "sentrail.latest-expiry";

class latest_expiry_collector : public rocksdb::TablePropertiesCollector {
 public:
  rocksdb::Status AddUserKey(const rocksdb::Slice&, const rocksdb::Slice& value, rocksdb::EntryType type,
                             rocksdb::SequenceNumber, std::uint64_t) override {
    // A deletion may hide an older value in a lower level: its file is never dropped whole.
    if (type != rocksdb::kEntryPut || value.size() < 8) latest_ = INT64_MAX;
    else latest_ = std::max(latest_, read_expiry(value.ToStringView()));
    return rocksdb::Status::OK();
  }
  rocksdb::Status Finish(rocksdb::UserCollectedProperties* properties) override {
    std::string v;
    put_expiry(v, latest_);
    properties->emplace(latest_expiry_property, std::move(v));
    return rocksdb::Status::OK();
  }
  rocksdb::UserCollectedProperties GetReadableProperties() const override {
    return {{latest_expiry_property, std::to_string(latest_)}};
  }
  const char* Name() const override { return "sentrail.latest_expiry"; }

 private:
  std::int64_t latest_ = INT64_MIN;
};

class latest_expiry_collector_factory : public rocksdb::TablePropertiesCollectorFactory {
 public:
  rocksdb::TablePropertiesCollector* CreateTablePropertiesCollector(Context) override {
    return new latest_expiry_collector;
  }
  const char* Name() const override { return "sentrail.latest_expiry"; }
};

std::string offset_key(std::string_view topic, std::int32_t partition) {
  std::string k(topic);
  k.push_back('\0');
  auto p = static_cast<std::uint32_t>(partition);
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>((p >> shift) & 0xFF));
  return k;
}

std::string encode_u64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
  return s;  // big-endian, so key order is numeric order
}

std::uint64_t decode_u64(std::string_view s) {
  std::uint64_t v = 0;
  for (char c : s.substr(0, 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

}  // namespace

void batch::set_next_offset(std::string_view topic, std::int32_t partition, std::int64_t next) {
  for (auto& o : offsets) {
    if (o.partition == partition && o.topic == topic) {
      if (next > o.next) o.next = next;
      return;
    }
  }
  offsets.push_back({std::string(topic), partition, next});
}

struct durable_store::impl {
  std::atomic<std::int64_t> state_now{INT64_MIN};
  std::unique_ptr<expiry_filter> filter = std::make_unique<expiry_filter>(state_now);
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::WriteOptions write_options;
  // Reserved per commit: a batch may be committed on one thread while another
  // commits a small swap of outbox records (the worker's refusals).
  std::atomic<std::uint64_t> next_sequence{1};

  // The evidence family's handle, or the state's in a read-only store written
  // before evidence had its own.
  rocksdb::ColumnFamilyHandle* evidence = nullptr;
  std::atomic<std::uint64_t> evidence_dropped{0};
  std::atomic<std::int64_t> evidence_checked{0};  // steady clock, ns: when commit() last dropped expired evidence

  rocksdb::ColumnFamilyHandle* cf(cf_index i) const { return i == cf_evidence ? evidence : handles[i]; }
  status move_evidence_out_of_state();
  rocksdb::ColumnFamilyHandle* state_cf(std::string_view key) const {
    return is_evidence(key) ? evidence : handles[cf_state];
  }

  // A drain's batch is tens of megabytes of WriteBatch. Built afresh each time,
  // the buffer grew by doubling into pages the kernel had to fault in and
  // zero: a third of the store writer's time was in WriteBatch::Put, half of
  // that page faults. One spare keeps its capacity from one commit to the next.
  // Another thread may commit at the same time (the worker's refusals), so the
  // spare is lent under a lock; the larger of two is kept, and one outgrown by
  // a burst is let go, so what stays is bounded by the largest usual batch.
  static constexpr std::size_t spare_capacity_limit = 64u << 20;
  std::mutex spare_mutex;
  std::unique_ptr<rocksdb::WriteBatch> spare;
  std::unique_ptr<rocksdb::WriteBatch> borrow_write_batch() {
    {
      std::lock_guard lock(spare_mutex);
      if (spare) return std::move(spare);
    }
    return std::make_unique<rocksdb::WriteBatch>();
  }
  void give_back(std::unique_ptr<rocksdb::WriteBatch> b) {
    if (b->Data().capacity() > spare_capacity_limit) return;
    b->Clear();  // keeps the buffer's capacity
    std::lock_guard lock(spare_mutex);
    if (!spare || spare->Data().capacity() < b->Data().capacity()) spare = std::move(b);
  }

  ~impl() {
    if (!db) return;
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close();
    delete db;
  }
};

durable_store::durable_store(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
durable_store::~durable_store() = default;

namespace {
// The operator's tuning goes over ours, with RocksDB's own parser: an unknown
// name or a bad value is refused rather than ignored.
rocksdb::ConfigOptions strict_parsing() {
  rocksdb::ConfigOptions tuning;
  tuning.ignore_unknown_options = false;
  tuning.input_strings_escaped = false;
  return tuning;
}

status tune_db(const store_options& options, rocksdb::DBOptions& db_options) {
  if (options.rocksdb_db_options.empty()) return {};
  rocksdb::DBOptions tuned;
  rocksdb::Status s = rocksdb::GetDBOptionsFromString(strict_parsing(), db_options, options.rocksdb_db_options, &tuned);
  if (!s.ok()) return error{"store.rocksdb.db \"" + options.rocksdb_db_options + "\": " + s.ToString()};
  db_options = tuned;
  return {};
}

status tune_column_family(const store_options& options, rocksdb::ColumnFamilyOptions& cf_options) {
  if (options.rocksdb_column_family_options.empty()) return {};
  rocksdb::ColumnFamilyOptions tuned;
  rocksdb::Status s = rocksdb::GetColumnFamilyOptionsFromString(strict_parsing(), cf_options,
                                                                options.rocksdb_column_family_options, &tuned);
  if (!s.ok())
    return error{"store.rocksdb.column_families \"" + options.rocksdb_column_family_options + "\": " + s.ToString()};
  cf_options = tuned;
  return {};
}
}  // namespace

status check_tuning(const store_options& options) {
  rocksdb::DBOptions db_options;
  rocksdb::ColumnFamilyOptions cf_options;
  if (auto s = tune_db(options, db_options); !s) return s;
  return tune_column_family(options, cf_options);
}

// A store written before evidence had its own column family holds it in the
// state's: moved at open, before anything reads it. Each write moves a chunk of
// keys atomically, so after a crash every key is in one family or the other and
// the next open moves the rest.
status durable_store::impl::move_evidence_out_of_state() {
  const std::string_view prefix = correlate::evidence_state_prefix;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf(cf_state)));
  rocksdb::WriteBatch moves;
  auto write = [&]() -> status {
    if (moves.Count() == 0) return {};
    rocksdb::Status s = db->Write(write_options, &moves);
    moves.Clear();
    if (!s.ok()) return error{s.ToString()};
    return {};
  };
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    moves.Put(evidence, it->key(), it->value());
    moves.Delete(cf(cf_state), it->key());
    if (moves.GetDataSize() >= 16 << 20)
      if (auto s = write(); !s) return s;
  }
  if (!it->status().ok()) return error{it->status().ToString()};
  return write();
}

result<std::unique_ptr<durable_store>> durable_store::open(const std::filesystem::path& dir,
                                                           store_options options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return error{dir.string() + ": cannot create the state directory: " + ec.message()};
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.db_write_buffer_size = options.write_buffer_bytes;
  // A write-ahead log is deleted only once every column family it holds has been
  // flushed, and the offsets and outbox get a few bytes per batch, so they pinned
  // every log since the start: RocksDB's own cap is four times all the memtables
  // (704 MiB by default), and a 500k-event drain left 170 MiB of logs beside
  // 55 MiB of state, all replayed on restart. Past this cap the column families
  // holding the oldest log are flushed instead.
  db_options.max_total_wal_size = wal_cap_bytes(options);
  rocksdb::BlockBasedTableOptions table;
  // Index and filter blocks live in the block cache, at high priority, so the
  // configured budget bounds them too.
  rocksdb::LRUCacheOptions cache;
  cache.capacity = options.block_cache_bytes;
  cache.high_pri_pool_ratio = 0.5;
  table.block_cache = rocksdb::NewLRUCache(cache);
  // Most state reads are for groups never seen before: a bloom filter answers them.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  // Partitioned: with millions of keys, one whole-file filter outgrows a cache
  // shard, is evicted at once and re-read from disk on every lookup (it was 40%
  // of the time at 600k entities); 4 KiB partitions stay cached.
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.write_buffer_size = options.write_buffer_bytes / 4;
  // LZ4 costs a fraction of snappy's CPU on the compaction threads that share our two cores.
  cf_options.compression = rocksdb::kLZ4Compression;
  auto i = std::make_unique<impl>();
  rocksdb::ColumnFamilyOptions state_options = cf_options;
  state_options.compaction_filter = i->filter.get();
  // Compaction merges L0 into the whole of L1 (all of the state, below 256 MiB), so
  // the state was rewritten once per four memtable flushes; at eight, half as
  // often. A drain's CPU per event: 12.1-13.7 us against 13.1-16.0 (1M events,
  // 4 alternating pairs), 10.1-10.9 against 11.7-13.6 (500 k, 3 pairs). A miss
  // checks the filters of up to eight L0 files instead of four.
  state_options.level0_file_num_compaction_trigger = 8;
  // A bloom filter over each memtable's keys: most state reads are for groups never
  // seen, and each searched the skip lists of the memtables (the newest few
  // batches) before the files' filters could answer. A miss: 1.3 us -> 0.6 us.
  // (0.1 of the memtable's size in bits, so the other column families go without.)
  rocksdb::ColumnFamilyOptions evidence_options = state_options;
  state_options.memtable_prefix_bloom_size_ratio = 0.1;
  state_options.memtable_whole_key_filtering = true;
  // Evidence is read by key only when an alert cites it: no memtable filter. Its
  // files are small because a flush's time range overlaps the last file of L1 a
  // little (events arrive up to the allowed lateness out of order), and that
  // file is rewritten with it; small files also expire whole sooner.
  evidence_options.target_file_size_base = 8 << 20;
  evidence_options.table_properties_collector_factories.push_back(
      std::make_shared<latest_expiry_collector_factory>());
  if (auto s = tune_db(options, db_options); !s) return error{s.message()};
  if (auto s = tune_column_family(options, cf_options); !s) return error{s.message()};
  if (auto s = tune_column_family(options, state_options); !s) return error{s.message()};
  if (auto s = tune_column_family(options, evidence_options); !s) return error{s.message()};
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : column_families)
    descriptors.emplace_back(name, std::string_view(name) == "state"      ? state_options
                                   : std::string_view(name) == "evidence" ? evidence_options
                                                                          : cf_options);

  i->write_options.sync = options.sync_writes;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir.string(), descriptors, &i->handles, &i->db);
  if (!s.ok()) return error{dir.string() + ": cannot open the state store: " + s.ToString()};
  i->evidence = i->handles[cf_evidence];
  if (auto moved = i->move_evidence_out_of_state(); !moved)
    return error{dir.string() + ": cannot move evidence to its own column family: " + moved.message()};

  // Continue outbox sequences after the last one still pending.
  std::unique_ptr<rocksdb::Iterator> it(i->db->NewIterator({}, i->cf(cf_outbox)));
  it->SeekToLast();
  if (it->Valid()) i->next_sequence = decode_u64(it->key().ToStringView()) + 1;
  return std::unique_ptr<durable_store>(new durable_store(std::move(i)));
}

result<std::unique_ptr<durable_store>> durable_store::open_read_only(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir / "CURRENT", ec)) return error{dir.string() + ": not a Sentrail state directory"};
  rocksdb::Options db_options;
  std::vector<std::string> present;
  rocksdb::DB::ListColumnFamilies(db_options, dir.string(), &present);
  const bool has_evidence = std::find(present.begin(), present.end(), "evidence") != present.end();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : column_families)
    if (has_evidence || std::string_view(name) != "evidence") descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  auto i = std::make_unique<impl>();
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_options, dir.string(), descriptors, &i->handles, &i->db);
  if (!s.ok()) return error{dir.string() + ": cannot open the state store: " + s.ToString()};
  // Written before evidence had a family of its own (and not opened since): it is in the state's.
  i->evidence = has_evidence ? i->handles[cf_evidence] : i->handles[cf_state];
  return std::unique_ptr<durable_store>(new durable_store(std::move(i)));
}

std::optional<std::int64_t> durable_store::next_offset(std::string_view topic,
                                                       std::int32_t partition) const {
  std::string value;
  auto s = impl_->db->Get({}, impl_->cf(cf_offsets), offset_key(topic, partition), &value);
  if (!s.ok()) return std::nullopt;
  return static_cast<std::int64_t>(decode_u64(value));
}

bool durable_store::has_alert(std::string_view id) const {
  std::string value;
  return impl_->db->Get({}, impl_->cf(cf_alerts), rocksdb::Slice(id.data(), id.size()), &value).ok();
}

std::optional<std::string> durable_store::alert_json(std::string_view id) const {
  std::string value;
  if (!impl_->db->Get({}, impl_->cf(cf_alerts), rocksdb::Slice(id.data(), id.size()), &value).ok())
    return std::nullopt;
  return value;
}

std::size_t durable_store::alert_count() const {
  std::size_t n = 0;
  for_each_alert([&](std::string_view, std::string_view) { ++n; });
  return n;
}

void durable_store::for_each_alert(
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf(cf_alerts)));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    fn(it->key().ToStringView(), it->value().ToStringView());
}

bool durable_store::add_alert(batch& b, std::string_view id, std::string_view json) const {
  for (const batch* in : {static_cast<const batch*>(&b), b.after})
    if (in)
      for (const auto& [existing, _] : in->alerts)
        if (existing == id) return false;
  if (has_alert(id)) return false;
  b.alerts.emplace_back(std::string(id), std::string(json));
  return true;
}

std::string durable_store::alert_index_key(alert_index index, std::string_view value, std::int64_t time,
                                           std::string_view id) {
  std::string k = index_prefix(index, value);
  put_expiry(k, time);  // same ordered encoding as expiries: time order
  k.append(id);
  return k;
}

bool durable_store::add_alert(batch& b, const correlate::alert& a, std::string_view json) const {
  if (!add_alert(b, a.id, json)) return false;
  auto add = [&](alert_index index, std::string_view value) {
    b.alert_index.push_back(alert_index_key(index, value, a.last_seen, a.id));
  };
  add(alert_index::time, {});
  add(alert_index::rule, a.rule_id);
  add(alert_index::level, a.level);
  add(alert_index::status, a.status);
  for (const auto& [field, value] : a.group) add(alert_index::entity, value);
  return true;
}

namespace {
// Calls `fn` with the id of each index entry for (index, value) with a time in
// [from, to], newest first, until it returns false.
void walk_alert_index(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix, std::int64_t from,
                      std::int64_t to, const std::function<bool(std::string_view id)>& fn) {
  std::string upper = prefix;
  put_expiry(upper, to);
  upper.push_back('\xff');
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf));
  for (it->SeekForPrev(upper); it->Valid(); it->Prev()) {
    std::string_view k = it->key().ToStringView();
    if (!k.starts_with(prefix) || k.size() < prefix.size() + 8) break;
    std::int64_t t = read_expiry(k.substr(prefix.size(), 8));
    if (t > to) continue;
    if (t < from) break;
    if (!fn(k.substr(prefix.size() + 8))) break;
  }
}

// The same, oldest first: to the end of a range, reading forward is much cheaper
// than backward (a memtable step back is a search from its top, and every key a
// status change deleted is stepped over).
void walk_alert_index_forward(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
                              std::int64_t from, std::int64_t to, const std::function<void(std::string_view id)>& fn) {
  std::string lower = prefix;
  put_expiry(lower, from);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (!k.starts_with(prefix) || k.size() < prefix.size() + 8) break;
    if (read_expiry(k.substr(prefix.size(), 8)) > to) break;
    fn(k.substr(prefix.size() + 8));
  }
}
}  // namespace

std::vector<std::string> durable_store::find_alerts(alert_index index, std::string_view value, std::int64_t from,
                                                    std::int64_t to, std::size_t limit) const {
  std::vector<std::string> ids;
  if (limit == 0) return ids;
  if (limit == std::numeric_limits<std::size_t>::max()) {  // all of them: read forward, then turn around
    walk_alert_index_forward(impl_->db, impl_->cf(cf_alert_index), index_prefix(index, value), from, to,
                             [&](std::string_view id) { ids.emplace_back(id); });
    std::reverse(ids.begin(), ids.end());
    return ids;
  }
  walk_alert_index(impl_->db, impl_->cf(cf_alert_index), index_prefix(index, value), from, to,
                   [&](std::string_view id) {
                     ids.emplace_back(id);
                     return ids.size() < limit;
                   });
  return ids;
}

std::size_t durable_store::count_alerts(alert_index index, std::string_view value, std::int64_t from,
                                        std::int64_t to) const {
  std::size_t n = 0;
  walk_alert_index_forward(impl_->db, impl_->cf(cf_alert_index), index_prefix(index, value), from, to,
                           [&](std::string_view) { ++n; });
  return n;
}

namespace {
void add_table_write(rocksdb::WriteBatch& writes, rocksdb::ColumnFamilyHandle* cf, const table_write& w) {
  if (w.value)
    writes.Put(cf, w.key, *w.value);
  else
    writes.Delete(cf, w.key);
}
}  // namespace

std::optional<std::string> durable_store::get(table t, std::string_view key) const {
  std::string v;
  if (!impl_->db->Get({}, impl_->cf(cf_of(t)), rocksdb::Slice(key.data(), key.size()), &v).ok())
    return std::nullopt;
  return v;
}

void durable_store::scan(table t, std::string_view prefix, bool reverse,
                         const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf(cf_of(t))));
  if (reverse) {
    // The first key past every key with this prefix: the prefix with its last
    // byte below 0xff incremented (none: the prefix's keys run to the end).
    std::string past(prefix);
    while (!past.empty() && static_cast<unsigned char>(past.back()) == 0xff) past.pop_back();
    if (past.empty()) {
      it->SeekToLast();
    } else {
      past.back() = static_cast<char>(static_cast<unsigned char>(past.back()) + 1);
      it->SeekForPrev(past);
    }
    for (; it->Valid(); it->Prev()) {
      std::string_view k = it->key().ToStringView();
      if (!past.empty() && k >= past) continue;
      if (!k.starts_with(prefix)) break;
      if (!fn(k, it->value().ToStringView())) return;
    }
    return;
  }
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (!k.starts_with(prefix)) break;
    if (!fn(k, it->value().ToStringView())) return;
  }
}

void durable_store::scan_range(table t, std::string_view from, std::string_view to,
                               const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf(cf_of(t))));
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (k >= to) break;
    if (!fn(k, it->value().ToStringView())) return;
  }
}

status durable_store::write(const std::vector<table_write>& writes) {
  if (writes.empty()) return {};
  rocksdb::WriteBatch batch_writes;
  for (const auto& w : writes) add_table_write(batch_writes, impl_->cf(cf_of(w.where)), w);
  rocksdb::Status s = impl_->db->Write(impl_->write_options, &batch_writes);
  if (!s.ok()) return error{"state store write failed: " + s.ToString()};
  return {};
}

namespace {
// RocksDB counts into a thread-local perf context on every key comparison by
// default (PerfLevel kEnableCount); from a shared library each count is a
// __tls_get_addr call, and a drain's store writer spent over a tenth of its time
// there inserting into the memtable. Nothing reads the counts: off, per thread.
void stop_perf_counting() {
  thread_local const bool stopped = [] {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    return true;
  }();
  (void)stopped;
}

// A state write in commit()'s sort: the key's first 16 bytes as two big-endian
// integers, read once, so most comparisons are two integer compares rather than
// a memcmp through a pointer to bytes that are not in the CPU's cache (the sort
// was a sixth of the store writer's time). Zero padding keeps the order: a key
// that ends inside the prefix sorts before any longer key that shares its bytes.
struct state_put {
  std::uint64_t high = 0, low = 0;
  std::string_view key;
  std::optional<std::string_view> value;  // nothing: delete
  std::int64_t expires = 0;
  std::uint32_t arrival = 0;  // equal keys keep their order: the later write wins

  state_put(std::string_view k, std::optional<std::string_view> v, std::int64_t e, std::uint32_t n)
      : key(k), value(v), expires(e), arrival(n) {
    char prefix[16] = {};
    std::memcpy(prefix, k.data(), std::min<std::size_t>(k.size(), sizeof prefix));
    std::memcpy(&high, prefix, 8);
    std::memcpy(&low, prefix + 8, 8);
    if constexpr (std::endian::native == std::endian::little) {
      high = __builtin_bswap64(high);
      low = __builtin_bswap64(low);
    }
  }
  bool operator<(const state_put& o) const {
    if (high != o.high) return high < o.high;
    if (low != o.low) return low < o.low;
    if (int c = key.compare(o.key); c != 0) return c < 0;
    return arrival < o.arrival;
  }
};
}  // namespace

status durable_store::commit(batch& b) {
  stop_perf_counting();
  auto borrowed = impl_->borrow_write_batch();
  rocksdb::WriteBatch& writes = *borrowed;
  for (const auto& w : b.tables) add_table_write(writes, impl_->cf(cf_of(w.where)), w);
  for (const auto& k : b.alert_index) writes.Put(impl_->cf(cf_alert_index), k, rocksdb::Slice());
  for (const auto& o : b.offsets)
    writes.Put(impl_->cf(cf_offsets), offset_key(o.topic, o.partition),
               encode_u64(static_cast<std::uint64_t>(o.next)));
  for (const auto& [id, json] : b.alerts) writes.Put(impl_->cf(cf_alerts), id, json);
  std::uint64_t seq = b.outbox.empty() ? 0 : impl_->next_sequence.fetch_add(b.outbox.size());
  for (auto& r : b.outbox) {
    r.sequence = seq++;
    std::string value;
    value.reserve(r.topic.size() + r.key.size() + r.payload.size() + 2);
    value.append(r.topic).push_back('\0');
    value.append(r.key).push_back('\0');
    value.append(r.payload);
    writes.Put(impl_->cf(cf_outbox), encode_u64(r.sequence), value);
  }
  for (auto seq : b.retired_outbox) writes.Delete(impl_->cf(cf_outbox), encode_u64(seq));
  // In key order: the memtable's skip list inserts a run of ascending keys from
  // where the last insert ended instead of searching from the top each time
  // (memtable inserts were a fifth of a broker drain's CPU, mostly key compares).
  std::vector<state_put> ordered;
  ordered.reserve(b.state.size() + b.borrowed_state.size());
  std::uint32_t arrival = 0;
  for (const auto& w : b.state)
    ordered.emplace_back(w.key, w.value ? std::optional<std::string_view>(*w.value) : std::nullopt, w.expires,
                         arrival++);
  for (const auto& w : b.borrowed_state) ordered.emplace_back(w.key, w.value, w.expires, arrival++);
  std::sort(ordered.begin(), ordered.end());
  std::string expiry;
  for (const state_put& w : ordered) {
    const rocksdb::Slice key(w.key.data(), w.key.size());
    if (w.value) {
      // In two parts, so the value is copied once, into the batch, not first
      // into a scratch string behind its expiry.
      expiry.clear();
      put_expiry(expiry, w.expires);
      const rocksdb::Slice value_parts[] = {rocksdb::Slice(expiry), rocksdb::Slice(w.value->data(), w.value->size())};
      writes.Put(impl_->state_cf(w.key), rocksdb::SliceParts(&key, 1), rocksdb::SliceParts(value_parts, 2));
    } else {
      writes.Delete(impl_->state_cf(w.key), key);
    }
  }
  if (writes.Count() == 0) {
    impl_->give_back(std::move(borrowed));
    return {};
  }
  rocksdb::Status s = impl_->db->Write(impl_->write_options, &writes);
  impl_->give_back(std::move(borrowed));
  if (!s.ok()) return error{"state store write failed: " + s.ToString()};
  // Listing the evidence files costs more than a batch: every ten seconds, by one committer.
  std::int64_t wall = std::chrono::steady_clock::now().time_since_epoch().count();
  std::int64_t checked = impl_->evidence_checked.load(std::memory_order_relaxed);
  if (wall - checked >= std::chrono::nanoseconds(std::chrono::seconds(10)).count() &&
      impl_->evidence_checked.compare_exchange_strong(checked, wall))
    drop_expired_evidence();
  return {};
}

std::optional<std::string> durable_store::state_value(std::string_view key, std::int64_t now) const {
  stop_perf_counting();
  std::string v;
  if (!impl_->db->Get({}, impl_->state_cf(key), rocksdb::Slice(key.data(), key.size()), &v).ok()) return std::nullopt;
  if (v.size() < 8 || read_expiry(v) < now) return std::nullopt;
  return v.substr(8);
}

std::vector<std::optional<std::string>> durable_store::state_values(const std::vector<std::string_view>& keys,
                                                                    std::int64_t now) const {
  stop_perf_counting();
  std::vector<rocksdb::Slice> slices;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  slices.reserve(keys.size());
  families.reserve(keys.size());
  for (auto k : keys) {
    slices.emplace_back(k.data(), k.size());
    families.push_back(impl_->state_cf(k));
  }
  std::vector<rocksdb::PinnableSlice> found(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet({}, keys.size(), families.data(), slices.data(), found.data(), statuses.data());
  std::vector<std::optional<std::string>> values(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!statuses[i].ok()) continue;
    std::string_view v = found[i].ToStringView();
    if (v.size() < 8 || read_expiry(v) < now) continue;
    values[i] = std::string(v.substr(8));
  }
  return values;
}

void durable_store::for_each_state(std::string_view prefix, std::int64_t now,
                                   const std::function<void(std::string_view, std::string_view)>& fn,
                                   std::string_view from) const {
  // Keys in [begin, end) of one family (an empty end: no bound), in key order.
  auto scan = [&](rocksdb::ColumnFamilyHandle* family, std::string_view begin, std::string_view end) {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, family));
    std::string_view start = std::max(begin, std::max(from, prefix));
    for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
      std::string_view k = it->key().ToStringView();
      if (!k.starts_with(prefix) || (!end.empty() && k >= end)) break;
      std::string_view v = it->value().ToStringView();
      if (v.size() < 8 || read_expiry(v) < now) continue;
      fn(k, v.substr(8));
    }
  };
  const std::string_view evidence = correlate::evidence_state_prefix;
  if (!evidence.starts_with(prefix) || prefix == evidence || impl_->evidence == impl_->cf(cf_state)) {
    scan(impl_->state_cf(prefix), {}, {});
    return;
  }
  // A prefix that spans evidence too ("", "e"): the state's keys below it, the
  // evidence, then the state's keys above it, so the visit stays in key order.
  std::string past_evidence(evidence);
  ++past_evidence.back();
  scan(impl_->cf(cf_state), {}, evidence);
  scan(impl_->evidence, evidence, past_evidence);
  scan(impl_->cf(cf_state), past_evidence, {});
}

void durable_store::set_state_watermark(std::int64_t now) { impl_->state_now.store(now, std::memory_order_relaxed); }

std::uint64_t durable_store::state_bytes() const {
  std::uint64_t total = 0;
  for (cf_index i : {cf_state, cf_evidence}) {
    std::uint64_t live = 0, mem = 0;
    impl_->db->GetIntProperty(impl_->cf(i), "rocksdb.estimate-live-data-size", &live);
    impl_->db->GetIntProperty(impl_->cf(i), "rocksdb.cur-size-all-mem-tables", &mem);
    total += live + mem;
  }
  return total;
}

void durable_store::compact_state() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (cf_index i : {cf_state, cf_evidence}) {
    impl_->db->Flush({}, impl_->cf(i));
    impl_->db->CompactRange(o, impl_->cf(i), nullptr, nullptr);
  }
}

std::size_t durable_store::drop_expired_evidence() {
  const std::int64_t now = impl_->state_now.load(std::memory_order_relaxed);
  if (now == INT64_MIN || impl_->evidence == impl_->cf(cf_state)) return 0;
  rocksdb::TablePropertiesCollection properties;
  if (!impl_->db->GetPropertiesOfAllTables(impl_->evidence, &properties).ok()) return 0;
  std::unordered_map<std::string_view, std::int64_t> latest_expiry;  // by file name
  for (const auto& [path, p] : properties) {
    auto found = p->user_collected_properties.find(latest_expiry_property);
    if (found == p->user_collected_properties.end()) continue;
    std::string_view name = path;
    name = name.substr(name.rfind('/') + 1);
    latest_expiry[name] = read_expiry(found->second);
  }
  struct file {
    std::string_view smallest, largest;
    bool expired;
  };
  std::vector<file> files;  // below L0 (DeleteFilesInRange leaves L0 files alone), by smallest key
  rocksdb::ColumnFamilyMetaData meta;
  impl_->db->GetColumnFamilyMetaData(impl_->evidence, &meta);
  for (const auto& level : meta.levels) {
    if (level.level == 0) continue;
    for (const auto& f : level.files) {
      auto e = latest_expiry.find(f.relative_filename);
      files.push_back({f.smallestkey, f.largestkey, e != latest_expiry.end() && e->second < now && !f.being_compacted});
    }
  }
  std::sort(files.begin(), files.end(), [](const file& x, const file& y) { return x.smallest < y.smallest; });
  // RocksDB drops every file inside a range, so a range is asked for only when
  // each file inside it has expired too (evidence written under a longer
  // retention, before the rules changed, may share a time range).
  std::vector<rocksdb::Slice> bounds;
  for (const file& f : files) {
    if (!f.expired) continue;
    bool alone = true;
    auto inside = std::lower_bound(files.begin(), files.end(), f.smallest,
                                   [](const file& g, std::string_view key) { return g.smallest < key; });
    for (; alone && inside != files.end() && inside->smallest <= f.largest; ++inside)
      alone = inside->expired || inside->largest > f.largest;
    if (!alone) continue;
    bounds.emplace_back(f.smallest.data(), f.smallest.size());
    bounds.emplace_back(f.largest.data(), f.largest.size());
  }
  if (bounds.empty()) return 0;
  std::vector<rocksdb::RangePtr> ranges;
  for (std::size_t k = 0; k < bounds.size(); k += 2) ranges.emplace_back(&bounds[k], &bounds[k + 1]);
  rocksdb::DeleteFilesInRanges(impl_->db, impl_->evidence, ranges.data(), ranges.size(), true);
  rocksdb::ColumnFamilyMetaData after;
  impl_->db->GetColumnFamilyMetaData(impl_->evidence, &after);
  std::size_t remaining = 0;
  for (const auto& level : after.levels)
    if (level.level != 0) remaining += level.files.size();
  const std::size_t dropped = files.size() > remaining ? files.size() - remaining : 0;
  impl_->evidence_dropped.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

std::uint64_t durable_store::evidence_files_dropped() const {
  return impl_->evidence_dropped.load(std::memory_order_relaxed);
}

std::vector<outbox_record> durable_store::pending_outbox() const {
  std::vector<outbox_record> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}, impl_->cf(cf_outbox)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view v = it->value().ToStringView();
    auto a = v.find('\0');
    auto b = v.find('\0', a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos) continue;
    out.push_back({decode_u64(it->key().ToStringView()), std::string(v.substr(0, a)),
                   std::string(v.substr(a + 1, b - a - 1)), std::string(v.substr(b + 1))});
  }
  return out;
}

status durable_store::mark_published(const std::vector<std::uint64_t>& sequences) {
  if (sequences.empty()) return {};
  rocksdb::WriteBatch writes;
  for (auto seq : sequences) writes.Delete(impl_->cf(cf_outbox), encode_u64(seq));
  // Losing this write only means a record is published again after a crash;
  // consumers dedupe by alert id, so it need not wait for fsync.
  rocksdb::WriteOptions relaxed;
  rocksdb::Status s = impl_->db->Write(relaxed, &writes);
  if (!s.ok()) return error{"state store write failed: " + s.ToString()};
  return {};
}

}  // namespace sentrail::store
