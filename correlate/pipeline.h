#pragma once
// One raw message through decode → normalise → minimise → match, shared by the
// streaming worker and `sentrail replay` so backtests see exactly what runs live.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "correlate/alert.h"
#include "correlate/op.h"
#include "ingest/decoder.h"
#include "ingest/mapping.h"
#include "rules/rule.h"

namespace sentrail::correlate {

/// Running totals, for status lines and metrics.
struct pipeline_counts {
  std::uint64_t events = 0;       // decoded and matched
  std::uint64_t rejected = 0;     // sent to the dead letters
  std::uint64_t matches = 0;      // rule matches
  std::uint64_t alerts = 0;       // alerts emitted
  std::array<std::uint64_t, ingest::rejection_reason_count> rejected_by_reason{};
};

/// Receives what the pipeline could not turn into an event.
class rejection_sink {
 public:
  virtual ~rejection_sink() = default;
  virtual void reject(const ingest::rejection& why, std::string_view raw, std::string_view channel,
                      const ingest::source_position& from) = 0;
};

/// Called with each decoded event (after matching), e.g. to count per channel.
using event_observer = std::function<void(const ingest::event&)>;

class pipeline {
 public:
  pipeline(const ingest::channel_catalog& channels, const rules::rule_set& rules,
           const ingest::minimiser& privacy, ingest::decoder_options options = {});

  /// Processes one message read from `channel`; an alert per matching rule goes
  /// to `alerts`, a rejection to `rejections`. Never throws, never drops input.
  void process(std::string_view raw, const ingest::channel_mapping& channel,
               const ingest::source_position& from, alert_sink& alerts, rejection_sink& rejections);

  /// The clock alerts are stamped with (emitted_at); tests fix it.
  void set_clock(std::function<timestamp_ns()> now) { now_ = std::move(now); }
  void set_observer(event_observer observer) { observer_ = std::move(observer); }
  /// Swaps in a new rule set (hot reload); the old one must outlive no call.
  void set_rules(const rules::rule_set& rules) { rules_ = &rules; }

  const pipeline_counts& counts() const { return counts_; }

 private:
  alert detection_alert(const rules::detection_rule& rule, const ingest::event& e) const;

  const ingest::channel_catalog& channels_;
  const rules::rule_set* rules_;
  ingest::decoder decoder_;
  ingest::event event_;
  pipeline_counts counts_;
  std::function<timestamp_ns()> now_;
  event_observer observer_;
};

/// Wall-clock now, in event-time units.
timestamp_ns wall_clock_now();

}  // namespace sentrail::correlate
