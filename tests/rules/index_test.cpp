// Rules indexed by the event.action they require: an event is tried only against
// rules that can match it, and the index never leaves out a rule that would.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "rules/loader.h"
#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::dump;
using testing::event_builder;
using testing::fid;
using testing::only_rule;
using testing::rule_with;

std::vector<std::string> required(const std::string& detection) {
  auto r = rule_with(detection);
  std::vector<std::string> out;
  if (!only_rule(r).required_values(ingest::fields::event_action, out)) return {"<none>"};
  std::sort(out.begin(), out.end());
  return out;
}

TEST(rule_index, finds_the_actions_a_condition_requires) {
  EXPECT_EQ(required("  sel: {event.action: Login_Failed}\n  condition: sel\n"),
            (std::vector<std::string>{"login_failed"}));
  EXPECT_EQ(required("  sel: {event.action: [refund, void]}\n  condition: sel\n"),
            (std::vector<std::string>{"refund", "void"}));
  // AND: one side requiring it is enough, the other may test anything.
  EXPECT_EQ(required("  sel: {event.action: sale}\n  big: {amount|gt: 100}\n  filter: {user.name: bot}\n"
                     "  condition: sel and big and not filter\n"),
            (std::vector<std::string>{"sale"}));
  // OR: every side must require it; the values add up.
  EXPECT_EQ(required("  a: {event.action: login}\n  b: {event.action: logout}\n  condition: a or b\n"),
            (std::vector<std::string>{"login", "logout"}));
  EXPECT_EQ(required("  a: {event.action: login}\n  b: {event.action: logout}\n  condition: 1 of a*\n"),
            (std::vector<std::string>{"login"}));
  // A list of maps is OR of alternatives: each must name the action.
  EXPECT_EQ(required("  sel:\n    - {event.action: login}\n    - {event.action: mfa}\n  condition: sel\n"),
            (std::vector<std::string>{"login", "mfa"}));
}

TEST(rule_index, leaves_unindexed_what_it_cannot_prove) {
  for (const char* detection : {
           "  a: {event.action: login}\n  b: {user.name: root}\n  condition: a or b\n",
           "  sel: {event.action|contains: login}\n  condition: sel\n",
           "  sel: {event.action|cased: Login}\n  condition: sel\n",
           "  sel: {event.action: login}\n  condition: not sel\n",
           "  sel:\n    - {event.action: login}\n    - {user.name: root}\n  condition: sel\n",
           "  keywords: [login]\n  condition: keywords\n",
           "  sel: {event.action|re: 'log.*'}\n  condition: sel\n",
       }) {
    EXPECT_EQ(required(detection), (std::vector<std::string>{"<none>"})) << detection;
  }
}

const char* three_rules = R"(title: failed
id: r-failed
logsource: {product: retail, service: web}
detection: {sel: {event.action: login_failed}, condition: sel}
---
title: any probe
id: r-probe
logsource: {product: retail, service: web}
detection: {sel: {url.path|contains: '.env'}, condition: sel}
---
title: login or logout
id: r-session
logsource: {product: retail}
detection: {a: {event.action: login}, b: {event.action: LOGOUT}, condition: a or b}
)";

std::vector<std::string> ids(std::span<const detection_rule* const> rules) {
  std::vector<std::string> out;
  for (const auto* r : rules) out.push_back(r->info().id);
  return out;
}

TEST(rule_index, candidates_keep_load_order_and_every_rule_that_could_match) {
  auto r = parse_rules(three_rules, "index.yml");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  event_builder failed, logout, other, none;
  failed.str("event.action", "login_failed");
  logout.str("event.action", "LogOut");
  other.str("event.action", "page_view");
  EXPECT_EQ(ids(r.rules.candidates("web", failed.e)), (std::vector<std::string>{"r-failed", "r-probe"}));
  EXPECT_EQ(ids(r.rules.candidates("web", logout.e)), (std::vector<std::string>{"r-probe", "r-session"}));
  EXPECT_EQ(ids(r.rules.candidates("web", other.e)), (std::vector<std::string>{"r-probe"}));
  EXPECT_EQ(ids(r.rules.candidates("web", none.e)), (std::vector<std::string>{"r-probe"}));
  // A channel with no rule of its own gets the all-channel rules, indexed too.
  EXPECT_EQ(ids(r.rules.candidates("pos", logout.e)), (std::vector<std::string>{"r-session"}));
  EXPECT_TRUE(r.rules.candidates("pos", failed.e).empty());
}

TEST(rule_index, gives_the_same_matches_as_trying_every_rule_of_the_pack) {
  // The shipped pack against events of every action its rules name, in upper,
  // lower and mixed case, plus actions no rule names: the rules that match
  // through the index are exactly those that match when every rule is tried.
  auto r = load_rules(SENTRAIL_SOURCE_DIR "/rules/pack");
  ASSERT_FALSE(r.rules.detections().empty()) << dump(r);
  std::set<std::string> actions{"", "page_view", "something_else"};
  for (const auto& d : r.rules.detections()) {
    std::vector<std::string> values;
    if (d->required_values(ingest::fields::event_action, values)) actions.insert(values.begin(), values.end());
  }
  ASSERT_GT(actions.size(), 10u);
  std::size_t indexed_out = 0, matched = 0;
  for (const std::string channel : {"web", "mobile", "pos", "supplier", "badge"}) {
    for (const auto& action : actions) {
      for (const std::string& text : {action, std::string(action.size(), 'X')}) {
        std::string mixed = text;
        for (std::size_t i = 0; i < mixed.size(); i += 2) mixed[i] = static_cast<char>(std::toupper(mixed[i]));
        for (const std::string& value : {text, mixed}) {
          event_builder e;
          e.str("event.action", value).num("amount", "5000", 5000).str("user.name", "u").str("source.ip", "10.0.0.1");
          std::vector<std::string> every, indexed;
          for (const auto* rule : r.rules.for_channel(channel))
            if (rule->matches(e.e)) every.push_back(rule->info().id);
          for (const auto* rule : r.rules.candidates(channel, e.e))
            if (rule->matches(e.e)) indexed.push_back(rule->info().id);
          EXPECT_EQ(indexed, every) << channel << " " << value;
          matched += every.size();
          indexed_out += r.rules.for_channel(channel).size() - r.rules.candidates(channel, e.e).size();
        }
      }
    }
  }
  EXPECT_GT(indexed_out, 0u);  // the index does leave rules out
  EXPECT_GT(matched, 10u);     // and the comparison is not between two empty sets
}

}  // namespace
}  // namespace sentrail::rules
