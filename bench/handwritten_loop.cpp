// The baseline the engine is measured against: a minimal hand-written loop that
// parses web events with simdjson ondemand and keeps per-IP sliding windows in a
// hash map, for "at least 5 failed logins per IP within 60 s" with the engine's
// semantics (inclusive window, one alert per IP per 60 s). It prints one line
// per alert ("ip first_seen last_seen", event time in ns) so the two can be
// compared alert for alert, and its rate on stderr.

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/time.h"

namespace od = simdjson::ondemand;

int main(int argc, char** argv) {
  if (argc != 2 || std::string_view(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: sentrail-handwritten-loop WEB.jsonl\n");
    return 2;
  }
  // Timed from before reading the file, as `sentrail replay` is (it reads its
  // input inside its timer); the rate after reading is printed too.
  auto loading = std::chrono::steady_clock::now();
  simdjson::padded_string file;
  if (simdjson::padded_string::load(argv[1]).get(file)) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  constexpr std::int64_t span = 60 * sentrail::ns_per_second;
  struct window {
    std::deque<std::int64_t> times;
    std::optional<std::int64_t> last_alert;  // none yet (INT64_MIN would overflow t - last)
  };
  std::unordered_map<std::string, window> by_ip;
  std::vector<std::string> alerts;
  od::parser parser;
  std::vector<char> padded;
  std::uint64_t events = 0;
  auto started = std::chrono::steady_clock::now();
  std::string_view text(file.data(), file.size());
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    ++events;
    if (padded.size() < line.size() + simdjson::SIMDJSON_PADDING) padded.resize(line.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(padded.data(), line.data(), line.size());
    od::document doc;
    if (parser.iterate(padded.data(), line.size(), padded.size()).get(doc)) continue;
    // One pass over the fields (ondemand reads forward): keep the three we need.
    std::string_view action, ts, ip;
    od::object obj;
    if (doc.get_object().get(obj)) continue;
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) break;
      std::string_view* slot = key == "ts" ? &ts : key == "client_ip" ? &ip : key == "event" ? &action : nullptr;
      if (slot && field.value().get_string().get(*slot)) *slot = {};
    }
    if (action != "login_failed" || ts.empty() || ip.empty()) continue;
    auto t = sentrail::parse_rfc3339(ts);
    if (!t) continue;
    auto& w = by_ip[std::string(ip)];
    w.times.push_back(*t);
    while (w.times.front() < *t - span) w.times.pop_front();
    if (w.times.size() >= 5 && (!w.last_alert || *t - *w.last_alert >= span)) {
      w.last_alert = *t;
      alerts.push_back(std::string(ip) + " " + std::to_string(w.times.front()) + " " + std::to_string(*t));
    }
  }
  auto done = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(done - loading).count();
  double parsing = std::chrono::duration<double>(done - started).count();
  for (const auto& a : alerts) std::printf("%s\n", a.c_str());
  std::fprintf(stderr,
               "hand-written loop: %llu events, %zu alerts in %.3f s (%.0f events/s) reading the file included; "
               "%.3f s after reading it (%.0f/s)\n",
               static_cast<unsigned long long>(events), alerts.size(), secs, static_cast<double>(events) / secs,
               parsing, static_cast<double>(events) / parsing);
  return 0;
}
