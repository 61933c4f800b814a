#pragma once
// The correlation engine's state_view over the durable store: a write-back cache
// whose dirty entries go into the batch that also carries the offsets that
// produced them, so state and offsets are durable together or not at all.

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>

#include <absl/container/flat_hash_map.h>

#include "common/arena.h"
#include "common/string_hash.h"
#include "correlate/evidence_key.h"
#include "correlate/op.h"
#include "store/store.h"

namespace sentrail::store {

class cached_state : public correlate::state_view {
 public:
  /// `capacity`: clean entries kept in memory between batches. Default: 1M.
  explicit cached_state(durable_store& db, std::size_t capacity = 1'000'000) : db_(db), capacity_(capacity) {}

  std::optional<std::string_view> get(std::string_view key) override;
  void put(std::string_view key, std::string_view value, timestamp_ns expires) override;
  void erase(std::string_view key) override;
  void for_each_from(std::string_view prefix, std::string_view from, const visitor& fn) override;
  void set_now(timestamp_ns watermark) override;
  /// Starts loading where a cached key is (lookup), then its key and value
  /// (value): with a million entries cached, a lookup waited on memory three times.
  void prefetch(std::string_view key, prefetch_stage stage) override;
  /// What the cache holds, and the rest in one read of the store; the keys read
  /// from the store are not cached (evidence, cited once or twice).
  void get_many(const std::vector<std::string>& keys, std::vector<std::optional<std::string>>& values) override;

  /// Moves every change since the last call into `b`. Until b is durable, what it
  /// holds stays cached, so the next batch may be processed while b is written
  /// (gets see it; for_each scans only once it is durable). Evidence goes into b
  /// by view (batch::borrowed_state): write b before calling trim().
  void flush_into(batch& b);
  /// Once the last flushed batch is durable: forgets clean entries beyond the
  /// capacity, and write-once ones (memory stays bounded; RocksDB has them).
  void trim();
  std::size_t cached() const { return entries_.size(); }

 private:
  // Evidence (e/ keys) is written once, when its event is first seen, and read
  // again only if an alert cites it. In the million-entry table each such key
  // was a cache miss at put, at flush_into and at trim (a fifth of the loop
  // thread's time in this class), so until it is durable it lives apart: in
  // arrival order, with a small index per batch that stays in the CPU's cache.
  struct written_evidence {
    std::string_view key, value;  // in the log's arena
    timestamp_ns expires = 0;
    bool erased = false;  // the table holds its delete
  };
  struct evidence_log {
    // The bytes of a batch's evidence, in a few large blocks rather than two
    // allocations per event; the views stay valid until the log is dropped.
    arena bytes{256 * 1024};
    std::deque<written_evidence> entries;
    absl::flat_hash_map<std::string_view, std::size_t, strong_string_hash, std::equal_to<>> index;
    written_evidence* find(std::string_view key);
  };
  static bool is_evidence(std::string_view key) { return correlate::is_evidence_state_key(key); }
  written_evidence* find_evidence(std::string_view key);

  struct entry {
    std::optional<std::string> value;  // nothing: erased (or absent on disk)
    timestamp_ns expires = 0;
    bool dirty = false;
    bool unwritten = false;  // created by put() since the last flush and not known on disk
  };
  /// What memory knows of a key (the evidence log first, then the table), for
  /// get() and get_many(): whether it knows, the live value, and the table's entry.
  struct memory_hit {
    bool found = false;
    std::optional<std::string_view> value;
    std::pair<const std::string, entry>* table_entry = nullptr;
  };
  memory_hit in_memory(std::string_view key);
  durable_store& db_;
  std::size_t capacity_;
  flat_string_map<entry> entries_;  // looked up by view, no key copy per get
  std::pair<const std::string, entry>* last_ = nullptr;  // what the last get() found or loaded
  std::vector<std::string> dirty_;
  std::vector<std::string> written_once_;  // flushed write-once keys, dropped at trim()
  evidence_log evidence_;                   // written since the last flush_into()
  std::vector<evidence_log> sealed_;        // flushed, kept readable until trim()
  timestamp_ns now_ = INT64_MIN;
};

}  // namespace sentrail::store
