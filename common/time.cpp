#include "common/time.h"

#include <chrono>
#include <cmath>
#include <cstdio>

namespace sentrail {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool valid_date(int y, int mo, int d) {
  static constexpr int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int limit = days_in[mo - 1] + (mo == 2 && leap ? 1 : 0);
  return d <= limit;
}

timestamp_ns compose(int y, int mo, int d, int h, int mi, int s, std::int64_t frac_ns,
                     int offset_seconds) {
  std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_seconds;
  return secs * ns_per_second + frac_ns;
}

}  // namespace

timestamp_ns wall_clock_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<timestamp_ns> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 19) return std::nullopt;
  if (!digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, sec))
    return std::nullopt;
  if (!valid_date(y, mo, d) || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t frac = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    std::int64_t scale = 100'000'000;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset = 0;
  if (pos == s.size()) return std::nullopt;  // RFC 3339 requires a zone
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int sign = s[pos] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(s, pos + 1, 2, oh)) return std::nullopt;
    std::size_t mpos = pos + 3;
    if (mpos < s.size() && s[mpos] == ':') ++mpos;
    if (!digits(s, mpos, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
    pos = mpos + 2;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return compose(y, mo, d, h, mi, sec, frac, offset);
}

std::optional<timestamp_ns> parse_clf_time(std::string_view s) {
  // 17/May/2015:10:05:03 +0000
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int d, y, h, mi, sec, oh, om;
  if (s.size() != 26) return std::nullopt;
  if (!digits(s, 0, 2, d) || s[2] != '/' || s[6] != '/' || !digits(s, 7, 4, y) ||
      s[11] != ':' || !digits(s, 12, 2, h) || s[14] != ':' || !digits(s, 15, 2, mi) ||
      s[17] != ':' || !digits(s, 18, 2, sec) || s[20] != ' ' ||
      (s[21] != '+' && s[21] != '-') || !digits(s, 22, 2, oh) || !digits(s, 24, 2, om))
    return std::nullopt;
  int mo = 0;
  for (int i = 0; i < 12; ++i)
    if (s.substr(3, 3) == months[i]) mo = i + 1;
  if (mo == 0 || !valid_date(y, mo, d) || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  int offset = (s[21] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  return compose(y, mo, d, h, mi, sec, 0, offset);
}

std::optional<timestamp_ns> event_time_from_epoch(double v) {
  if (!std::isfinite(v) || v < 0 || v >= 9.2e18) return std::nullopt;
  // Magnitude tells the unit: seconds until year 5138, then ms, us, ns. The whole
  // part is scaled in integers so epoch milliseconds stay exact.
  std::int64_t unit = v < 1e11 ? 1'000'000'000 : v < 1e14 ? 1'000'000 : v < 1e17 ? 1'000 : 1;
  double whole = std::floor(v);
  auto ns = static_cast<std::int64_t>(whole) * unit;
  return ns + static_cast<std::int64_t>(std::llround((v - whole) * static_cast<double>(unit)));
}

std::optional<timestamp_ns> parse_event_time(std::string_view text) {
  if (auto t = parse_rfc3339(text)) return t;
  if (auto t = parse_clf_time(text)) return t;
  if (text.empty() || text.size() > 24) return std::nullopt;
  double v = 0;
  bool seen_digit = false, seen_dot = false;
  double scale = 1;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (seen_dot) {
        scale /= 10;
        v += (c - '0') * scale;
      } else {
        v = v * 10 + (c - '0');
      }
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      return std::nullopt;
    }
  }
  if (!seen_digit) return std::nullopt;
  return event_time_from_epoch(v);
}

std::string format_rfc3339(timestamp_ns t) {
  std::int64_t secs = t >= 0 ? t / ns_per_second : (t - ns_per_second + 1) / ns_per_second;
  std::int64_t frac_ms = (t - secs * ns_per_second) / 1'000'000;
  std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  std::int64_t rem = secs - days * 86400;
  // civil_from_days (Howard Hinnant)
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03lldZ",
                        static_cast<long long>(y), m, d, static_cast<int>(rem / 3600),
                        static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60),
                        static_cast<long long>(frac_ms));
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace sentrail
