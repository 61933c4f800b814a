#include "common/json_writer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sentrail {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  if (n == 2 && c < 0xC2) return 0;                                   // overlong
  if (n == 3 && c == 0xE0 && byte(i + 1) < 0xA0) return 0;            // overlong
  if (n == 3 && c == 0xED && byte(i + 1) >= 0xA0) return 0;           // surrogates
  if (n == 4 && (c > 0xF4 || (c == 0xF0 && byte(i + 1) < 0x90) || (c == 0xF4 && byte(i + 1) >= 0x90)))
    return 0;
  return n;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t n = utf8_sequence_length(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

json_writer& json_writer::value(double n) {
  comma();
  if (!std::isfinite(n)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  int len = std::snprintf(buf, sizeof buf, "%.17g", n);
  // Shortest form that round-trips reads better: try fewer digits first.
  for (int precision = 6; precision < 17; ++precision) {
    char shorter[32];
    int l = std::snprintf(shorter, sizeof shorter, "%.*g", precision, n);
    if (std::strtod(shorter, nullptr) == n) {
      out_.append(shorter, static_cast<std::size_t>(l));
      return *this;
    }
  }
  out_.append(buf, static_cast<std::size_t>(len));
  return *this;
}

}  // namespace sentrail
