#pragma once
// Durable state in RocksDB. One WriteBatch per processed batch holds the alerts
// it raised, the records still to publish (the outbox) and the offsets that
// produced them, so a restart resumes exactly where durable state ends and
// nothing is published that was not first made durable.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "correlate/alert.h"

namespace sentrail::store {

struct store_options {
  bool sync_writes = true;                 // Default: true (fsync the WAL per batch)
  std::size_t block_cache_bytes = 64 << 20;   // Default: 64 MiB
  std::size_t write_buffer_bytes = 32 << 20;  // Default: 32 MiB
  /// RocksDB option strings ("name=value;..."), applied over Sentrail's own
  /// settings: DB-wide, and to every column family. Empty: none.
  std::string rocksdb_db_options;
  std::string rocksdb_column_family_options;
};

/// Whether the RocksDB option strings parse (names known, values valid), without
/// opening a store: configuration is refused at load time, with its location.
status check_tuning(const store_options& options);

/// How much write-ahead log the store keeps before it flushes the column families
/// that hold the oldest: twice the write buffer, so the state directory and the
/// log a restart replays stay bounded by configuration.
constexpr std::size_t wal_cap_bytes(const store_options& options) { return 2 * options.write_buffer_bytes; }

/// A record waiting to be published to Kafka once its batch is durable.
struct outbox_record {
  std::uint64_t sequence = 0;
  std::string topic;
  std::string key;
  std::string payload;
};

/// Keyed tables beside the engine's own, for the modules built on the store
/// (alert delivery queues, triage records, incidents, the audit log). Keys are
/// the caller's; they sort bytewise.
enum class table { deliveries, delivery_failures, triage, incidents, audit, alert_index };

/// One change to a keyed table: a value to put, or nothing to delete.
struct table_write {
  table where;
  std::string key;
  std::optional<std::string> value;
};

/// The changes of one processed batch; nothing is visible until commit().
struct batch {
  struct offset {
    std::string topic;
    std::int32_t partition;
    std::int64_t next;  // last processed + 1
  };
  std::vector<offset> offsets;
  std::vector<std::pair<std::string, std::string>> alerts;  // id, JSON
  std::vector<std::string> alert_index;                     // index keys of those alerts
  std::vector<outbox_record> outbox;                        // sequence set by commit()
  /// Outbox records this batch settles without publishing them (replaced by
  /// what `outbox` now holds), so that the swap is atomic.
  std::vector<std::uint64_t> retired_outbox;
  /// Operator state: key → value with its event-time expiry, or nothing to erase.
  struct state_write {
    std::string key;
    std::optional<std::string> value;
    std::int64_t expires = 0;
  };
  std::vector<state_write> state;
  /// Operator state put as views: the writer of the batch keeps the bytes alive
  /// until the batch is durable (cached_state keeps written evidence so), which
  /// saves a copy and two allocations per correlated event.
  struct borrowed_write {
    std::string_view key, value;
    std::int64_t expires = 0;
  };
  std::vector<borrowed_write> borrowed_state;
  /// Writes to keyed tables that must be durable with this batch (e.g. deliveries
  /// of the alerts it raised).
  std::vector<table_write> tables;
  /// The batch committed before this one while it may still be being written:
  /// add_alert() counts its alerts as stored. Not written by commit().
  const batch* after = nullptr;

  void set_next_offset(std::string_view topic, std::int32_t partition, std::int64_t next);
  void add_outbox(std::string_view topic, std::string_view key, std::string_view payload) {
    outbox.push_back({0, std::string(topic), std::string(key), std::string(payload)});
  }
  bool empty() const {
    return offsets.empty() && alerts.empty() && outbox.empty() && retired_outbox.empty() && state.empty() &&
           borrowed_state.empty() && tables.empty();
  }
  void clear() {
    offsets.clear();
    alerts.clear();
    alert_index.clear();
    outbox.clear();
    retired_outbox.clear();
    state.clear();
    borrowed_state.clear();
    tables.clear();
    after = nullptr;
  }
};

class durable_store {
 public:
  static result<std::unique_ptr<durable_store>> open(const std::filesystem::path& dir,
                                                    store_options options = {});
  /// Opens without writing or locking, beside a running engine (for inspection).
  static result<std::unique_ptr<durable_store>> open_read_only(const std::filesystem::path& dir);
  ~durable_store();

