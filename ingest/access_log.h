#pragma once
// Apache/Nginx "combined" (and "common") access-log lines:
//   host ident authuser [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "referer" "agent"

#include <string_view>

namespace sentrail::ingest {

/// Views into the line; empty where the line has "-" or lacks the part.
struct access_log_line {
  std::string_view client_ip, user, time, method, path, query, protocol, status, bytes, referrer,
      user_agent;
};

/// Splits a log line; on failure returns false and sets `why` to a static reason.
bool parse_access_log(std::string_view line, access_log_line& out, std::string_view& why);

}  // namespace sentrail::ingest
