#pragma once
// Compiled Sigma detection rules and the set they are loaded into. A rule is
// compiled once at load (field names interned, patterns lowercased, regexes and
// CIDRs parsed); matching an event then allocates nothing.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/string_hash.h"
#include "ingest/event.h"
#include "rules/rule_test.h"

namespace sentrail::rules {

/// How bad a diagnostic is: an error drops the rule, a warning keeps it.
enum class severity { error, warning };

/// One finding about a rule file, pointing at the offending YAML node.
struct diagnostic {
  severity sev = severity::error;
  std::string file;
  int line = 0;    // 1-based; 0 when the whole file is meant
  int column = 0;  // 1-based; 0 when the whole file is meant
  std::string message;

  /// "file:line:col: error: message" (or "warning:").
  std::string to_string() const;
};

/// `loss_exposure`: what one incident may cost, as a range in one currency.
struct loss_exposure {
  double low = 0;
  double high = 0;
  std::string currency;  // ISO 4217 code, e.g. "EUR"
};

/// The descriptive part of a rule, as written, plus where it came from.
struct rule_info {
  std::string id;
  std::string name;  // Sigma `name`, used by correlation rules to refer to it
  std::string title;
  std::string status;
  std::string description;
  std::string author;
  std::string level;  // informational, low, medium, high, critical
  std::string date;
  std::string modified;
  std::vector<std::string> tags;
  std::vector<std::string> falsepositives;
  std::vector<std::string> references;
  std::string product;
  std::string service;
  std::string category;
  std::string file;
  int line = 0;
  /// Channels the rule applies to; empty with all_channels false means none.
  std::vector<std::string> channels;
  /// True for `product: retail` without a service.
  bool all_channels = false;
  std::optional<rules::loss_exposure> loss_exposure;
  /// `risk_score`: what one alert adds to an entity's risk (see `risk` correlations).
  std::optional<double> risk_score;
  /// `suppress`: quiet period per rule and group after an alert, as written and parsed.
  std::string suppress;
  std::optional<std::int64_t> suppress_ns;
  /// `tests:` carried by the rule.
  std::vector<rule_test> tests;
};

namespace detail {
struct compiled;
}

/// A compiled Sigma detection (stateless) rule.
class detection_rule {
 public:
  detection_rule(rule_info info, std::unique_ptr<detail::compiled> compiled);
  ~detection_rule();
  detection_rule(const detection_rule&) = delete;
  detection_rule& operator=(const detection_rule&) = delete;

  const rule_info& info() const { return info_; }
  /// True when the event satisfies the rule's detection condition. Does not
  /// look at the channel: use rule_set::for_channel to pick candidate rules.
  bool matches(const ingest::event& e) const;
  /// True when the rule is meant for events of `channel`.
  bool applies_to(std::string_view channel) const;
  /// Adds the interned fields the rule's condition reads to `out`; false when it
  /// may read any field (keywords, fields nobody interned), i.e. the set is unknown.
  bool fields_read(std::vector<ingest::field_id>& out) const;
  /// True when the rule can match only events whose `field` equals, ignoring
  /// case, one of the values added to `out` (lowercase); false when it cannot
  /// tell (other operators, negation, keywords, cased values).
  bool required_values(ingest::field_id field, std::vector<std::string>& out) const;

 private:
  rule_info info_;
  std::unique_ptr<detail::compiled> compiled_;
};

/// A correlation `condition`: every comparison given must hold.
/// The matches one group's window holds at most (the newest are kept): it bounds
/// the memory one entity can take, so counts saturate there (docs/correlation.md).
inline constexpr std::size_t max_window_matches = 10'000;

struct condition_spec {
  std::optional<double> gt, gte, lt, lte, eq, neq;

  /// True when `v` satisfies every comparison given (true when none is).
  bool matches(double v) const;
  /// True when no comparison is given.
  bool empty() const { return !gt && !gte && !lt && !lte && !eq && !neq; }
};

/// A Sigma correlation rule, validated at load (type, references resolved,
/// options typed) but not evaluated: the correlate module compiles it.
struct correlation_rule {
  std::string id;
  std::string name;
  std::string title;
  std::string level;
  std::string description;
  std::vector<std::string> tags;
  /// event_count, value_count, temporal, temporal_ordered, value_sum, value_avg,
  /// value_percentile, absence, first_seen, geo_velocity, rate_anomaly, risk or ratio.
  std::string type;
  /// Referenced rule ids or names, as written; each names a loaded detection or
  /// correlation rule (checked after every file is loaded, cycles refused).
  std::vector<std::string> rules;
  std::vector<std::string> group_by;
  std::string timespan;  // e.g. "5m", as written
  /// `timespan` parsed; set whenever `timespan` is (required but for first_seen
  /// and geo_velocity).
  std::optional<std::int64_t> timespan_ns;
  /// `condition` entries as written, e.g. {"gte", "10"} or {"field", "user.name"}.
  std::vector<std::pair<std::string, std::string>> condition;
  /// The comparisons of `condition`, parsed. Empty for types without one.
  condition_spec threshold;
  /// `condition.field` (or `field:` under `correlation:`): the field the
  /// value_* and first_seen types look at.
  std::optional<std::string> field;
  /// Every other scalar key under `correlation:` (the Sentrail extensions), as
  /// written; the ones below are also parsed.
  std::vector<std::pair<std::string, std::string>> options;
  /// `aliases`: alias name -> (rule id/name -> field). A rule referenced by id
  /// is also listed under its name and the other way round.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> aliases;
  bool generate = false;

