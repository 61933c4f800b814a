#pragma once
// Delivers alerts to the configured sinks, each from its own durable queue on
// its own thread: a sink that is down delays its own deliveries only, never
// ingest or another sink, and loses none (docs/sinks.md).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alert/sink.h"
#include "alert/sink_config.h"
#include "common/result.h"
#include "correlate/alert.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace sentrail::alert {

class sink_dispatcher {
 public:
  /// A sink with its route and retry policy (`config`) and what delivers (`out`).
  struct route {
    sink_config config;
    std::unique_ptr<sink> out;
  };

  /// Builds the configured sinks; errors name the sink. Nothing runs until start().
  static result<std::unique_ptr<sink_dispatcher>> create(store::durable_store& db,
                                                        const std::vector<sink_config>& sinks,
                                                        metrics::engine_metrics* metrics = nullptr);
  sink_dispatcher(store::durable_store& db, std::vector<route> routes, metrics::engine_metrics* metrics = nullptr);
  /// Stops the delivery threads.
  ~sink_dispatcher();

  /// Queues a delivery on every sink whose route takes `a`, in the batch that
  /// raises it. Worker thread only.
  void enqueue(store::batch& b, const correlate::alert& a, std::string_view json);
  /// The batch is complete and handed to the store (it may be written while the
  /// next one is built): what was queued since the last call is its. Worker thread only.
  void sealed();
  /// The batch sealed last is durable: wakes the sinks it gave work. Worker thread only.
  void committed();

  /// Starts one delivery thread per sink; deliveries left by an earlier run go first.
  void start();
  /// Stops after the deliveries in hand; what is pending stays queued for the next run.
  void stop();

  /// Deliveries queued and not yet delivered or dead-lettered, for `sink`.
  std::int64_t pending(std::string_view sink) const;
  std::size_t size() const;

 private:
  struct lane;
  store::durable_store& db_;
  metrics::engine_metrics* metrics_;
  std::vector<std::unique_ptr<lane>> lanes_;
};

}  // namespace sentrail::alert
