#pragma once
// One raw message through decode → normalise → minimise → match → correlate,
// shared by the streaming worker and `sentrail replay` so backtests see exactly
// what runs live.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

#include "correlate/alert.h"
#include "correlate/engine.h"
#include "correlate/op.h"
#include "ingest/decoder.h"
#include "ingest/mapping.h"

namespace sentrail::correlate {

/// Running totals, for status lines and metrics.
struct pipeline_counts {
  std::uint64_t events = 0;    // decoded
  std::uint64_t rejected = 0;  // sent to the dead letters as bad input
  std::uint64_t late = 0;      // decoded, but too late to correlate (also dead-lettered)
  std::array<std::uint64_t, ingest::rejection_reason_count> rejected_by_reason{};
};

/// Receives what the pipeline could not turn into an event (or could not correlate).
class rejection_sink {
 public:
  virtual ~rejection_sink() = default;
  virtual void reject(const ingest::rejection& why, std::string_view raw, std::string_view channel,
                      const ingest::source_position& from) = 0;
};

/// Called with each decoded event (after matching), e.g. to count per channel.
/// An event no rule matched may be minimised only in the fields rules read:
/// an observer must not keep or show its other fields.
using event_observer = std::function<void(const ingest::event&)>;

class pipeline {
 public:
  pipeline(const ingest::channel_catalog& channels, engine& correlations, const ingest::minimiser& privacy,
           state_view& state, ingest::decoder_options options = {});

  /// Processes one message read from `channel`; alerts go to `alerts`, bad or
  /// late input to `rejections`. Never throws, never drops input.
  void process(std::string_view raw, const ingest::channel_mapping& channel,
               const ingest::source_position& from, alert_sink& alerts, rejection_sink& rejections);

  /// Lets event time advance: releases buffered events to the correlations.
  /// At most about `release_at_most` events are released (engine::advance).
  void advance(timestamp_ns wall_now, alert_sink& alerts, const engine::caught_up_fn& caught_up = {},
               std::size_t release_at_most = SIZE_MAX) {
    engine_->advance(wall_now, state_, alerts, caught_up, release_at_most);
  }
  /// End of input: everything buffered is correlated, pending timers fire.
  void flush(alert_sink& alerts) { engine_->flush(state_, alerts); }

  void set_observer(event_observer observer) { observer_ = std::move(observer); }
  /// Swaps in another engine (hot reload); state carries over by rule id.
  void set_engine(engine& e);

  const pipeline_counts& counts() const { return counts_; }
  engine& correlations() { return *engine_; }

 private:
  const ingest::channel_catalog& channels_;
  engine* engine_;
  state_view& state_;
  ingest::decoder decoder_;
  ingest::event event_;
  pipeline_counts counts_;
  event_observer observer_;
  std::string partition_;
  std::string_view partition_topic_;
  std::int32_t partition_id_ = -1;
  // Per channel (catalog order): the fields the engine's detection rules read,
  // minimised before matching; nothing when some rule may read any field.
  std::vector<std::optional<std::vector<bool>>> read_fields_;
  const ingest::minimiser& privacy_;
  // Set while process() runs, for the late-event handler.
  std::string_view current_raw_;
  rejection_sink* current_rejections_ = nullptr;
};

}  // namespace sentrail::correlate