  // Sentrail extensions, parsed.
  std::string direction;                    // after, before or either; empty when not given
  std::optional<std::int64_t> lookback_ns;  // `lookback` timespan
  std::optional<std::int64_t> max_values;
  std::optional<std::int64_t> min_count;
  std::optional<std::int64_t> baseline_buckets;
  std::optional<double> max_kmh;
  std::optional<double> factor;
  std::optional<double> min_denominator;
  std::optional<double> percentile;  // value_percentile: 0-100
  std::string lat_field, lon_field, location_table, location_key;
  /// `scores` (risk): rule id/name -> score.
  std::vector<std::pair<std::string, double>> scores;

  std::optional<rules::loss_exposure> loss_exposure;
  /// `suppress` (top level or under `correlation:`), as written and parsed.
  std::string suppress;
  std::optional<std::int64_t> suppress_ns;
  std::vector<rule_test> tests;
  std::string file;
  int line = 0;

  /// The field an event of rule `rule_id_or_name` carries for group-by name
  /// `group_by_name`: the alias's field for that rule, else the name itself.
  std::string_view field_for(std::string_view group_by_name,
                             std::string_view rule_id_or_name) const;
};

/// The rules loaded from one file or folder, indexed by channel.
class rule_set {
 public:
  rule_set() = default;
  rule_set(rule_set&&) noexcept = default;
  rule_set& operator=(rule_set&&) noexcept = default;

  /// Rules to try on an event of `channel`, in load order: the channel's own
  /// rules and the rules for all channels. Precomputed; never allocates.
  std::span<const detection_rule* const> for_channel(std::string_view channel) const;
  /// The rules of for_channel(channel) that can match `e`, in load order: a rule
  /// that requires event.action to be one of some values is left out when the
  /// event's action is none of them. Precomputed; never allocates.
  std::span<const detection_rule* const> candidates(std::string_view channel, const ingest::event& e) const;
  const std::vector<std::unique_ptr<detection_rule>>& detections() const { return detections_; }
  const std::vector<correlation_rule>& correlations() const { return correlations_; }
  /// A detection rule by id, else by name; nullptr when none.
  const detection_rule* find(std::string_view id_or_name) const;
  /// A correlation rule by id, else by name; nullptr when none.
  const correlation_rule* find_correlation(std::string_view id_or_name) const;
  /// True when some correlation lists the rule named `id_or_name` (by its id or
  /// its name) in `rules`.
  bool referenced_by_correlation(std::string_view id_or_name) const;
  /// Sigma: a rule referenced by a correlation raises no alert of its own
  /// unless some correlation referencing it sets `generate: true`.
  bool generates_alerts(const detection_rule& rule) const;
  bool generates_alerts(const correlation_rule& rule) const;
  /// Channels some rule names explicitly, sorted.
  std::vector<std::string> channels() const;

  void add(std::unique_ptr<detection_rule> rule);
  void add(correlation_rule rule);

 private:
  /// Rule id or name -> whether some correlation referencing it generates.
  const bool* referenced(std::string_view id, std::string_view name) const;

  /// One channel's rules, and the same indexed by the event.action value they
  /// require: each list holds the rules for that value plus every rule that
  /// requires none, in load order, so a lookup is one span.
  struct channel_rules {
    std::vector<const detection_rule*> all;
    std::vector<const detection_rule*> unindexed;
    flat_string_map<std::vector<const detection_rule*>> by_action;  // looked up per event
    void add(const detection_rule* r, const std::vector<std::string>* actions);
  };
  static const std::vector<std::string>* actions_of(const detection_rule& r, std::vector<std::string>& scratch);

  std::vector<std::unique_ptr<detection_rule>> detections_;
  std::vector<correlation_rule> correlations_;
  channel_rules all_channels_;
  flat_string_map<channel_rules> by_channel_;  // looked up per event
  std::map<std::string, bool, std::less<>> referenced_;
};

}  // namespace sentrail::rules
