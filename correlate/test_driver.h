#pragma once
// Runs raw channel events through the whole pipeline (decode, minimise, match,
// correlate) with in-memory state and no broker: Kafka Streams' TopologyTestDriver
// for Sentrail. `sentrail rules test` and the unit tests use it.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "correlate/engine.h"
#include "correlate/memory_state.h"
#include "correlate/pipeline.h"
#include "ingest/mapping.h"

namespace sentrail::correlate {

struct raw_event {
  std::string channel;
  std::string json;
};

/// What one run produced.
struct driver_output : alert_sink, rejection_sink {
  std::vector<alert> alerts;
  std::vector<std::pair<ingest::rejection_reason, std::string>> rejected;
  void emit(const alert& a) override { alerts.push_back(a); }
  void reject(const ingest::rejection& why, std::string_view raw, std::string_view,
              const ingest::source_position&) override {
    rejected.emplace_back(why.reason, std::string(raw));
  }
  std::vector<alert> of(std::string_view rule) const;
  /// Alert ids, sorted.
  std::vector<std::string> ids() const;
};

class test_driver {
 public:
  /// Alerts are stamped with event time (emitted_at), so runs repeat exactly.
  test_driver(const ingest::channel_catalog& channels, const rules::rule_set& rules, engine_options options = {});

  /// Feeds the events in order as one input, advancing event time after each;
  /// with `flush`, ends the input (everything buffered correlates, timers fire).
  driver_output run(const std::vector<raw_event>& events, bool flush = true);
  /// Like run(), but event i comes from partition `partitions[i]` of one topic
  /// (all from partition 0 when empty), and event time advances after every
  /// `per_advance` events, as the worker advances once a batch.
  driver_output run_batched(const std::vector<raw_event>& events, const std::vector<std::int32_t>& partitions,
                            std::size_t per_advance, bool flush = true);

  /// Correlations that could not be built.
  const std::vector<std::string>& problems() const { return problems_; }
  engine& correlations() { return *engine_; }
  state_view& state() { return state_; }
  /// The key events are minimised with (a test that decodes them again needs it).
  static constexpr std::string_view hmac_key = "sentrail-test-driver-key-0123456789";

 private:
  const ingest::channel_catalog& channels_;
  ingest::minimiser privacy_{std::string(hmac_key)};
  std::vector<std::string> problems_;
  std::unique_ptr<engine> engine_;
  memory_state state_;
  std::unique_ptr<pipeline> pipeline_;
  timestamp_ns last_time_ = 0;
};

}  // namespace sentrail::correlate
