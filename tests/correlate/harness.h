#pragma once
// Runs raw channel events through the real decoder, rules and correlation engine
// with in-memory state, the way `sentrail replay` does, and collects the alerts.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "correlate/engine.h"
#include "correlate/memory_state.h"
#include "correlate/pipeline.h"
#include "rules/loader.h"

namespace sentrail::correlate::testing {

struct raw_event {
  std::string channel;
  std::string json;
};

struct run_result : alert_sink, rejection_sink {
  std::vector<alert> alerts;
  std::vector<std::pair<ingest::rejection_reason, std::string>> rejected;
  void emit(const alert& a) override { alerts.push_back(a); }
  void reject(const ingest::rejection& why, std::string_view raw, std::string_view,
              const ingest::source_position&) override {
    rejected.emplace_back(why.reason, std::string(raw));
  }
  std::vector<alert> of(std::string_view rule) const {
    std::vector<alert> out;
    for (const auto& a : alerts)
      if (a.rule_id == rule) out.push_back(a);
    return out;
  }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& a : alerts) out.push_back(a.id);
    std::sort(out.begin(), out.end());
    return out;
  }
};

/// "2026-11-23T10:00:00Z" plus `seconds`.
inline std::string at(double seconds, std::string_view base = "2026-11-23T10:00:00Z") {
  timestamp_ns t = *parse_rfc3339(base) + static_cast<timestamp_ns>(seconds * 1e9);
  return format_rfc3339(t);
}

class harness {
 public:
  explicit harness(const std::string& yaml, engine_options options = {}) {
    loaded_ = rules::parse_rules(yaml, "test.yml");
    for (const auto& d : loaded_.diagnostics)
      if (d.sev == rules::severity::error) ADD_FAILURE() << d.to_string();
    options.idle_timeout = INT64_MAX;
    engine_ = std::make_unique<engine>(loaded_.rules, options, &problems_);
    for (const auto& p : problems_) ADD_FAILURE() << p;
    engine_->set_clock([] { return timestamp_ns{0}; });
    pipeline_ = std::make_unique<pipeline>(channels_, *engine_, privacy_, state_);
  }

  /// Feeds every event (one input partition), advancing the watermark after each, then flushes.
  run_result run(const std::vector<raw_event>& events, bool flush = true) {
    run_result out;
    std::int64_t offset = 0;
    for (const auto& e : events) {
      pipeline_->process(e.json, *channels_.by_name(e.channel), {"test", 0, offset++}, out, out);
      pipeline_->advance(0, out);
    }
    if (flush) pipeline_->flush(out);
    return out;
  }
  engine& correlations() { return *engine_; }
  memory_state& state() { return state_; }

 private:
  ingest::channel_catalog channels_ = ingest::default_catalog().value();
  ingest::minimiser privacy_{"engine-test-key-0123456789"};
  rules::load_result loaded_;
  std::vector<std::string> problems_;
  std::unique_ptr<engine> engine_;
  memory_state state_;
  std::unique_ptr<pipeline> pipeline_;
};

inline std::vector<raw_event> shuffled_within(std::vector<raw_event> events, std::size_t span, unsigned seed) {
  // Local shuffles only (each event moves at most `span` places): out of order, within lateness.
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i + 1 < events.size(); i += span) {
    auto end = std::min(events.size(), i + span);
    std::shuffle(events.begin() + static_cast<long>(i), events.begin() + static_cast<long>(end), rng);
  }
  return events;
}

}  // namespace sentrail::correlate::testing
