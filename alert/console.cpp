#include "alert/console.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace sentrail::alert {

std::string alert_line(const correlate::alert& a, bool colour) {
  std::string level = a.level;
  std::transform(level.begin(), level.end(), level.begin(), [](unsigned char c) { return std::toupper(c); });
  const char* tint = "";
  if (colour) {
    if (a.level == "critical" || a.level == "high") tint = "\x1b[31m";
    else if (a.level == "medium") tint = "\x1b[33m";
    else tint = "\x1b[36m";
  }
  return fmt::format("{}  {}{:<9}{}  {:<40}  {}  [{}]", format_rfc3339(a.first_seen), tint, level,
                     colour ? "\x1b[0m" : "", a.rule_id, a.entity(), a.rule_title);
}

void console_sink::emit(const correlate::alert& a) {
  if (format_ == console_format::none) return;
  std::string line = format_ == console_format::json ? correlate::to_json(a) : alert_line(a, colour_);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace sentrail::alert
