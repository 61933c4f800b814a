#pragma once
// What triage works with: an alert as the queue shows it, its triage state,
// incidents, and per-rule verdict counts. Plain values; the service fills them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time.h"

namespace sentrail::triage {

/// Alert statuses: new → acknowledged → closed; reopen → acknowledged.
inline constexpr std::string_view alert_statuses[] = {"new", "acknowledged", "closed"};
/// Incident statuses: open → acknowledged → closed; reopen → acknowledged.
inline constexpr std::string_view incident_statuses[] = {"open", "acknowledged", "closed"};
inline constexpr std::string_view verdicts[] = {"true_positive", "false_positive", "benign"};
inline constexpr std::string_view levels[] = {"critical", "high", "medium", "low", "informational"};

/// An analyst's note on an alert.
struct note {
  std::string author;
  timestamp_ns time = 0;
  std::string text;
};

struct money_range {
  double low = 0, high = 0;
  std::string currency;
};

/// One alert as the triage queue lists it: the alert as raised plus its triage state.
struct alert_summary {
  std::string id, rule_id, rule_title, level, type;
  std::string entity;  // "field=value" of the first group entry, or empty
  std::vector<std::pair<std::string, std::string>> group;
  std::vector<std::string> channels;  // of its evidence, each once, in first-seen order
  timestamp_ns first_seen = 0, last_seen = 0;
  std::int64_t count = 0;
  std::optional<money_range> loss_exposure;
  std::string status = "new";
  std::string verdict;      // empty: none
  std::string assignee;     // empty: none
  std::string incident_id;  // empty: none
  std::vector<note> notes;
};

/// Related alerts on one entity, triaged together.
struct incident_summary {
  std::string id, entity;
  std::string status = "open";
  std::string assignee, verdict;  // empty: none
  timestamp_ns first_seen = 0, last_seen = 0;
  std::vector<std::string> alert_ids;  // in the order they joined
  std::map<std::string, std::int64_t> levels;
  std::vector<std::string> rules, channels;
  std::optional<money_range> loss_exposure;
};

/// Verdicts per rule: how often a rule's alerts were real.
struct rule_stats {
  std::string rule_id;
  std::int64_t alerts = 0, open = 0, true_positive = 0, false_positive = 0, benign = 0;
  /// tp / (tp + fp); nothing before any tp or fp verdict.
  std::optional<double> precision() const {
    if (true_positive + false_positive == 0) return std::nullopt;
    return static_cast<double>(true_positive) / static_cast<double>(true_positive + false_positive);
  }
};

}  // namespace sentrail::triage
