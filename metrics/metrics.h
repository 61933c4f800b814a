#pragma once
// Prometheus metrics on /metrics (prometheus-cpp's civetweb exposer). The
// worker adds per-batch deltas, so the per-event path touches no atomics.
// Every metric is listed in docs/observability.md; labels are bounded sets
// (channel, topic, partition, rule, level, reason, outcome), never an entity.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sentrail::metrics {

/// Consumer lag of one assigned input partition.
struct partition_lag {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t lag = 0;  // high watermark − position, in messages
};

class engine_metrics {
 public:
  /// Serves /metrics on `bind_address` (HOST:PORT, e.g. 127.0.0.1:9464).
  static result<std::unique_ptr<engine_metrics>> serve(const std::string& bind_address);
  ~engine_metrics();

  void events(std::string_view channel, std::string_view topic, std::uint64_t n);
  void dead_letters(std::string_view reason, std::uint64_t n);
  /// Events decoded but too late to correlate (also counted as dead letters, reason late_event).
  void late_events(std::uint64_t n);
  /// Input records the broker deleted (retention) before they were read. Call
  /// with 0 for each input topic at start, so the series exists from the start.
  void input_records_lost(std::string_view topic, std::uint64_t n);
  /// Evidence by reference: cited or restored events read back, by where from:
  /// "memory" (correlation.evidence_memory_mb) or "kafka" (a fetch from the topic).
  /// Call with 0 for both at start, so the series exist from the start.
  void evidence_reads(std::string_view source, std::uint64_t n);
  /// Rule matches by kind: "detection" (events a detection rule matched) or
  /// "correlation" (matches fed to correlation operators).
  void rule_matches(std::string_view rule, std::string_view kind, std::uint64_t n);
  /// Matches a correlation pushed out of a full window (10,000 per group), by
  /// rule: its counts saturate there, and an absence A pushed out never alerts.
  void window_overflow(std::string_view rule, std::uint64_t n);
  /// One alert made durable; `channel` is its evidence's channel, or "multiple".
  void alert(std::string_view rule, std::string_view level, std::string_view channel);
  /// The alert's estimated loss exposure range, summed per rule and currency.
  void loss_exposure(std::string_view rule, std::string_view currency, double low, double high);
  /// Event time of the alert's last event → the alert published (seconds), by
  /// kind: "detection" or "correlation".
  void alert_latency(std::string_view kind, double seconds);
  void suppressed_alerts(std::uint64_t n);
  void duplicate_alerts(std::uint64_t n);
  void batch(double seconds, std::uint64_t messages);
  /// One batch made durable: how long its RocksDB write (and fsync) took, and how
  /// long the loop waited for it (it overlaps the next batch under a backlog).
  void state_write(double seconds, double waited_seconds);
  void published(std::uint64_t n);
  /// One publish attempt: records Kafka refused or timed out, records still
  /// unpublished afterwards, and records sent again after an earlier failed attempt.
  void publish_attempt(std::uint64_t failed, std::uint64_t pending, std::uint64_t retried);
  /// A record Kafka refused for good (it is not retried), by the topic it was for.
  void publication_refused(std::string_view topic);
  /// Replaces the consumer lag gauges with the partitions assigned now.
  void consumer_lag(const std::vector<partition_lag>& partitions);
  /// Wall clock − engine watermark, in seconds (only once the watermark exists).
  void watermark_lag(double seconds);
  /// Events in the reorder buffer now, and the most there have been at once
  /// since start (the gauge is sampled; a watermark's first release can hold
  /// seconds of traffic between two samples).
  void reorder_buffered(std::uint64_t events, std::uint64_t peak);
  /// `evidence_files_dropped`: the store's count since it opened (the counter adds what is new).
  void state(std::uint64_t store_bytes, std::uint64_t cached_entries, std::uint64_t evidence_files_dropped);
  void rules_loaded(std::uint64_t rules, std::uint64_t refused);
  /// A hot reload and its outcome: "success" or "refused".
  void rules_reload(std::string_view outcome);
  /// An alert closed with a verdict (true_positive, false_positive, benign): rule quality.
  void alert_verdict(std::string_view rule, std::string_view verdict);
  /// One triage action (acknowledge, assign, close, reopen, note; incident_* for incidents).
  void triage_action(std::string_view action);
  /// Alert deliveries of one sink by outcome: "delivered", "retried" (a failed
  /// attempt that will be retried) or "dead_lettered" (given up, kept in the store).
  void sink_deliveries(std::string_view sink, std::string_view outcome, std::uint64_t n);
  /// Deliveries queued for the sink and not yet delivered or dead-lettered.
  void sink_queue_depth(std::string_view sink, std::uint64_t depth);
  /// One delivery attempt to the sink, successful or not (seconds).
  void sink_delivery_duration(std::string_view sink, double seconds);

 private:
  struct impl;
  explicit engine_metrics(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace sentrail::metrics
