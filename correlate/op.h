#pragma once
// The seam stateful correlation plugs into (Kafka Streams' Processor + StateStore):
// an operator holds no state of its own and sees storage only through a
// state_view, whose writes commit atomically with the offsets that caused them.

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"
#include "correlate/alert.h"
#include "ingest/event.h"

namespace sentrail::correlate {

/// Keyed state of one input partition. Keys are "<rule>/<group>/<bucket>".
class state_view {
 public:
  virtual ~state_view() = default;
  virtual result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void erase_range(std::string_view begin, std::string_view end) = 0;
};

/// One compiled correlation step.
class op {
 public:
  virtual ~op() = default;
  [[nodiscard]] virtual status on_event(const ingest::event& e, state_view& state, alert_sink& out) = 0;
  /// Event time advanced: close windows, fire absence timeouts.
  [[nodiscard]] virtual status on_watermark(timestamp_ns watermark, state_view& state, alert_sink& out) = 0;
};

}  // namespace sentrail::correlate
