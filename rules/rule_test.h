#pragma once
// Test cases carried inside rule documents (`tests:`), expanded at load into
// plain events a test driver can feed to the engine.

#include <string>
#include <utility>
#include <vector>

namespace sentrail::rules {

/// One raw channel event, as the channel's decoder would receive it.
struct test_event {
  std::string channel;
  /// Compact JSON of one event; `repeat`, `every` and "{i}" already expanded.
  std::string json;
};

/// Alerts of the rule under test that the events must raise.
struct expected_alert {
  /// Subset of the alert's group (field, value); empty matches any group.
  std::vector<std::pair<std::string, std::string>> group;
  /// How many such alerts. Default: 1
  int count = 1;
};

/// One `tests:` entry of a rule.
struct rule_test {
  std::string name;
  /// Events in order, each repeat its own entry.
  std::vector<test_event> events;
  /// Exactly these alerts of this rule; empty: the rule must raise none.
  std::vector<expected_alert> expect;
  std::string file;
  int line = 0;  // 1-based line of the test's entry
};

}  // namespace sentrail::rules
