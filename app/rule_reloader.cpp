#include "app/rule_reloader.h"

#include <algorithm>
#include <cstdio>

#include "app/rules_loading.h"

namespace sentrail::app {

rule_reloader::rule_reloader(std::string path, correlate::engine_options options, metrics::engine_metrics* metrics,
                             rules::load_options loading)
    : path_(std::move(path)), options_(std::move(options)), loading_(std::move(loading)), metrics_(metrics) {}

std::string rule_reloader::fingerprint() const {
  // Paths, sizes and modification times of every rule file: cheap, and any edit changes it.
  std::vector<std::string> parts;
  std::error_code ec;
  auto add = [&](const std::filesystem::path& p) {
    auto ext = p.extension();
    if (ext != ".yml" && ext != ".yaml") return;
    auto size = std::filesystem::file_size(p, ec);
    auto time = std::filesystem::last_write_time(p, ec).time_since_epoch().count();
    parts.push_back(p.string() + ":" + std::to_string(size) + ":" + std::to_string(time));
  };
  if (std::filesystem::is_directory(path_, ec)) {
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec)) add(it->path());
  } else {
    add(path_);
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += p + "\n";
  return out;
}

std::unique_ptr<rule_reloader::bundle> rule_reloader::build(rules::load_result loaded) {
  auto b = std::make_unique<bundle>();
  b->loaded = std::move(loaded);
  std::vector<std::string> problems;
  b->engine = std::make_unique<correlate::engine>(b->loaded.rules, options_, &problems);
  for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
  return b;
}

void rule_reloader::load_initial() {
  last_fingerprint_ = fingerprint();
  rules::load_result loaded = load_and_report(path_, loading_);
  std::fprintf(stderr, "sentrail run: %zu detection and %zu correlation rules loaded (%zu refused) from %s\n",
               loaded.rules.detections().size(), loaded.rules.correlations().size(), loaded.error_count(),
               path_.c_str());
  if (metrics_) metrics_->rules_loaded(loaded.rules.detections().size() + loaded.rules.correlations().size(),
                                       loaded.error_count());
  active_ = build(std::move(loaded));
  last_check_ = std::chrono::steady_clock::now();
}

bool rule_reloader::poll_reload() {
  auto now = std::chrono::steady_clock::now();
  bool asked = requested_.exchange(false);
  if (!asked && now - last_check_ < std::chrono::seconds(2)) return false;
  last_check_ = now;
  std::string fp = fingerprint();
  if (!asked && fp == last_fingerprint_) return false;
  last_fingerprint_ = fp;
  rules::load_result loaded = load_and_report(path_, loading_);
  if (loaded.has_errors() || (loaded.rules.detections().empty() && loaded.rules.correlations().empty())) {
    ++refused_;
    if (metrics_) metrics_->rules_reload("refused");
    std::fprintf(stderr,
                 "sentrail run: rule reload refused (%zu errors%s); still running the last good set\n",
                 loaded.error_count(), loaded.has_errors() ? "" : ", no rules");
    return false;
  }
  ++reloads_;
  if (metrics_) {
    metrics_->rules_reload("success");
    metrics_->rules_loaded(loaded.rules.detections().size() + loaded.rules.correlations().size(), 0);
  }
  std::fprintf(stderr, "sentrail run: rules reloaded: %zu detection and %zu correlation rules\n",
               loaded.rules.detections().size(), loaded.rules.correlations().size());
  retired_.push_back(std::move(active_));
  if (retired_.size() > 2) retired_.erase(retired_.begin());  // the pipeline switched long ago
  active_ = build(std::move(loaded));
  return true;
}

}  // namespace sentrail::app
