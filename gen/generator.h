#pragma once
// Synthetic multichannel retail traffic in the five reference schemas of DESIGN.md,
// with injected attack incidents and a ground truth of what was injected. Used for
// demos (live, to Kafka), backtests and million-event benchmark files.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/time.h"

namespace sentrail::gen {

/// The five raw channels, in the order of DESIGN.md.
enum class channel_kind : std::uint8_t { web, mobile, pos, supplier, badge };
inline constexpr std::size_t channel_count = 5;

/// "web", "mobile", "pos", "supplier", "badge".
std::string_view channel_name(channel_kind c);

/// Attack scenarios the generator can inject; each becomes one incident.
enum class scenario : std::uint8_t {
  web_path_probe,
  badge_door_forced,
  mobile_tor_login,
  pos_manual_high_value,
  supplier_bank_change,
  supplier_bulk_export,
  credential_stuffing,
  brute_force_then_success,
  card_testing,
  refund_fraud,
  no_sale_drawer,
  after_hours_stockroom,
  gift_card_draining,
  // Correlation scenarios of the retail pack.
  denied_then_forced,
  mobile_takeover,
  card_impossible_travel,
  sweethearting,
  manager_override_abuse,
  pos_login_without_badge,
  insider_risk,
  supplier_takeover,
  supplier_export_volume,
  // Near misses: one step short of a rule, too slow or in the wrong order. Their
  // ground truth says "near_miss": true, and `rule` names the rule that must NOT fire.
  credential_stuffing_near_miss,
  brute_force_near_miss,
  card_testing_near_miss,
  gift_card_near_miss,
  no_sale_near_miss,
  refund_fraud_near_miss,
  manager_override_near_miss,
  sweethearting_near_miss,
  denied_then_forced_near_miss,
  mobile_takeover_near_miss,
  supplier_takeover_near_miss,
  supplier_export_near_miss,
  insider_risk_near_miss,
  card_travel_near_miss,
  pos_login_badge_near_miss,
};
inline constexpr std::size_t scenario_count = 37;

/// The scenario's name as written in the ground truth ("card_testing").
std::string_view scenario_name(scenario s);
/// The id of the rule that must fire for the scenario ("sentrail-web-card-testing").
std::string_view scenario_rule(scenario s);
/// The channel the scenario's events are on (the main one for the few scenarios
/// that span two channels: card_impossible_travel, insider_risk, ...).
channel_kind scenario_channel(scenario s);
/// True when every event of the scenario is on scenario_channel().
bool scenario_single_channel(scenario s);
/// True for a near miss: scenario_rule() must not fire for it.
bool scenario_near_miss(scenario s);
/// Another rule that legitimately fires on the same events (the stateless
/// door-forced rule on a denied-then-forced break-in); empty if none.
std::string_view scenario_also(scenario s);
/// The normalised field that identifies the incident's entity ("source.ip").
std::string_view scenario_entity_field(scenario s);
/// Inverse of scenario_name().
std::optional<scenario> scenario_from_name(std::string_view name);

/// 2026-11-23T00:00:00Z, a Monday in the holiday peak.
inline constexpr timestamp_ns default_start = 1'795'392'000LL * ns_per_second;

/// Everything that shapes the stream. Same options → byte-identical output.
struct options {
  /// Default: 1
  std::uint64_t seed = 1;
  /// Events to emit in total (background + attacks + malformed). 0 = unbounded, only
  /// meaningful with `live`. Default: 100000
  std::uint64_t count = 100000;
  /// Event time of the first event (simulated mode). Default: 2026-11-23T00:00:00Z
  timestamp_ns start = default_start;
  /// Event time the `count` events span (simulated mode). Default: 1 day
  timestamp_ns simulated_span = 86400 * ns_per_second;
  /// Event time is supplied by the caller through next_at() (wall clock) instead of
  /// being simulated. Default: false
  bool live = false;
  /// Incidents per 10,000 background events; 0 disables attacks. Default: 2
  double attack_rate = 2;
  /// Fraction of background events replaced by a malformed one. Default: 0
  double bad_rate = 0;
  /// Restrict injection to these scenarios; empty means all. Default: all
  std::vector<scenario> scenarios;
  /// Population sizes. Defaults: 20000 customers, 50 stores, 600 employees,
  /// 200 suppliers.
  std::uint32_t customers = 20000;
  std::uint32_t stores = 50;
  std::uint32_t employees = 600;
  std::uint32_t suppliers = 200;
};

/// Checks ranges (rates, sizes, span) before a generator is built.
[[nodiscard]] status validate(const options& opts);

/// One emitted event. The views stay valid until the next call to next()/next_at().
struct generated {
  channel_kind ch = channel_kind::web;
  /// channel_name(ch)
  std::string_view channel;
  /// The raw JSON line, without a trailing newline.
  std::string_view payload;
  /// The partitioning key: client_ip (web), device_id (mobile), employee_id (pos),
  /// supplier_id (supplier), badge_id or door_id (badge). Empty for some bad events.
  std::string_view key;
  timestamp_ns time = 0;
  /// Index into incidents() when the event belongs to an injected incident, else -1.
  std::int32_t incident = -1;
  /// True for a deliberately malformed event (see bad_records()).
  bool bad = false;
};

/// One injected incident, as recorded in the ground truth.
struct incident {
  /// 1-based; rendered "inc-000001".
  std::uint32_t number = 0;
  scenario kind = scenario::web_path_probe;
  /// The value of scenario_entity_field(kind) that every event of the incident carries.
  std::string entity_value;
  /// Event time of the first and last emitted event of the incident.
  timestamp_ns start = 0;
  timestamp_ns end = 0;
  /// Events emitted so far / planned in total.
  std::uint32_t events = 0;
  std::uint32_t planned = 0;
};

/// Why a malformed event is malformed.
enum class bad_kind : std::uint8_t { invalid_json, missing_ts, unparsable_ts, wrong_type };
std::string_view bad_kind_name(bad_kind k);

/// One malformed event, as recorded in the ground truth.
struct bad_record {
  bad_kind kind = bad_kind::invalid_json;
  channel_kind ch = channel_kind::web;
  /// 0-based position in the whole stream and within its channel (= line - 1 of the
  /// per-channel file).
  std::uint64_t seq = 0;
  std::uint64_t channel_seq = 0;
  timestamp_ns time = 0;
};

/// The seeded event stream. Not thread-safe; one per producer thread.
class generator {
 public:
  explicit generator(options opts);
  ~generator();
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;

