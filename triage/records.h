#pragma once
// How triage keeps its records in the store's keyed tables (internal to triage/).
//
// table::triage     <alert id>                      → triage record (API-written)
// table::incidents  i/<incident id>                 → membership: entity, times, alert ids (worker-written)
//                   s/<incident id>                 → status, assignee, verdict (API-written)
//                   e/<entity value>                → the incident an entity value last joined (worker)
//                   a/<alert id>                    → the alert's incident id (worker)
//                   t/<last_seen, 8 bytes BE><id>   → newest-first listing of incidents (worker)
//                   The worker and the API never write the same key, so a batch
//                   commit cannot overwrite an analyst's status change.
// table::audit      t<time BE><sequence BE>         → audit entry JSON (newest first = reverse scan)
//                   o<object id>\0<time><sequence>  → the same entry, by object (history)

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "triage/model.h"

namespace simdjson::dom {
class parser;
}

namespace sentrail::triage::records {

/// Triage state of one alert; absent means new.
struct alert_state {
  std::string status = "new";
  std::string verdict, assignee;
  std::vector<note> notes;
};
std::string encode(const alert_state& s);
std::optional<alert_state> decode_alert_state(simdjson::dom::parser& p, std::string_view json);

/// Which alerts form an incident (written by the worker only).
struct membership {
  std::string entity;
  timestamp_ns first_seen = 0, last_seen = 0;
  std::vector<std::string> alerts;
};
std::string encode(const membership& m);
std::optional<membership> decode_membership(simdjson::dom::parser& p, std::string_view json);

/// An incident's triage state (written by the API only); absent means open.
struct incident_state {
  std::string status = "open";
  std::string verdict, assignee;
};
std::string encode(const incident_state& s);
std::optional<incident_state> decode_incident_state(simdjson::dom::parser& p, std::string_view json);

/// 8 bytes, big-endian with the sign bit flipped: byte order is numeric order.
void append_ordered(std::string& out, std::int64_t v);
std::int64_t read_ordered(std::string_view bytes);

std::string membership_key(std::string_view incident_id);
std::string incident_state_key(std::string_view incident_id);
std::string entity_key(std::string_view value);
std::string alert_incident_key(std::string_view alert_id);
std::string incident_time_key(timestamp_ns last_seen, std::string_view incident_id);
inline constexpr std::string_view incident_time_prefix = "t/";

std::string audit_key(timestamp_ns time, std::uint64_t sequence);
std::string audit_object_key(std::string_view object_id, timestamp_ns time, std::uint64_t sequence);
std::string audit_object_prefix(std::string_view object_id);
inline constexpr std::string_view audit_time_prefix = "t";

/// Opaque paging cursors: hex of the bytes that order the listing.
std::string hex(std::string_view bytes);
std::optional<std::string> unhex(std::string_view text);

}  // namespace sentrail::triage::records
