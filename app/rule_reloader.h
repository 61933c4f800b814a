#pragma once
// Hot reload of the rule folder for `sentrail run`: on SIGHUP, or when a rule
// file changes (checked every couple of seconds), the folder is loaded again.
// A set with any error is refused, with its diagnostics on stderr and a count,
// and the last good set keeps running.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "correlate/engine.h"
#include "metrics/metrics.h"
#include "rules/loader.h"
#include "worker/worker.h"

namespace sentrail::app {

class rule_reloader : public worker::rules_provider {
 public:
  rule_reloader(std::string path, correlate::engine_options options, metrics::engine_metrics* metrics,
                rules::load_options loading = {});

  /// The first load: refused rules are reported and the rest run.
  void load_initial();
  correlate::engine& current() override { return *active_->engine; }
  bool poll_reload() override;

  /// Set from a SIGHUP handler.
  std::atomic<bool>& requested() { return requested_; }
  std::uint64_t reloads() const { return reloads_; }
  std::uint64_t refused() const { return refused_; }

 private:
  struct bundle {
    rules::load_result loaded;
    std::unique_ptr<correlate::engine> engine;
  };
  std::string fingerprint() const;
  std::unique_ptr<bundle> build(rules::load_result loaded);

  std::string path_;
  correlate::engine_options options_;
  rules::load_options loading_;
  metrics::engine_metrics* metrics_;
  std::unique_ptr<bundle> active_;
  std::vector<std::unique_ptr<bundle>> retired_;  // engines a pipeline may still point at
  std::string last_fingerprint_;
  std::atomic<bool> requested_{false};
  std::chrono::steady_clock::time_point last_check_;
  std::uint64_t reloads_ = 0, refused_ = 0;
};

}  // namespace sentrail::app
