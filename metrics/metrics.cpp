#include "metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

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
  prometheus::Family<prometheus::Counter>& alerts =
      BuildCounter().Name("sentrail_alerts_total").Help("Alerts emitted, by rule and level").Register(*registry);
  prometheus::Counter& duplicates =
      BuildCounter().Name("sentrail_alerts_duplicate_total").Help("Alerts raised again (replay/restart) and suppressed by id").Register(*registry).Add({});
  prometheus::Counter& published =
      BuildCounter().Name("sentrail_records_published_total").Help("Alert and dead-letter records acknowledged by Kafka").Register(*registry).Add({});
  prometheus::Histogram& batch_seconds =
      BuildHistogram().Name("sentrail_batch_duration_seconds").Help("Time to process, persist and publish one batch").Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  prometheus::Counter& batches =
      BuildCounter().Name("sentrail_batches_total").Help("Batches committed to the state store").Register(*registry).Add({});
  prometheus::Gauge& rules =
      BuildGauge().Name("sentrail_rules_loaded").Help("Rules in the running set").Register(*registry).Add({});
  prometheus::Family<prometheus::Counter>& reloads =
      BuildCounter().Name("sentrail_rule_reloads_total").Help("Hot reloads of the rule set, by outcome").Register(*registry);
  prometheus::Gauge& refused =
      BuildGauge().Name("sentrail_rules_refused").Help("Rules refused at the last load").Register(*registry).Add({});
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
  return std::unique_ptr<engine_metrics>(new engine_metrics(std::move(i)));
}

void engine_metrics::events(std::string_view channel, std::string_view topic, std::uint64_t n) {
  impl_->events.Add({{"channel", std::string(channel)}, {"topic", std::string(topic)}}).Increment(static_cast<double>(n));
}
void engine_metrics::dead_letters(std::string_view reason, std::uint64_t n) {
  impl_->dead.Add({{"reason", std::string(reason)}}).Increment(static_cast<double>(n));
}
void engine_metrics::alert(std::string_view rule, std::string_view level) {
  impl_->alerts.Add({{"rule", std::string(rule)}, {"level", std::string(level)}}).Increment();
}
void engine_metrics::duplicate_alerts(std::uint64_t n) { impl_->duplicates.Increment(static_cast<double>(n)); }
void engine_metrics::batch(double seconds, std::uint64_t) {
  impl_->batch_seconds.Observe(seconds);
  impl_->batches.Increment();
}
void engine_metrics::published(std::uint64_t n) { impl_->published.Increment(static_cast<double>(n)); }
void engine_metrics::rules_reload(std::string_view outcome) {
  impl_->reloads.Add({{"outcome", std::string(outcome)}}).Increment();
}
void engine_metrics::rules_loaded(std::uint64_t rules, std::uint64_t refused) {
  impl_->rules.Set(static_cast<double>(rules));
  impl_->refused.Set(static_cast<double>(refused));
}

}  // namespace sentrail::metrics
