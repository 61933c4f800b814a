#pragma once
// Sigma timespans ("30s", "5m", "1h", "2d", "1w", "500ms") as nanoseconds.

#include <cstdint>
#include <optional>
#include <string_view>

namespace sentrail::rules {

/// A whole number followed by one unit: ms, s, m, h, d or w. Nothing for
/// anything else (no sign, no spaces, no fractions, no overflow).
std::optional<std::int64_t> parse_timespan_ns(std::string_view text);

}  // namespace sentrail::rules
