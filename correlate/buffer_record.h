#pragma once
// The durable reorder buffer of inputs that can be read again (Kafka topics):
// the events one batch put in the buffer, each by its evidence key (which says
// where to read it again) and the rules it matched, written as one state entry
// per batch and deleted once the watermark has released them all. One key each
// (as e/) cost the store a memtable insert per correlated event, then a flush
// and compactions of entries nobody read again: 40% of a broker drain's CPU.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"

namespace sentrail::correlate {

class buffer_record {
 public:
  /// Adds an event by its evidence key (event time first, as append_evidence_key
  /// writes it) and its rule ids.
  void add(std::string_view evidence_key, std::string_view rule_ids);
  bool empty() const { return count_ == 0; }
  std::size_t size() const { return count_; }
  /// The newest event time in the record: once the watermark is there, every
  /// event in it has been released.
  timestamp_ns latest() const { return latest_; }
  /// The record's stored form.
  std::string encode() const;
  void clear();

 private:
  // Rule-id lists repeat from event to event: each distinct one is stored once.
  std::vector<std::string> rule_sets_;
  std::size_t last_set_ = 0;
  std::string entries_;  // per event: evidence key, index into rule_sets_
  std::size_t count_ = 0;
  timestamp_ns latest_ = INT64_MIN;
};

/// Calls `fn(evidence_key, rule_ids)` for each event of a stored record, in the
/// order added. False (having called fn for none) when `stored` is not a record.
bool for_each_buffered(std::string_view stored,
                       const std::function<void(std::string_view evidence_key, std::string_view rule_ids)>& fn);

}  // namespace sentrail::correlate
