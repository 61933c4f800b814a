#pragma once
// The events that wait for the watermark, in reorder-key order (big-endian event
// time, content hash, then the rest of the key's bytes).
//
// Why not a std::map: during a backlog the buffer holds 50k-100k+ events, and a
// red-black tree walks a dozen nodes, each its own cache miss, at every insert,
// then allocates a node and three strings per event. Here the order is a B-tree
// of 24-byte slots (time, hash, entry), so an insert touches a few 256-byte
// nodes; the entries live in a pool whose strings keep their capacity from one
// event to the next, so a buffered event allocates nothing once the pool has
// grown to the backlog.

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <absl/container/btree_set.h>

namespace sentrail::correlate {

class reorder_buffer {
 public:
  struct entry {
    std::string key;       // the reorder key (evidence key)
    std::string rule_ids;  // the detections it matched that feed correlations
    std::string event;     // encoded for this process
  };

  /// A free entry, its strings cleared, to be filled and then insert_staged():
  /// until then it is not in the buffer, and the next stage() returns it again.
  entry& stage();
  /// Puts the staged entry in order. An entry with the same key already waiting
  /// takes the staged one's rule ids and event (the newer copy wins) instead.
  void insert_staged();

  bool empty() const { return order_.empty(); }
  std::size_t size() const { return order_.size(); }
  /// The smallest key waiting; the buffer must not be empty.
  const std::string& first_key() const { return order_.begin()->e->key; }
  /// Takes the smallest entry out of the order. It stays valid, and keeps its
  /// contents, until recycle(): a released event's views point into it.
  entry* take_first();
  void recycle(entry* e);
  /// Every waiting entry back to the pool (entries taken out stay theirs).
  void clear();
  /// Frees the strings of pooled entries beyond what the buffer holds now (at
  /// least 1,024 kept), so memory follows a backlog back down.
  void trim();

 private:
  struct slot {
    std::uint64_t time, hash;  // the key's first 16 bytes: most comparisons end here
    entry* e;
    bool operator<(const slot& o) const {
      if (time != o.time) return time < o.time;
      if (hash != o.hash) return hash < o.hash;
      return e->key < o.e->key;
    }
  };
  static slot slot_of(entry* e);
  void prefetch_next() const;

  absl::btree_set<slot> order_;
  std::deque<entry> storage_;  // a deque: entries never move, so pointers stay valid
  std::vector<entry*> free_;   // with their strings' capacity
  std::vector<entry*> bare_;   // capacity freed by trim()
  entry* staged_ = nullptr;
};

}  // namespace sentrail::correlate
