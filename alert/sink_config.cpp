#include "alert/sink_config.h"

#include <algorithm>
#include <cmath>

#include "alert/sink.h"

namespace sentrail::alert {

std::optional<int> level_rank(std::string_view level) {
  static constexpr std::string_view order[] = {"informational", "low", "medium", "high", "critical"};
  for (int i = 0; i < 5; ++i)
    if (order[i] == level) return i;
  return std::nullopt;
}

bool matches(const route_match& route, const correlate::alert& a) {
  auto any_of = [](const std::vector<std::string>& wanted, auto&& has) {
    return wanted.empty() || std::any_of(wanted.begin(), wanted.end(), has);
  };
  if (route.min_level) {
    auto rank = level_rank(a.level);
    if (!rank || *rank < *route.min_level) return false;
  }
  return any_of(route.levels, [&](const std::string& l) { return l == a.level; }) &&
         any_of(route.rules, [&](const std::string& r) { return r == a.rule_id; }) &&
         any_of(route.tags, [&](const std::string& t) {
           return std::find(a.tags.begin(), a.tags.end(), t) != a.tags.end();
         });
}

std::chrono::nanoseconds backoff_delay(const backoff_policy& p, int failures, double jitter) {
  const double cap = static_cast<double>(p.max.count());
  // 2^62 ns is far beyond any cap; stop doubling before the exponent overflows.
  double base = static_cast<double>(p.initial.count()) * std::ldexp(1.0, std::clamp(failures - 1, 0, 62));
  base = std::min(base, cap);
  double spread = base * (0.75 + 0.5 * std::clamp(jitter, 0.0, 1.0));
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(spread, cap)));
}

bool valid_sink_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.';
         });
}

delivery_result classify_http(int status, std::string_view what) {
  if (status >= 200 && status < 300) return delivery_result::ok();
  std::string why = std::string(what);
  if (status == 0 || status >= 500 || status == 429 || status == 408) return delivery_result::retry(why);
  return delivery_result::reject(why);
}

}  // namespace sentrail::alert