  /// Where to resume a partition, when this store has seen it.
  std::optional<std::int64_t> next_offset(std::string_view topic, std::int32_t partition) const;
  bool has_alert(std::string_view id) const;
  std::optional<std::string> alert_json(std::string_view id) const;
  std::size_t alert_count() const;
  /// Every stored alert, in id order.
  void for_each_alert(const std::function<void(std::string_view id, std::string_view json)>& fn) const;

  /// Adds an alert to the batch unless the store or the batch has its id already;
  /// true when it is new. Ids are deterministic, so this is what stops a replay
  /// or a restart from raising an alert twice.
  bool add_alert(batch& b, std::string_view id, std::string_view json) const;
  /// The same, indexed by time, rule, level, status and entity (group values).
  bool add_alert(batch& b, const correlate::alert& a, std::string_view json) const;

  /// Which alert index to search.
  enum class alert_index { time, rule, level, status, entity };
  /// Ids of alerts whose `index` value is `value` (ignored for time) and whose
  /// last_seen is in [from, to], newest first, at most `limit`.
  std::vector<std::string> find_alerts(alert_index index, std::string_view value, std::int64_t from,
                                       std::int64_t to, std::size_t limit) const;

  /// How many alerts `find_alerts(index, value, from, to, all)` would list, read
  /// from the index keys alone.
  std::size_t count_alerts(alert_index index, std::string_view value, std::int64_t from, std::int64_t to) const;

  /// The alert_index key under which `find_alerts(index, value, ...)` finds `id`
  /// at `time`: for keeping an index current when a value changes (e.g. status).
  static std::string alert_index_key(alert_index index, std::string_view value, std::int64_t time,
                                     std::string_view id);

  /// A keyed table's value; nothing when absent.
  std::optional<std::string> get(table t, std::string_view key) const;
  /// Entries whose key starts with `prefix`, in key order (reverse: newest-last
  /// keys come first); stops when `fn` returns false.
  void scan(table t, std::string_view prefix, bool reverse,
            const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  /// Entries with `from` <= key < `to`, in key order; stops when `fn` returns false.
  void scan_range(table t, std::string_view from, std::string_view to,
                  const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  /// Applies the writes in one atomic, durable write.
  status write(const std::vector<table_write>& writes);

  /// Makes the batch durable in one atomic write; assigns outbox sequences.
  status commit(batch& b);

  /// Operator state by key; nothing when absent or expired (expiry before `now`).
  std::optional<std::string> state_value(std::string_view key, std::int64_t now) const;
  /// state_value() of each key, in one batched read (RocksDB MultiGet).
  std::vector<std::optional<std::string>> state_values(const std::vector<std::string_view>& keys,
                                                       std::int64_t now) const;
  /// Live state entries whose key starts with `prefix` (and is not below `from`), in key order.
  void for_each_state(std::string_view prefix, std::int64_t now,
                      const std::function<void(std::string_view key, std::string_view value)>& fn,
                      std::string_view from = {}) const;
  /// Event time that state expiry is judged against during compaction.
  void set_state_watermark(std::int64_t now);
  /// Approximate live bytes of state on disk and in memtables.
  std::uint64_t state_bytes() const;
  /// Forces a compaction of the state (tests and soak runs: see expiry take effect).
  void compact_state();
  /// Drops the evidence files (keys under correlate::evidence_state_prefix) whose
  /// every entry has expired by the state watermark; how many went. Compaction
  /// moves most evidence files down the levels unread, so the expiry it applies
  /// to other state misses them. commit() calls this every ten seconds.
  std::size_t drop_expired_evidence();
  /// Evidence files drop_expired_evidence() has dropped since the store opened.
  std::uint64_t evidence_files_dropped() const;

  /// Records committed but not yet confirmed published, oldest first.
  std::vector<outbox_record> pending_outbox() const;
  /// Forgets published records.
  status mark_published(const std::vector<std::uint64_t>& sequences);

 private:
  struct impl;
  explicit durable_store(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace sentrail::store
