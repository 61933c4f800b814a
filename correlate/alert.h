#pragma once
// An alert as SOC analysts and downstream tools see it (docs/alerts.md). Its id
// is a hash of what raised it, so a replay or a restart never makes a new one.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time.h"
#include "ingest/event.h"

namespace sentrail::correlate {

/// One event behind an alert, already minimised at ingest.
struct evidence {
  struct field {
    std::string name;
    std::string text;
    ingest::value_kind kind;
  };
  std::string channel;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  timestamp_ns time = 0;
  std::vector<field> fields;

  static evidence of(const ingest::event& e);
};

struct alert {
  std::string id;
  std::string rule_id;
  std::string rule_title;
  std::string level;
  std::vector<std::string> tags;
  std::string type;  // "detection" for a single-event rule, else the correlation type
  std::vector<std::pair<std::string, std::string>> group;  // group-by field → value
  timestamp_ns first_seen = 0;
  timestamp_ns last_seen = 0;
  timestamp_ns emitted_at = 0;
  std::uint64_t count = 0;
  std::optional<double> value;
  std::vector<evidence> events;
  /// Events kept by reference that their topic no longer held (retention) when the alert was raised.
  std::uint64_t evidence_unavailable = 0;
  std::string status = "new";
  /// What one incident of the rule may cost, for weighing alerts by money at risk.
  struct exposure {
    double low = 0, high = 0;
    std::string currency;
  };
  std::optional<exposure> loss_exposure;

  /// "field=value" of the first group entry, for one-line displays.
  std::string entity() const;
};

/// JSON as documented in docs/alerts.md.
std::string to_json(const alert& a);

/// 32 hex digits of SHA-256 over the parts, each length-prefixed so that
/// ("ab","c") and ("a","bc") differ.
std::string stable_id(std::initializer_list<std::string_view> parts);

/// Where alerts go once raised (Kafka, stdout, the alert store...).
class alert_sink {
 public:
  virtual ~alert_sink() = default;
  virtual void emit(const alert& a) = 0;
};

}  // namespace sentrail::correlate
