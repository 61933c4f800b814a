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
#include "correlate/test_driver.h"
#include "rules/loader.h"

namespace sentrail::correlate::testing {

using correlate::raw_event;
using run_result = correlate::driver_output;

/// "2026-11-23T10:00:00Z" plus `seconds`.
inline std::string at(double seconds, std::string_view base = "2026-11-23T10:00:00Z") {
  timestamp_ns t = *parse_rfc3339(base) + static_cast<timestamp_ns>(seconds * 1e9);
  return format_rfc3339(t);
}

/// Detection rules the correlation tests build on, one per action: web logins
/// (web_login_failed, web_login), POS (pos_refund, pos_void, pos_sale, pos_login),
/// badge (badge_in) and mobile (mobile_login). Ends with a document separator.
inline const std::string base_rules = R"(
title: Failed web login
name: web_login_failed
id: t-web-login-failed
logsource: {product: retail, service: web}
detection: {sel: {event.action: login_failed}, condition: sel}
---
title: Web login
name: web_login
id: t-web-login
logsource: {product: retail, service: web}
detection: {sel: {event.action: login}, condition: sel}
---
title: POS refund
name: pos_refund
id: t-pos-refund
logsource: {product: retail, service: pos}
detection: {sel: {event.action: refund}, condition: sel}
---
title: POS void
name: pos_void
id: t-pos-void
logsource: {product: retail, service: pos}
detection: {sel: {event.action: void}, condition: sel}
---
title: POS sale
name: pos_sale
id: t-pos-sale
logsource: {product: retail, service: pos}
detection: {sel: {event.action: sale}, condition: sel}
---
title: POS employee login
name: pos_login
id: t-pos-login
logsource: {product: retail, service: pos}
detection: {sel: {event.action: employee_login}, condition: sel}
---
title: Badge in
name: badge_in
id: t-badge-in
logsource: {product: retail, service: badge}
detection: {sel: {event.action: access_granted}, condition: sel}
---
title: Mobile login
name: mobile_login
id: t-mobile-login
logsource: {product: retail, service: mobile}
detection: {sel: {event.action: login}, condition: sel}
---
)";

/// The test driver over rules given as YAML text; load errors fail the test.
class harness {
 public:
  explicit harness(const std::string& yaml, engine_options options = {}) {
    loaded_ = rules::parse_rules(yaml, "test.yml");
    for (const auto& d : loaded_.diagnostics)
      if (d.sev == rules::severity::error) ADD_FAILURE() << d.to_string();
    driver_ = std::make_unique<test_driver>(channels_, loaded_.rules, options);
    for (const auto& p : driver_->problems()) ADD_FAILURE() << p;
  }
  run_result run(const std::vector<raw_event>& events, bool flush = true) { return driver_->run(events, flush); }
  run_result run_batched(const std::vector<raw_event>& events, const std::vector<std::int32_t>& partitions,
                         std::size_t per_advance, bool flush = true) {
    return driver_->run_batched(events, partitions, per_advance, flush);
  }
  engine& correlations() { return driver_->correlations(); }
  state_view& state() { return driver_->state(); }

 private:
  ingest::channel_catalog channels_ = ingest::default_catalog().value();
  rules::load_result loaded_;
  std::unique_ptr<test_driver> driver_;
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
