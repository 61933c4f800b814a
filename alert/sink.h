#pragma once
// One destination of alert deliveries. A sink formats an alert once, when it is
// queued (the payload is stored with the delivery), and later delivers stored
// payloads; the delivery queue decides about retries from the outcome.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alert/sink_config.h"
#include "common/result.h"
#include "correlate/alert.h"

namespace sentrail::alert {

struct delivery_result {
  enum class outcome {
    delivered,
    retriable,  // the sink may take it later: connection refused, timeout, 5xx, 429, I/O error
    rejected,   // it never will: a 4xx other than 408/429; dead-lettered at once
  };
  outcome what = outcome::delivered;
  std::string error;  // why, when not delivered

  static delivery_result ok() { return {}; }
  static delivery_result retry(std::string why) { return {outcome::retriable, std::move(why)}; }
  static delivery_result reject(std::string why) { return {outcome::rejected, std::move(why)}; }
};

class sink {
 public:
  virtual ~sink() = default;
  /// What will be delivered for `a` (`json` is its docs/alerts.md document).
  virtual std::string payload(const correlate::alert& a, std::string_view json) const = 0;
  /// Delivers the payloads in order, all or nothing (a partial success counts
  /// as a failure; receivers dedupe by alert id). Called from one thread.
  virtual delivery_result deliver(const std::vector<std::string_view>& payloads) = 0;
  /// How many queued deliveries one deliver() may take.
  virtual std::size_t max_batch() const { return 1; }
};

/// The sink a configuration describes; errors name the sink.
result<std::unique_ptr<sink>> make_sink(const sink_config& c);
/// POSTs each alert's JSON to `c.url` with the configured headers.
result<std::unique_ptr<sink>> make_webhook_sink(const sink_config& c);
/// POSTs alerts to Alertmanager's v2 API at `c.url` + /api/v2/alerts.
result<std::unique_ptr<sink>> make_alertmanager_sink(const sink_config& c);
/// Appends one alert JSON per line to `c.path`, fsynced before it counts as delivered.
result<std::unique_ptr<sink>> make_jsonl_sink(const sink_config& c);

/// The Alertmanager v2 alert object for `a` (one element of the POSTed array).
std::string alertmanager_alert(const correlate::alert& a, std::string_view console_url);

/// How an HTTP status (or a transport error, status 0) counts for retrying.
delivery_result classify_http(int status, std::string_view what);

}  // namespace sentrail::alert
