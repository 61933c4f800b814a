#pragma once
// Reads a consumer's partitions in step by time, the way `sentrail replay` reads
// its files: a few records at a time from the partition furthest behind.
//
// Why: librdkafka hands over records in fetch order, about a megabyte of one
// partition at a time. Under a backlog that puts partitions hours of event time
// apart, and the engine's reorder buffer must hold everything read ahead of the
// slowest one until the watermark passes it: a quarter of a 1M-event drain
// (230 k events), where the replay of the same events holds a few thousand. A
// replay made to read the same way ran 26% slower. Here each partition gets a
// queue of its own (split from the consumer's before it is assigned), and
// librdkafka's per-partition read-ahead limit holds back the ones that are ahead.
//
// Time here is the record's Kafka timestamp, a stand-in for event time that is
// known before the record is decoded: it only decides the reading order, never
// what is correlated. A partition whose records carry none is read as it comes.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "worker/by_partition.h"

namespace sentrail::worker {

/// What the reader knows of one partition when it picks the next to read.
struct lane_view {
  std::int64_t last_time;  // timestamp of its newest record read (INT64_MIN: none yet)
  bool has_records;        // records are waiting in its queue
  bool lagging;            // its queue is empty, but the broker holds more of it
};

struct lane_choice {
  enum class step { read, wait_for_lagging, idle } what;
  std::size_t lane = 0;  // to read, or to wait for
};

/// The next step: read the partition with records that is furthest behind,
/// unless one with nothing queued yet but more on the broker (`lagging`) is
/// further behind than it by more than `window_ms`: then wait for that one. With
/// nothing queued anywhere, wait only for a lagging partition more than
/// `window_ms` behind the newest read (a backlog); else the input is idle.
lane_choice choose_lane(std::span<const lane_view> lanes, std::int64_t window_ms);

class partition_reader {
 public:
  struct options {
    /// A partition may be read this far ahead (ms of timestamp) of a lagging one;
    /// negative: no partition queues at all, records in fetch order (the old way).
    std::int64_t window_ms = 1000;
    /// How long to wait for a lagging partition's records before reading the
    /// others anyway (its broker may be slow, or what it holds not for us).
    std::chrono::milliseconds lagging_wait{20};
    /// Records taken from one partition per turn.
    std::size_t turn = 64;
  };
  struct counts {
    std::uint64_t gave_up = 0;  // times it read the others after waiting lagging_wait for one
  };

  /// `consumer` must outlive the reader; close() before the consumer closes.
  partition_reader(rd_kafka_t* consumer, options o);
  ~partition_reader();
  partition_reader(const partition_reader&) = delete;
  partition_reader& operator=(const partition_reader&) = delete;

  /// Whether the reader could be set up (the wake-up pipe, the consumer queue).
  status ready() const;
  bool aligned() const { return options_.window_ms >= 0; }

  /// A partition about to be assigned: from now on its records come from a
  /// queue of its own. Call before assign(), so the fetcher never forwards them.
  void add(std::string_view topic, std::int32_t partition);
  /// A partition revoked: its queue is let go (what it still held is discarded
  /// by librdkafka, as for any revoked partition).
  void remove(std::string_view topic, std::int32_t partition);

  /// Up to `want` records, the caller destroys each. Serves the consumer's
  /// callbacks (rebalances) on the way. Waits up to `timeout_ms` when nothing
  /// is waiting anywhere, and up to lagging_wait for a partition behind the
  /// others whatever the timeout: its records are on their way.
  std::size_t read(int timeout_ms, rd_kafka_message_t** out, std::size_t want);

  /// Records on the broker not yet read, over the partitions read so far (as of
  /// each one's last fetch; no request). 0 when not aligned.
  std::uint64_t backlog() const;

  /// Lets go of every queue; the consumer may close after this.
  void close();

  const counts& stats() const { return counts_; }

 private:
  struct lane {
    rd_kafka_queue_t* queue = nullptr;
    std::int64_t last_time = INT64_MIN;
    std::int64_t next_offset = -1;  // after the last record read
    bool lagging = false;           // set when its queue ran dry with more on the broker
    bool timed = true;              // its records carry timestamps
  };
  using lanes = by_partition<lane>;
  using clock = std::chrono::steady_clock;
  void note(const rd_kafka_message_t* m, lane* known);
  /// Records the broker holds past what was read (its high mark as of the last
  /// fetch, kept by the client: no request); 0 when not known.
  std::int64_t unread_on_broker(const lanes::slot& s) const;
  /// Takes up to `max` records from `q` into out[n...]; returns how many.
  std::size_t take(rd_kafka_queue_t* q, rd_kafka_message_t** out, std::size_t n, std::size_t max, lane* from);
  void wait_until(clock::time_point deadline);

  rd_kafka_t* consumer_;
  options options_;
  rd_kafka_queue_t* main_ = nullptr;  // the consumer's queue: callbacks, and every record when not aligned
  int wake_[2] = {-1, -1};            // librdkafka writes a byte when an empty queue gets something
  lanes lanes_;
  std::vector<lane_view> views_;
  counts counts_;
};

}  // namespace sentrail::worker
