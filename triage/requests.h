#pragma once
// Reading API requests into the service's terms, with clear causes for a 400:
// query parameters (statuses, times, limits) and JSON bodies (unknown fields,
// wrong types, lengths). Kept apart from HTTP so it is tested without a server.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "triage/service.h"

namespace sentrail::triage {

using query_params = std::vector<std::pair<std::string, std::string>>;

/// RFC 3339 or epoch milliseconds.
std::optional<timestamp_ns> parse_time_param(std::string_view text);

outcome<alert_filter> parse_alert_query(const query_params& params);
outcome<incident_filter> parse_incident_query(const query_params& params);
outcome<audit_query> parse_audit_query(const query_params& params);

/// Longest note or note text accepted.
inline constexpr std::size_t max_note_chars = 4000;

/// The body of an action: `{}` / empty, or the fields that action takes
/// (note; assign: assignee; close: verdict; note action: text).
outcome<action> parse_action(action_kind kind, std::string_view body);

/// Assignee names: 1..64 of [A-Za-z0-9._@-].
bool valid_assignee(std::string_view name);

}  // namespace sentrail::triage
