#pragma once
// The streaming engine's loop (Kafka Streams' StreamThread, in small): poll a
// batch from the channel topics, run it through the pipeline, make its effects
// durable in one RocksDB write with the offsets that caused them, publish the
// alerts and dead letters, and only then commit the offsets to the group.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alert/console.h"
#include "common/result.h"
#include "correlate/pipeline.h"
#include "ingest/mapping.h"
#include "ingest/minimise.h"
#include "metrics/metrics.h"
#include "rules/rule.h"
#include "store/store.h"

namespace sentrail::worker {

class recent_records;

struct worker_options {
  std::string brokers;                                 // HOST:PORT[,HOST:PORT]
  std::string group = "sentrail";                      // Default: sentrail
  std::string alerts_topic = "sentrail.alerts";        // Default: sentrail.alerts
  std::string deadletter_topic = "sentrail.deadletter";  // Default: sentrail.deadletter
  /// librdkafka properties passed through as given (consumer and producer).
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  /// A batch ends at whichever comes first: this many messages, batch_max_ms, or
  /// no message waiting once it has one (a drained input is not waited on).
  std::size_t batch_max_messages = 10000;  // Default: 10000
  int batch_max_ms = 50;                   // Default: 50 ms
  /// Partitions are read in step by their records' timestamps: none is read more
  /// than this (ms) ahead of one whose records are still on the broker.
  /// Negative: in fetch order (see partition_reader.h).
  std::int64_t alignment_ms = 1000;  // Default: 1 s
  alert::console_format stdout_format = alert::console_format::json;  // Default: json
  bool colour = false;
  double status_interval_seconds = 0;  // Default: 0 (no status line on stderr)
  ingest::decoder_options decoding;
  std::size_t state_cache_entries = 1'000'000;  // Default: 1M clean state entries kept in memory
  /// Evidence by reference: true once a read of evidence from Kafka was cut short
  /// by the stop request. The batch in hand then lacks evidence that its alerts
  /// should carry, so it is not committed: a restart redoes it.
  std::function<bool()> evidence_cut_short;
  /// Where the input records the engine buffers (the only ones read back) are
  /// kept as they are read, for evidence by reference (optional, not owned).
  recent_records* recent = nullptr;
};

/// The running rule set's engine, and where a newer one comes from (hot reload).
class rules_provider {
 public:
  virtual ~rules_provider() = default;
  virtual correlate::engine& current() = 0;
  /// Checks for a reload (asked for, or the rule files changed); true when
  /// current() is now a new engine. A bad set is refused and the last good one kept.
  virtual bool poll_reload() = 0;
};

/// A provider with one fixed engine.
class fixed_rules : public rules_provider {
 public:
  explicit fixed_rules(correlate::engine& e) : engine_(e) {}
  correlate::engine& current() override { return engine_; }
  bool poll_reload() override { return false; }

 private:
  correlate::engine& engine_;
};

/// Modules that act on new alerts (delivery queues, incidents): they add their
/// durable records to the batch that raises the alert, so those records are
/// exactly as durable as the alert, and hear when the batch is durable.
class alert_observer {
 public:
  virtual ~alert_observer() = default;
  /// A new alert (never a duplicate) in the batch being built; called on the worker thread.
  virtual void on_alert(store::batch& b, const correlate::alert& a, std::string_view json) = 0;
  /// The batch is complete and handed to the store: what on_alert added since the
  /// last call is its. Under a backlog it is written while the next batch is
  /// built, so on_alert may be called again before on_committed: records of the
  /// sealed batch must stay visible to it until then.
  virtual void on_sealed() {}
  /// The batch sealed last is durable (called after its commit, before the group offsets).
  virtual void on_committed() {}
};

/// Totals since start, for the status line and tests.
struct worker_counts {
  correlate::pipeline_counts pipeline;
  std::uint64_t batches = 0;
  std::uint64_t alerts_raised = 0;          // by every rule set this worker ran
  std::uint64_t alerts_before_reloads = 0;
  std::uint64_t duplicate_alerts = 0;  // raised again after a restart, suppressed by id
  std::uint64_t published = 0;
  std::uint64_t input_records_lost = 0;  // deleted by the broker before they were read
};

class worker {
 public:
  worker(worker_options options, const ingest::channel_catalog& channels,
         rules_provider& rules, const ingest::minimiser& privacy, store::durable_store& db,
         metrics::engine_metrics* metrics = nullptr);

  /// Runs until `stop` becomes true (then finishes the batch in hand) or a fatal
  /// error; bad input is never fatal.
  status run(const std::atomic<bool>& stop);
  /// Adds an observer of new alerts; call before run(). Not owned.
  void add_observer(alert_observer& o) { observers_.push_back(&o); }

  const worker_counts& counts() const { return counts_; }

 private:
  status drop_already_published(std::vector<store::outbox_record>& pending);
  worker_options options_;
  const ingest::channel_catalog& channels_;
  rules_provider& rules_;
  const ingest::minimiser& privacy_;
  store::durable_store& db_;
  metrics::engine_metrics* metrics_;
  worker_counts counts_;
  std::vector<alert_observer*> observers_;
};

}  // namespace sentrail::worker
