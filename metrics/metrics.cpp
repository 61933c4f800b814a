#include "metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <utility>

namespace sentrail::metrics {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

struct engine_metrics::impl {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& events =
      BuildCounter().Name("sentrail_events_consumed_total").Help("Events decoded, by channel and topic").Register(*registry);
  prometheus::Family<prometheus::Counter>& dead =
      BuildCounter().Name("sentrail_deadletter_events_total").Help("Input sent to the dead-letter topic, by reason").Register(*registry);
  prometheus::Counter& late =
      BuildCounter().Name("sentrail_late_events_total").Help("Events decoded behind the watermark: matched, not correlated").Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& lost =
      BuildCounter().Name("sentrail_input_records_lost_total")
          .Help("Input records never read because retention passed the engine's position, by topic").Register(*registry);
  prometheus::Family<prometheus::Counter>& evidence_reads =
      BuildCounter().Name("sentrail_evidence_reads_total")
          .Help("Evidence kept by reference read back, by source: memory (recent input) or kafka").Register(*registry);
  prometheus::Family<prometheus::Counter>& matches =
      BuildCounter().Name("sentrail_rule_matches_total").Help("Rule matches, by rule and kind (detection, correlation)").Register(*registry);
  prometheus::Family<prometheus::Counter>& overflow =
      BuildCounter().Name("sentrail_correlation_window_overflow_total")
          .Help("Matches pushed out of a full correlation window (10,000 per group), by rule").Register(*registry);
  prometheus::Family<prometheus::Counter>& alerts =
      BuildCounter().Name("sentrail_alerts_total").Help("Alerts emitted, by rule, level and channel").Register(*registry);
  prometheus::Family<prometheus::Counter>& exposure =
      BuildCounter().Name("sentrail_alert_loss_exposure_total")
          .Help("Estimated loss exposure of emitted alerts, by rule, currency and bound (low, high)").Register(*registry);
  // By kind: a detection alert is published within a batch of its event, a
  // correlation alert only once the watermark (allowed lateness) has passed it.
  prometheus::Family<prometheus::Histogram>& latency =
      BuildHistogram().Name("sentrail_alert_latency_seconds")
          .Help("Event time of an alert's last event to the alert published, by kind (detection, correlation)")
          .Register(*registry);
  prometheus::Histogram& latency_of(std::string_view kind) {
    static const prometheus::Histogram::BucketBoundaries bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                0.5,   1,      2.5,   5,    7.5,   10,   15,  30,
                                                                60,    120,    300};
    return latency.Add({{"kind", std::string(kind)}}, bounds);
  }
  prometheus::Counter& suppressed =
      BuildCounter().Name("sentrail_alerts_suppressed_total").Help("Alerts held back by a rule's suppression period").Register(*registry).Add({});
  prometheus::Counter& duplicates =
      BuildCounter().Name("sentrail_alerts_duplicate_total").Help("Alerts raised again (replay/restart) and suppressed by id").Register(*registry).Add({});
  prometheus::Counter& published =
      BuildCounter().Name("sentrail_records_published_total").Help("Alert and dead-letter records acknowledged by Kafka").Register(*registry).Add({});
  prometheus::Counter& publish_failures =
      BuildCounter().Name("sentrail_publish_failures_total").Help("Records Kafka refused or did not acknowledge in a publish attempt").Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& publications_refused =
      BuildCounter().Name("sentrail_publications_refused_total").Help("Records Kafka refused for good (too large, invalid), by topic; each replaced by a notice on the dead-letter topic").Register(*registry);
  prometheus::Counter& publish_retries =
      BuildCounter().Name("sentrail_publish_retries_total").Help("Records sent again after an earlier publish attempt failed").Register(*registry).Add({});
  prometheus::Gauge& outbox_pending =
      BuildGauge().Name("sentrail_outbox_pending_records").Help("Records durable but not yet published after the last publish attempt").Register(*registry).Add({});
  prometheus::Histogram& batch_seconds =
      BuildHistogram().Name("sentrail_batch_duration_seconds").Help("Time to process, persist and publish one batch").Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  prometheus::Counter& batches =
      BuildCounter().Name("sentrail_batches_total").Help("Batches committed to the state store").Register(*registry).Add({});
  prometheus::Histogram& state_write_seconds =
      BuildHistogram().Name("sentrail_state_write_seconds").Help("Time to make one batch durable (one RocksDB write and its fsync)").Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  prometheus::Counter& state_write_wait =
      BuildCounter().Name("sentrail_state_write_wait_seconds_total").Help("Time the loop waited for a batch's write to become durable").Register(*registry).Add({});
  prometheus::Family<prometheus::Gauge>& lag =
      BuildGauge().Name("sentrail_consumer_lag_messages").Help("High watermark minus position, per assigned input partition").Register(*registry);
  prometheus::Gauge& watermark_lag =
      BuildGauge().Name("sentrail_watermark_lag_seconds").Help("Wall clock minus the engine's event-time watermark").Register(*registry).Add({});
  prometheus::Gauge& buffered =
      BuildGauge().Name("sentrail_reorder_buffer_events").Help("Events waiting in the reorder buffer for the watermark").Register(*registry).Add({});
  prometheus::Gauge& buffered_peak =
      BuildGauge().Name("sentrail_reorder_buffer_peak_events")
          .Help("The most events that have waited in the reorder buffer at once since the engine started")
          .Register(*registry).Add({});
  prometheus::Gauge& state_bytes =
      BuildGauge().Name("sentrail_state_bytes").Help("Approximate live bytes of correlation state in RocksDB").Register(*registry).Add({});
  prometheus::Counter& evidence_files_dropped =
      BuildCounter().Name("sentrail_state_evidence_files_dropped_total")
          .Help("Evidence files dropped whole once every entry in them had expired").Register(*registry).Add({});
  std::uint64_t evidence_files_dropped_seen = 0;  // the store's count at the last state() call
  prometheus::Gauge& state_cached =
      BuildGauge().Name("sentrail_state_cached_entries").Help("State keys held in the in-memory cache").Register(*registry).Add({});
  prometheus::Gauge& rules =
      BuildGauge().Name("sentrail_rules_loaded").Help("Rules in the running set").Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& reloads =
      BuildCounter().Name("sentrail_rule_reloads_total").Help("Hot reloads of the rule set, by outcome").Register(*registry);
  prometheus::Gauge& refused =
      BuildGauge().Name("sentrail_rules_refused").Help("Rules refused at the last load").Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& sink_deliveries =
      BuildCounter().Name("sentrail_sink_deliveries_total")
          .Help("Alert deliveries to a configured sink, by sink and outcome (delivered, retried, dead_lettered)").Register(*registry);
  prometheus::Family<prometheus::Gauge>& sink_depth =
      BuildGauge().Name("sentrail_sink_queue_depth").Help("Alert deliveries queued for a sink, not yet delivered or dead-lettered").Register(*registry);
  prometheus::Family<prometheus::Histogram>& sink_seconds =
      BuildHistogram().Name("sentrail_sink_delivery_seconds").Help("Time of one delivery attempt to a sink, successful or not").Register(*registry);
  prometheus::Family<prometheus::Counter>& verdicts =
      BuildCounter().Name("sentrail_alert_verdicts_total").Help("Alerts closed in triage, by rule and verdict").Register(*registry);
  prometheus::Family<prometheus::Counter>& triage_actions =
      BuildCounter().Name("sentrail_triage_actions_total").Help("Triage actions through the API, by action").Register(*registry);
  std::map<std::pair<std::string, std::int32_t>, prometheus::Gauge*> lag_gauges;
};

