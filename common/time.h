#pragma once
// Event time: nanoseconds since the Unix epoch, UTC. Parsers are hand-written
// because they sit on the per-event path and the formats are fixed; std::chrono's
// parse() is not in this toolchain's libstdc++.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sentrail {

using timestamp_ns = std::int64_t;

inline constexpr timestamp_ns ns_per_second = 1'000'000'000;

/// RFC 3339 / ISO 8601 with a 'T' or ' ' separator, optional fraction and a 'Z' or
/// +hh:mm / +hhmm offset. Returns nothing when the text is not such a timestamp.
std::optional<timestamp_ns> parse_rfc3339(std::string_view text);

/// Common Log Format time: "17/May/2015:10:05:03 +0000".
std::optional<timestamp_ns> parse_clf_time(std::string_view text);

/// Any of the above, or an epoch number in seconds, milliseconds, microseconds
/// or nanoseconds (told apart by magnitude).
std::optional<timestamp_ns> parse_event_time(std::string_view text);
std::optional<timestamp_ns> event_time_from_epoch(double number);

/// "2026-11-23T02:12:37.123Z": millisecond precision when there is a fraction.
std::string format_rfc3339(timestamp_ns t);

/// The wall clock, in the same unit as event time.
timestamp_ns wall_clock_now();

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

}  // namespace sentrail
