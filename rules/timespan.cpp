#include "rules/timespan.h"

#include <charconv>

namespace sentrail::rules {

std::optional<std::int64_t> parse_timespan_ns(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (ec != std::errc{}) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  std::int64_t scale = 0;
  if (unit == "ms")
    scale = 1'000'000;
  else if (unit == "s")
    scale = 1'000'000'000;
  else if (unit == "m")
    scale = 60'000'000'000;
  else if (unit == "h")
    scale = 3'600'000'000'000;
  else if (unit == "d")
    scale = 86'400'000'000'000;
  else if (unit == "w")
    scale = 604'800'000'000'000;
  else
    return std::nullopt;
  std::int64_t out = 0;
  if (__builtin_mul_overflow(n, scale, &out)) return std::nullopt;
  return out;
}

}  // namespace sentrail::rules
