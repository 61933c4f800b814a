#pragma once
// Compiled Sigma detection rules and the set they are loaded into. A rule is
// compiled once at load (field names interned, patterns lowercased, regexes and
// CIDRs parsed); matching an event then allocates nothing.

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/event.h"

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

 private:
  rule_info info_;
  std::unique_ptr<detail::compiled> compiled_;
};

/// A Sigma correlation rule, parsed but not evaluated (the correlate module
/// compiles it). Scalars are kept as written.
struct correlation_rule {
  std::string id;
  std::string name;
  std::string title;
  std::string level;
  std::string description;
  std::vector<std::string> tags;
  std::string type;                // event_count, value_count, temporal, ... as written
  std::vector<std::string> rules;  // referenced rule ids or names
  std::vector<std::string> group_by;
  std::string timespan;  // e.g. "5m", as written
  /// `condition` entries, e.g. {"gte", "10"} or {"field", "user.name"}.
  std::vector<std::pair<std::string, std::string>> condition;
  /// Other scalar keys under `correlation:` (Sentrail extensions such as max_kmh).
  std::vector<std::pair<std::string, std::string>> options;
  /// `aliases`: alias name -> (rule id/name -> field).
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> aliases;
  bool generate = false;
  std::string file;
  int line = 0;
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
  const std::vector<std::unique_ptr<detection_rule>>& detections() const { return detections_; }
  const std::vector<correlation_rule>& correlations() const { return correlations_; }
  /// A detection rule by id, else by name; nullptr when none.
  const detection_rule* find(std::string_view id_or_name) const;
  /// Channels some rule names explicitly, sorted.
  std::vector<std::string> channels() const;

  void add(std::unique_ptr<detection_rule> rule);
  void add(correlation_rule rule) { correlations_.push_back(std::move(rule)); }

 private:
  std::vector<std::unique_ptr<detection_rule>> detections_;
  std::vector<correlation_rule> correlations_;
  std::vector<const detection_rule*> all_channels_;
  std::map<std::string, std::vector<const detection_rule*>, std::less<>> by_channel_;
};

}  // namespace sentrail::rules
