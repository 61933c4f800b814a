#pragma once
// Helpers shared by the rules tests: events built by hand and one-rule loads.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "ingest/event.h"
#include "rules/loader.h"

namespace sentrail::rules::testing {

inline ingest::field_id fid(std::string_view name) {
  return ingest::field_table::global().intern(name);
}

/// An event built field by field; literals outlive it, other text is copied.
struct event_builder {
  ingest::event e;
  event_builder& str(std::string_view name, std::string_view text) {
    e.set_copy(fid(name), ingest::field_value::of_string(text));
    return *this;
  }
  event_builder& num(std::string_view name, std::string_view literal, double n) {
    e.set_copy(fid(name), ingest::field_value::of_number(literal, n));
    return *this;
  }
  event_builder& null(std::string_view name) {
    e.set(fid(name), ingest::field_value{});
    return *this;
  }
  event_builder& extra(std::string_view name, std::string_view text) {
    e.add_extra(name, ingest::field_value::of_string(text));
    return *this;
  }
};

/// Loads one rule for the web channel whose `detection:` block is `detection`
/// (lines indented by two spaces).
inline load_result rule_with(const std::string& detection) {
  std::string text =
      "title: test rule\n"
      "id: test-rule\n"
      "level: low\n"
      "logsource: {product: retail, service: web}\n"
      "detection:\n" +
      detection;
  return parse_rules(text, "test.yml");
}

inline std::string dump(const load_result& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.to_string() + "\n";
  return out;
}

/// The single rule `detection` compiles to; fails the test when it does not.
inline const detection_rule& only_rule(const load_result& r) {
  EXPECT_EQ(r.diagnostics.size(), 0u) << dump(r);
  EXPECT_EQ(r.rules.detections().size(), 1u) << dump(r);
  static const auto never = [] {
    return parse_rules(
        "title: never\nlogsource: {product: retail}\ndetection:\n  s: {never.field: 1}\n  "
        "condition: s\n",
        "never.yml");
  }();
  if (r.rules.detections().size() != 1) return *never.rules.detections().front();
  return *r.rules.detections().front();
}

}  // namespace sentrail::rules::testing
