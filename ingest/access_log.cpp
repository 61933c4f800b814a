#include "ingest/access_log.h"

namespace sentrail::ingest {
namespace {

std::string_view dash_to_empty(std::string_view s) { return s == "-" ? std::string_view{} : s; }

// Reads a token up to the next space.
bool token(std::string_view line, std::size_t& pos, std::string_view& out) {
  if (pos >= line.size()) return false;
  std::size_t end = line.find(' ', pos);
  if (end == std::string_view::npos) end = line.size();
  out = line.substr(pos, end - pos);
  pos = end < line.size() ? end + 1 : end;
  return !out.empty();
}

// Reads a "quoted" field; a backslash escapes the next character. Real logs
// truncate long lines, so the last field may lack its closing quote.
bool quoted(std::string_view line, std::size_t& pos, std::string_view& out, bool last = false) {
  if (pos >= line.size() || line[pos] != '"') return false;
  std::size_t i = pos + 1;
  while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
  if (i >= line.size()) {
    if (!last) return false;
    out = line.substr(pos + 1);
    pos = line.size();
    return true;
  }
  out = line.substr(pos + 1, i - pos - 1);
  pos = i + 1;
  if (pos < line.size() && line[pos] == ' ') ++pos;
  return true;
}

}  // namespace

bool parse_access_log(std::string_view line, access_log_line& out, std::string_view& why) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  std::size_t pos = 0;
  std::string_view ident, request;
  if (!token(line, pos, out.client_ip) || !token(line, pos, ident) || !token(line, pos, out.user)) {
    why = "access log: expected 'host ident user' at the start";
    return false;
  }
  out.user = dash_to_empty(out.user);
  if (pos >= line.size() || line[pos] != '[') {
    why = "access log: expected [time]";
    return false;
  }
  std::size_t close = line.find(']', pos);
  if (close == std::string_view::npos) {
    why = "access log: unterminated [time]";
    return false;
  }
  out.time = line.substr(pos + 1, close - pos - 1);
  pos = close + 1;
  if (pos < line.size() && line[pos] == ' ') ++pos;
  if (!quoted(line, pos, request)) {
    why = "access log: expected a quoted request";
    return false;
  }
  // "METHOD target PROTOCOL"; a garbage request line (scanners send them) keeps the target only.
  std::size_t sp1 = request.find(' ');
  if (sp1 == std::string_view::npos) {
    out.path = dash_to_empty(request);
  } else {
    out.method = request.substr(0, sp1);
    std::size_t sp2 = request.rfind(' ');
    std::string_view target = sp2 > sp1 ? request.substr(sp1 + 1, sp2 - sp1 - 1) : request.substr(sp1 + 1);
    if (sp2 > sp1) out.protocol = request.substr(sp2 + 1);
    std::size_t q = target.find('?');
    out.path = target.substr(0, q);
    if (q != std::string_view::npos) out.query = target.substr(q + 1);
  }
  if (!token(line, pos, out.status) || !token(line, pos, out.bytes)) {
    why = "access log: expected status and size after the request";
    return false;
  }
  for (char c : out.status) {
    if (c < '0' || c > '9') {
      why = "access log: status is not a number";
      return false;
    }
  }
  out.bytes = dash_to_empty(out.bytes);
  // Combined format adds referrer and user agent; common format stops here.
  if (pos < line.size()) {
    if (!quoted(line, pos, out.referrer) || !quoted(line, pos, out.user_agent, /*last=*/true)) {
      why = "access log: expected quoted referrer and user agent";
      return false;
    }
    out.referrer = dash_to_empty(out.referrer);
    out.user_agent = dash_to_empty(out.user_agent);
  }
  return true;
}

}  // namespace sentrail::ingest