engine_metrics::engine_metrics(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
engine_metrics::~engine_metrics() = default;

result<std::unique_ptr<engine_metrics>> engine_metrics::serve(const std::string& bind_address) {
  auto i = std::make_unique<impl>();
  try {
    i->exposer = std::make_unique<prometheus::Exposer>(bind_address, 2);
  } catch (const std::exception& e) {
    return error{"cannot serve metrics on " + bind_address + ": " + e.what()};
  }
  i->exposer->RegisterCollectable(i->registry);
  BuildGauge().Name("sentrail_build_info").Help("Build information").Register(*i->registry)
      .Add({{"version", "0.1.0"}}).Set(1);
  // Series that exist from the start, so rates and alerts see 0 rather than nothing.
  for (const char* outcome : {"success", "refused"}) i->reloads.Add({{"outcome", outcome}});
  return std::unique_ptr<engine_metrics>(new engine_metrics(std::move(i)));
}

void engine_metrics::events(std::string_view channel, std::string_view topic, std::uint64_t n) {
  impl_->events.Add({{"channel", std::string(channel)}, {"topic", std::string(topic)}}).Increment(static_cast<double>(n));
}
void engine_metrics::dead_letters(std::string_view reason, std::uint64_t n) {
  impl_->dead.Add({{"reason", std::string(reason)}}).Increment(static_cast<double>(n));
}
void engine_metrics::late_events(std::uint64_t n) { impl_->late.Increment(static_cast<double>(n)); }
void engine_metrics::input_records_lost(std::string_view topic, std::uint64_t n) {
  impl_->lost.Add({{"topic", std::string(topic)}}).Increment(static_cast<double>(n));
}
void engine_metrics::evidence_reads(std::string_view source, std::uint64_t n) {
  impl_->evidence_reads.Add({{"source", std::string(source)}}).Increment(static_cast<double>(n));
}
void engine_metrics::rule_matches(std::string_view rule, std::string_view kind, std::uint64_t n) {
  impl_->matches.Add({{"rule", std::string(rule)}, {"kind", std::string(kind)}}).Increment(static_cast<double>(n));
}
void engine_metrics::window_overflow(std::string_view rule, std::uint64_t n) {
  impl_->overflow.Add({{"rule", std::string(rule)}}).Increment(static_cast<double>(n));
}
void engine_metrics::alert(std::string_view rule, std::string_view level, std::string_view channel) {
  impl_->alerts.Add({{"rule", std::string(rule)}, {"level", std::string(level)}, {"channel", std::string(channel)}})
      .Increment();
}
void engine_metrics::loss_exposure(std::string_view rule, std::string_view currency, double low, double high) {
  impl_->exposure.Add({{"rule", std::string(rule)}, {"currency", std::string(currency)}, {"bound", "low"}})
      .Increment(low);
  impl_->exposure.Add({{"rule", std::string(rule)}, {"currency", std::string(currency)}, {"bound", "high"}})
      .Increment(high);
}
void engine_metrics::alert_latency(std::string_view kind, double seconds) {
  impl_->latency_of(kind).Observe(seconds < 0 ? 0 : seconds);
}
void engine_metrics::suppressed_alerts(std::uint64_t n) { impl_->suppressed.Increment(static_cast<double>(n)); }
void engine_metrics::duplicate_alerts(std::uint64_t n) { impl_->duplicates.Increment(static_cast<double>(n)); }
void engine_metrics::state_write(double seconds, double waited_seconds) {
  impl_->state_write_seconds.Observe(seconds);
  impl_->state_write_wait.Increment(waited_seconds);
}
void engine_metrics::batch(double seconds, std::uint64_t) {
  impl_->batch_seconds.Observe(seconds);
  impl_->batches.Increment();
}
void engine_metrics::published(std::uint64_t n) { impl_->published.Increment(static_cast<double>(n)); }
void engine_metrics::publish_attempt(std::uint64_t failed, std::uint64_t pending, std::uint64_t retried) {
  impl_->publish_failures.Increment(static_cast<double>(failed));
  impl_->publish_retries.Increment(static_cast<double>(retried));
  impl_->outbox_pending.Set(static_cast<double>(pending));
}
void engine_metrics::publication_refused(std::string_view topic) {
  impl_->publications_refused.Add({{"topic", std::string(topic)}}).Increment();
}
void engine_metrics::consumer_lag(const std::vector<partition_lag>& partitions) {
  std::map<std::pair<std::string, std::int32_t>, prometheus::Gauge*> now;
  for (const auto& p : partitions) {
    auto key = std::make_pair(p.topic, p.partition);
    auto it = impl_->lag_gauges.find(key);
    prometheus::Gauge* g = it != impl_->lag_gauges.end()
                               ? it->second
                               : &impl_->lag.Add({{"topic", p.topic}, {"partition", std::to_string(p.partition)}});
    if (it != impl_->lag_gauges.end()) impl_->lag_gauges.erase(it);
    g->Set(static_cast<double>(p.lag));
    now.emplace(std::move(key), g);
  }
  // Partitions revoked since the last report stop being exported.
  for (auto& [key, g] : impl_->lag_gauges) impl_->lag.Remove(g);
  impl_->lag_gauges = std::move(now);
}
void engine_metrics::watermark_lag(double seconds) { impl_->watermark_lag.Set(seconds); }
void engine_metrics::reorder_buffered(std::uint64_t events, std::uint64_t peak) {
  impl_->buffered.Set(static_cast<double>(events));
  impl_->buffered_peak.Set(static_cast<double>(peak));
}
void engine_metrics::state(std::uint64_t store_bytes, std::uint64_t cached_entries,
                           std::uint64_t evidence_files_dropped) {
  impl_->state_bytes.Set(static_cast<double>(store_bytes));
  if (evidence_files_dropped > impl_->evidence_files_dropped_seen) {
    impl_->evidence_files_dropped.Increment(
        static_cast<double>(evidence_files_dropped - impl_->evidence_files_dropped_seen));
    impl_->evidence_files_dropped_seen = evidence_files_dropped;
  }
  impl_->state_cached.Set(static_cast<double>(cached_entries));
}
void engine_metrics::rules_reload(std::string_view outcome) {
  impl_->reloads.Add({{"outcome", std::string(outcome)}}).Increment();
}
void engine_metrics::rules_loaded(std::uint64_t rules, std::uint64_t refused) {
  impl_->rules.Set(static_cast<double>(rules));
  impl_->refused.Set(static_cast<double>(refused));
}

void engine_metrics::sink_deliveries(std::string_view sink, std::string_view outcome, std::uint64_t n) {
  impl_->sink_deliveries.Add({{"sink", std::string(sink)}, {"outcome", std::string(outcome)}})
      .Increment(static_cast<double>(n));
}
void engine_metrics::sink_queue_depth(std::string_view sink, std::uint64_t depth) {
  impl_->sink_depth.Add({{"sink", std::string(sink)}}).Set(static_cast<double>(depth));
}
void engine_metrics::sink_delivery_duration(std::string_view sink, double seconds) {
  impl_->sink_seconds
      .Add({{"sink", std::string(sink)}},
           prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
      .Observe(seconds);
}

void engine_metrics::alert_verdict(std::string_view rule, std::string_view verdict) {
  impl_->verdicts.Add({{"rule", std::string(rule)}, {"verdict", std::string(verdict)}}).Increment();
}
void engine_metrics::triage_action(std::string_view action) {
  impl_->triage_actions.Add({{"action", std::string(action)}}).Increment();
}

}  // namespace sentrail::metrics
