#pragma once
// An evidence key names one correlated event in state (after "e/") and in the
// windows that cite it: its time, a hash of its content, then where it came
// from. Time first, so the keys sort in event-time order (the reorder buffer);
// the source last, so an alert can read the event back from its topic.

#include <optional>
#include <string>
#include <string_view>

#include "ingest/event.h"

namespace sentrail::correlate {

/// Where evidence lives in state: this prefix, then its evidence key. Written
/// once, in about event-time order, and read again only when an alert cites it,
/// so a store may keep these keys apart from the operators' state.
inline constexpr std::string_view evidence_state_prefix = "e/";

/// Whether a state key (or a prefix of keys) is evidence's.
inline bool is_evidence_state_key(std::string_view key) { return key.starts_with(evidence_state_prefix); }

/// Appends the event's evidence key to `key`.
void append_evidence_key(std::string& key, const ingest::event& e);

/// Where the event named by `key` came from; nothing when `key` is not an evidence key.
/// The topic is a view into `key`.
std::optional<ingest::source_position> evidence_source(std::string_view key);

/// The event time an evidence key starts with (`key` at least 8 bytes).
std::int64_t evidence_time(std::string_view key);

}  // namespace sentrail::correlate
