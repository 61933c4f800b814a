#pragma once
// Prometheus metrics on /metrics (prometheus-cpp's civetweb exposer). The
// worker adds per-batch deltas, so the per-event path touches no atomics.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace sentrail::metrics {

class engine_metrics {
 public:
  /// Serves /metrics on 127.0.0.1:`port` (or `bind` as HOST:PORT when given).
  static result<std::unique_ptr<engine_metrics>> serve(const std::string& bind_address);
  ~engine_metrics();

  void events(std::string_view channel, std::string_view topic, std::uint64_t n);
  void dead_letters(std::string_view reason, std::uint64_t n);
  void alert(std::string_view rule, std::string_view level);
  void duplicate_alerts(std::uint64_t n);
  void batch(double seconds, std::uint64_t messages);
  void published(std::uint64_t n);
  void rules_loaded(std::uint64_t rules, std::uint64_t refused);
  /// A hot reload and its outcome: "success" or "refused".
  void rules_reload(std::string_view outcome);

 private:
  struct impl;
  explicit engine_metrics(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace sentrail::metrics
