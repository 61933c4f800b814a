// Condition grammar: identifiers, and/or/not, parentheses, `1 of`, `all of`, `them`.

#include <gtest/gtest.h>

#include "rules/loader.h"
#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::event_builder;
using testing::only_rule;
using testing::rule_with;

// Three selections over fields a, b, c, each true when the field is "1".
std::string with_condition(const std::string& condition) {
  return "  sel_a: {a: '1'}\n  sel_b: {b: '1'}\n  other_c: {c: '1'}\n  _hidden: {h: '1'}\n"
         "  condition: " +
         condition + "\n";
}

bool eval(const std::string& condition, bool a, bool b, bool c, bool h = false) {
  auto r = rule_with(with_condition(condition));
  event_builder e;
  e.str("a", a ? "1" : "0").str("b", b ? "1" : "0").str("c", c ? "1" : "0").str("h", h ? "1" : "0");
  return only_rule(r).matches(e.e);
}

TEST(condition, combines_identifiers_with_and_or_not) {
  EXPECT_TRUE(eval("sel_a and sel_b", true, true, false));
  EXPECT_FALSE(eval("sel_a and sel_b", true, false, false));
  EXPECT_TRUE(eval("sel_a or sel_b", false, true, false));
  EXPECT_FALSE(eval("sel_a or sel_b", false, false, true));
  EXPECT_TRUE(eval("sel_a and not sel_b", true, false, false));
  EXPECT_FALSE(eval("sel_a and not sel_b", true, true, false));
  EXPECT_TRUE(eval("not not sel_a", true, false, false));
}

TEST(condition, binds_not_tighter_than_and_tighter_than_or) {
  // a or (b and c)
  EXPECT_TRUE(eval("sel_a or sel_b and other_c", true, false, false));
  EXPECT_FALSE(eval("sel_a or sel_b and other_c", false, true, false));
  // (not a) and b
  EXPECT_TRUE(eval("not sel_a and sel_b", false, true, false));
  EXPECT_FALSE(eval("not sel_a and sel_b", true, true, false));
}

TEST(condition, honours_parentheses) {
  EXPECT_FALSE(eval("(sel_a or sel_b) and other_c", true, false, false));
  EXPECT_TRUE(eval("(sel_a or sel_b) and other_c", false, true, true));
  EXPECT_TRUE(eval("not (sel_a and sel_b)", true, false, false));
  EXPECT_FALSE(eval("not (sel_a and sel_b)", true, true, false));
}

TEST(condition, one_of_and_all_of_a_pattern) {
  EXPECT_TRUE(eval("1 of sel_*", false, true, false));
  EXPECT_FALSE(eval("1 of sel_*", false, false, true));
  EXPECT_TRUE(eval("all of sel_*", true, true, false));
  EXPECT_FALSE(eval("all of sel_*", true, false, true));
  EXPECT_TRUE(eval("1 of sel_* and not other_c", true, false, false));
}

TEST(condition, them_covers_every_selection_except_underscored_ones) {
  EXPECT_TRUE(eval("1 of them", false, false, true));
  EXPECT_FALSE(eval("1 of them", false, false, false, true));
  EXPECT_TRUE(eval("all of them", true, true, true, false));
  EXPECT_FALSE(eval("all of them", true, true, false, true));
}

TEST(condition, a_list_of_conditions_means_any_of_them) {
  auto r = rule_with("  a: {a: '1'}\n  b: {b: '1'}\n  condition:\n    - a\n    - b\n");
  event_builder e;
  e.str("b", "1");
  EXPECT_TRUE(only_rule(r).matches(e.e));
}

}  // namespace
}  // namespace sentrail::rules
