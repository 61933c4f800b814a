#pragma once
// One sink's durable delivery queue in the store. A delivery is written in the
// batch that raises its alert (so it exists exactly when the alert is durable),
// under `<sink>/<big-endian sequence>` in table::deliveries, which makes each
// sink's queue one ordered key range. It is deleted once delivered, or moved to
// table::delivery_failures (the dead letters) with the last error.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alert/sink.h"
#include "common/result.h"
#include "common/time.h"
#include "store/store.h"

namespace sentrail::alert {

struct pending_delivery {
  std::string key;  // in table::deliveries
  std::uint64_t sequence = 0;
  std::string alert_id;
  int attempts = 0;  // failed attempts so far
  std::string payload;
};

struct failed_delivery {
  std::string sink;
  std::uint64_t sequence = 0;
  std::string alert_id;
  int attempts = 0;
  timestamp_ns failed_at = 0;
  std::string last_error;
  std::string payload;
};

class delivery_queue {
 public:
  /// The queue of sink `name` (a valid_sink_name); continues its sequence.
  delivery_queue(store::durable_store& db, std::string name);

  const std::string& name() const { return name_; }
  /// Adds a delivery to the batch being built. Worker thread only.
  void enqueue(store::batch& b, std::string_view alert_id, std::string_view payload);
  /// The oldest `n` pending deliveries from sequence `from` on, in order. A
  /// drainer passes the sequence after the last one it finished, so it does not
  /// walk over the deletions it left behind (until compaction drops them).
  std::vector<pending_delivery> head(std::size_t n, std::uint64_t from = 0) const;
  /// Pending deliveries now (a scan: for start-up and tests).
  std::size_t count() const;
  /// Forgets delivered ones.
  status delivered(const std::vector<pending_delivery>& items);

  struct failure_counts {
    std::size_t retried = 0;
    std::size_t dead_lettered = 0;
  };
  /// Counts one more failed attempt for each item (updated in place); those that
  /// reached `max_attempts`, or all when `why` is a rejection, move to the dead
  /// letters with the error, the rest stay queued for a retry. One atomic write.
  result<failure_counts> failed(std::vector<pending_delivery>& items, const delivery_result& why,
                                int max_attempts, timestamp_ns now);

 private:
  store::durable_store& db_;
  std::string name_;
  std::uint64_t next_sequence_ = 1;
};

/// Key of a sink's delivery `sequence` (in both tables).
std::string delivery_key(std::string_view sink, std::uint64_t sequence);

/// Every dead-lettered delivery, by sink then sequence; only `sink`'s when given.
std::vector<failed_delivery> list_failures(const store::durable_store& db, std::string_view sink = {});

/// Pending deliveries per sink name, for `sinks failed` and status reports.
std::vector<std::pair<std::string, std::size_t>> pending_counts(const store::durable_store& db);

}  // namespace sentrail::alert