  /// Simulated mode: the next event in event-time order; false once `count` events
  /// have been emitted.
  bool next(generated& out);

  /// Live mode: the next event at wall-clock time `now` (non-decreasing between
  /// calls). Attack events whose time has come are emitted first, stamped with their
  /// scheduled time. Never runs out unless `count` is reached (then returns false).
  bool next_at(timestamp_ns now, generated& out);

  /// Incidents scheduled so far (all of them once next() returned false).
  const std::vector<incident>& incidents() const;
  /// Malformed events emitted so far.
  const std::vector<bad_record>& bad_records() const;

  /// One ground-truth JSON line (no newline) for an incident:
  /// {"incident":"inc-000001","scenario":..,"rule":..,"channel":..,
  ///  "entity":{"field":..,"value":..},"start":..,"end":..,"events":N}
  /// plus "near_miss":true for a near miss and "also":[rule] where another rule
  /// legitimately fires on the same events.
  std::string incident_json(const incident& i) const;
  /// One ground-truth JSON line for a malformed event:
  /// {"bad":"missing_ts","channel":"pos","seq":N,"channel_seq":N,"ts":".."}
  std::string bad_json(const bad_record& b) const;

  /// Events emitted so far, in total and per channel.
  std::uint64_t emitted() const;
  std::array<std::uint64_t, channel_count> emitted_per_channel() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sentrail::gen
