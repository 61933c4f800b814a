#pragma once
// Triage over the alert store: list and filter alerts, show one with its
// evidence, acknowledge / assign / close with a verdict / reopen / annotate,
// the same for incidents, every action in an audit log, and per-rule verdict
// counts. No HTTP here (http_api.h serves it); errors are values saying which
// kind of refusal it is, so the API can answer 400, 404 or 409.

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "store/store.h"
#include "triage/auth.h"
#include "triage/model.h"

namespace sentrail::metrics {
class engine_metrics;
}

namespace sentrail::triage {

/// Why a request was refused.
enum class refusal {
  bad_input,  // the request itself is wrong (400)
  not_found,  // no such alert or incident (404)
  conflict,   // not allowed in the current state (409)
  failed,     // the store failed (500)
};

struct refused {
  refusal why;
  std::string message;
};

/// A value, or why it was refused.
template <class T>
class [[nodiscard]] outcome {
 public:
  outcome(T value) : state_(std::move(value)) {}
  outcome(refused r) : state_(std::move(r)) {}
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const refused& why() const { return std::get<1>(state_); }

 private:
  std::variant<T, refused> state_;
};

/// Which alerts to list. Every set field must match.
struct alert_filter {
  std::vector<std::string> statuses;  // Default: every status
  std::string level, rule, channel;
  std::string assignee;  // exactly; "none" for unassigned alerts
  std::string entity;  // any group value, exactly
  std::string text;    // case-insensitive substring of rule id, title, entity values, notes
  timestamp_ns from = std::numeric_limits<timestamp_ns>::min();  // on last_seen
  timestamp_ns to = std::numeric_limits<timestamp_ns>::max();
  std::size_t limit = 50;  // Default: 50 (1..500)
  std::string cursor;      // from a previous page's next_cursor
};

struct alert_page {
  std::vector<alert_summary> alerts;  // newest last_seen first
  std::string next_cursor;            // empty: this is the last page
  std::size_t total = 0;              // alerts matching every filter
  /// Over the alerts matching every filter but status (resp. level): the queue's tabs.
  std::map<std::string, std::size_t> status_counts, level_counts;
};

/// One event behind an alert.
struct evidence_event {
  std::string channel, topic;
  std::int64_t partition = 0, offset = 0;
  timestamp_ns time = 0;
  std::string fields_json;  // the minimised fields, as stored
};

struct alert_detail {
  alert_summary summary;
  std::string stored_json;              // the alert as raised (docs/alerts.md)
  std::vector<evidence_event> evidence;  // in time order across channels
  std::vector<std::string> history;      // audit entries (JSON), oldest first
};

enum class action_kind { acknowledge, assign, close, reopen, note };
std::string_view action_name(action_kind k);

/// An analyst's action; which fields it needs depends on its kind.
struct action {
  action_kind kind = action_kind::note;
  std::string verdict;   // close: required
  std::string assignee;  // assign: required
  std::string note;      // note: required; otherwise optional
};

struct incident_filter {
  std::vector<std::string> statuses;  // Default: every status
  std::size_t limit = 50;
  std::string cursor;
};

struct incident_page {
  std::vector<incident_summary> incidents;  // newest last_seen first
  std::string next_cursor;
  std::size_t total = 0;
  /// Incidents per status, whatever the status filter (for the queue's tabs).
  std::map<std::string, std::size_t> status_counts;
};

struct incident_detail {
  incident_summary summary;
  std::vector<alert_summary> alerts;  // in last_seen order
  std::vector<std::string> history;   // audit entries (JSON), oldest first
};

struct audit_query {
  std::string object;  // an alert or incident id; Default: every entry
  std::size_t limit = 50;
  std::string cursor;
};

struct audit_page {
  std::vector<std::string> entries;  // JSON, newest first
  std::string next_cursor;
};

class service {
 public:
  /// `metrics` may be null (no verdict or action counters then).
  explicit service(store::durable_store& db, metrics::engine_metrics* metrics = nullptr);

  outcome<alert_page> list_alerts(const alert_filter& filter) const;
  outcome<alert_detail> alert(std::string_view id) const;
  /// Applies an action to one alert; returns the alert as it now is.
  outcome<alert_summary> act(const actor& who, std::string_view alert_id, const action& what);

  outcome<incident_page> list_incidents(const incident_filter& filter) const;
  outcome<incident_detail> incident(std::string_view id) const;
  /// Applies an action to an incident (a note is kept in its history). Closing
  /// one with a verdict closes its open alerts with the same verdict, each audited.
  outcome<incident_summary> act_on_incident(const actor& who, std::string_view incident_id, const action& what);

  outcome<audit_page> audit(const audit_query& query) const;
  /// compute_rule_stats() over this store.
  std::vector<rule_stats> verdicts_by_rule() const;

 private:
  store::durable_store& db_;
  metrics::engine_metrics* metrics_;
  // One writer at a time: an action reads a record, decides and writes it back.
  std::mutex writes_;
  std::atomic<std::uint64_t> audit_sequence_{0};
};

/// Per-rule alert and verdict counts, most false positives first. Works on a
/// store opened read-only too (`sentrail rules stats`).
std::vector<rule_stats> compute_rule_stats(const store::durable_store& db);

}  // namespace sentrail::triage
