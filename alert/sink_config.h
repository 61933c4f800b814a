#pragma once
// Where alerts go besides the alerts topic: each configured sink (a webhook,
// Prometheus Alertmanager, a JSON-lines file) with the route that picks its
// alerts and the retry policy of its durable delivery queue (docs/sinks.md).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "correlate/alert.h"

namespace sentrail::alert {

enum class sink_type { webhook, alertmanager, jsonl };

/// Which alerts a sink receives. Every condition given must hold; an empty
/// route takes every alert.
struct route_match {
  std::optional<int> min_level;       // a level rank (level_rank); Default: none
  std::vector<std::string> levels;    // any of; Default: any level
  std::vector<std::string> tags;      // any of; Default: any tags
  std::vector<std::string> rules;     // any of these rule ids; Default: any rule
};

/// How a failing sink is retried before a delivery is dead-lettered.
struct backoff_policy {
  int max_attempts = 8;                                        // Default: 8
  std::chrono::nanoseconds initial = std::chrono::seconds(1);  // Default: 1s
  std::chrono::nanoseconds max = std::chrono::minutes(5);      // Default: 5m
};

struct sink_config {
  std::string name;  // [A-Za-z0-9_.-]+, unique; names the queue and the metrics series
  sink_type type = sink_type::webhook;
  route_match match;
  backoff_policy retry;
  std::string url;                                             // webhook: the POST target; alertmanager: base URL
  std::map<std::string, std::string> headers;                  // webhook only
  std::chrono::nanoseconds timeout = std::chrono::seconds(10); // Default: 10s per HTTP request
  std::string console_url;                                     // alertmanager: generatorURL base; Default: none
  std::string path;                                            // jsonl: the file appended to
};

/// Rank of a Sigma level (informational 0 … critical 4); nothing for an unknown level.
std::optional<int> level_rank(std::string_view level);

/// Whether `a` takes this route.
bool matches(const route_match& route, const correlate::alert& a);

/// The wait after the `failures`-th failed attempt in a row (1 = the first):
/// initial·2^(failures−1), capped at max, spread by `jitter` in [0, 1) over
/// ±25% so sinks failing together do not retry in lockstep, and never above max.
std::chrono::nanoseconds backoff_delay(const backoff_policy& p, int failures, double jitter);

/// Whether `name` may name a sink (it is part of queue keys and metric labels).
bool valid_sink_name(std::string_view name);

}  // namespace sentrail::alert
