#pragma once
// The input records read most recently, kept raw within a fixed byte budget.
// Evidence by reference reads an alert's events back from Kafka, and the events
// an alert cites are mostly recent: the ones its last match just completed. A
// broker round trip per partition for them held the loop up for most of a
// drain (hundreds of ms for a batch's alerts), where this finds them in memory.
// Older records, and every record after a restart, are still read from Kafka.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worker/by_partition.h"

namespace sentrail::worker {

class recent_records {
 public:
  /// `capacity_bytes`: payload bytes kept (0 keeps nothing).
  explicit recent_records(std::size_t capacity_bytes);

  /// A record just read. Records of one partition are expected in offset order; one
  /// at or before the last kept (the partition was read again from earlier) drops
  /// what that partition kept. A payload larger than the budget is not kept.
  void keep(std::string_view topic, std::int32_t partition, std::int64_t offset, std::string_view payload);
  /// The payload of a record still kept; valid until the next keep().
  std::optional<std::string_view> find(std::string_view topic, std::int32_t partition, std::int64_t offset) const;

  std::size_t capacity() const { return capacity_; }

 private:
  struct record {
    std::int64_t offset;
    std::uint64_t at;  // where its payload starts, in bytes ever written (not wrapped)
    std::uint32_t size;
  };
  using records = std::deque<record>;  // of one partition, ascending offsets
  bool live(const record& r) const { return r.at + capacity_ >= written_; }
  void drop_overwritten(records& kept);

  // Not zeroed: the pages are touched (and resident) only as records fill them.
  std::unique_ptr<char[]> ring_;
  std::size_t capacity_;
  std::uint64_t written_ = 0;  // bytes ever written, skipped ends of the ring included
  by_partition<records> partitions_;
  std::uint64_t kept_since_sweep_ = 0;
};

}  // namespace sentrail::worker
