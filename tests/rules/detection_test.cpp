// Field matching: values, wildcards, escapes, modifiers, null/exists, numbers, keywords.

#include <gtest/gtest.h>

#include <algorithm>

#include "rules/loader.h"
#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::event_builder;
using testing::only_rule;
using testing::rule_with;

bool matches(const std::string& detection, event_builder& b) {
  auto r = rule_with(detection);
  return only_rule(r).matches(b.e);
}

TEST(detection, matches_plain_strings_case_insensitively_and_whole) {
  const std::string d = "  s: {user.name: Alice}\n  condition: s\n";
  event_builder a, b, c;
  a.str("user.name", "ALICE");
  b.str("user.name", "alice2");
  c.str("user.email", "alice");
  EXPECT_TRUE(matches(d, a));
  EXPECT_FALSE(matches(d, b));
  EXPECT_FALSE(matches(d, c));
}

TEST(detection, ands_map_entries_and_ors_list_values) {
  const std::string d =
      "  s:\n    event.action: [login, logout]\n    event.outcome: failure\n  condition: s\n";
  event_builder a, b, c;
  a.str("event.action", "logout").str("event.outcome", "FAILURE");
  b.str("event.action", "login").str("event.outcome", "success");
  c.str("event.action", "purchase").str("event.outcome", "failure");
  EXPECT_TRUE(matches(d, a));
  EXPECT_FALSE(matches(d, b));
  EXPECT_FALSE(matches(d, c));
}

TEST(detection, ors_a_list_of_maps) {
  const std::string d =
      "  s:\n    - {event.action: a, user.name: x}\n    - {event.action: b}\n  condition: s\n";
  event_builder a, b, c;
  a.str("event.action", "a").str("user.name", "x");
  b.str("event.action", "b");
  c.str("event.action", "a").str("user.name", "y");
  EXPECT_TRUE(matches(d, a));
  EXPECT_TRUE(matches(d, b));
  EXPECT_FALSE(matches(d, c));
}

TEST(detection, expands_star_and_question_wildcards) {
  const std::string d = "  s: {url.path: '/admin/*/user?.php'}\n  condition: s\n";
  event_builder a, b, c;
  a.str("url.path", "/ADMIN/x/y/user1.php");
  b.str("url.path", "/admin/x/user12.php");
  c.str("url.path", "/admin/user1.php");
  EXPECT_TRUE(matches(d, a));
  EXPECT_FALSE(matches(d, b));
  EXPECT_FALSE(matches(d, c));
}

TEST(detection, treats_escaped_wildcards_and_backslashes_literally) {
  const std::string d =
      "  s: {f: ['a\\*b', 'c\\?d', 'e\\\\*', 'C:\\Windows\\x']}\n  condition: s\n";
  event_builder star, anyc, q, backslash_then_any, win, not_wild;
  star.str("f", "a*b");
  not_wild.str("f", "axxb");
  q.str("f", "c?d");
  anyc.str("f", "cxd");
  backslash_then_any.str("f", "e\\anything");
  win.str("f", "c:\\windows\\X");
  EXPECT_TRUE(matches(d, star));
  EXPECT_FALSE(matches(d, not_wild));
  EXPECT_TRUE(matches(d, q));
  EXPECT_FALSE(matches(d, anyc));
  EXPECT_TRUE(matches(d, backslash_then_any));
  EXPECT_TRUE(matches(d, win));
}

TEST(detection, matches_contains_case_insensitively) {
  const std::string d = "  s: {url.path|contains: '/ETC/passwd'}\n  condition: s\n";
  event_builder a, b;
  a.str("url.path", "/x/../../etc/PASSWD?y");
  b.str("url.path", "/etc/shadow");
  EXPECT_TRUE(matches(d, a));
  EXPECT_FALSE(matches(d, b));
}

TEST(detection, matches_startswith_and_endswith) {
  const std::string d = "  a: {f|startswith: Pre}\n  b: {g|endswith: .EXE}\n  condition: a and b\n";
  event_builder yes, no1, no2;
  yes.str("f", "prefix").str("g", "c:/x/cmd.exe");
  no1.str("f", "xpre").str("g", "cmd.exe");
  no2.str("f", "pre").str("g", "cmd.exe.bak");
  EXPECT_TRUE(matches(d, yes));
  EXPECT_FALSE(matches(d, no1));
  EXPECT_FALSE(matches(d, no2));
}

TEST(detection, keeps_wildcards_inside_contains) {
  const std::string d = "  s: {f|contains: 'a*c'}\n  condition: s\n";
  event_builder yes, no;
  yes.str("f", "xxABBBCxx");
  no.str("f", "xxcba");
  EXPECT_TRUE(matches(d, yes));
  EXPECT_FALSE(matches(d, no));
}

TEST(detection, requires_every_value_with_all) {
  const std::string d = "  s: {cmd|contains|all: [net, user, /add]}\n  condition: s\n";
  event_builder yes, no;
  yes.str("cmd", "NET USER bob pw /ADD");
  no.str("cmd", "net user bob");
  EXPECT_TRUE(matches(d, yes));
  EXPECT_FALSE(matches(d, no));
}

TEST(detection, matches_regex_case_sensitively_unless_i) {
  const std::string cs = "  s: {f|re: '^ab+c$'}\n  condition: s\n";
  const std::string ci = "  s: {f|re|i: '^ab+c$'}\n  condition: s\n";
  event_builder lower, upper;
  lower.str("f", "abbc");
  upper.str("f", "ABBC");
  EXPECT_TRUE(matches(cs, lower));
  EXPECT_FALSE(matches(cs, upper));
  EXPECT_TRUE(matches(ci, upper));
}

TEST(detection, regex_searches_anywhere_and_honours_m_and_s) {
  event_builder multi;
  multi.str("f", "first\nsecond line");
  EXPECT_TRUE(matches("  s: {f|re: 'sec.nd'}\n  condition: s\n", multi));
  EXPECT_FALSE(matches("  s: {f|re: '^second'}\n  condition: s\n", multi));
  EXPECT_TRUE(matches("  s: {f|re|m: '^second'}\n  condition: s\n", multi));
  EXPECT_FALSE(matches("  s: {f|re: 'first.second'}\n  condition: s\n", multi));
  EXPECT_TRUE(matches("  s: {f|re|s: 'first.second'}\n  condition: s\n", multi));
}

TEST(detection, matches_ipv4_and_ipv6_cidr) {
  const std::string d = "  s: {source.ip|cidr: [10.0.0.0/8, '2001:db8::/32']}\n  condition: s\n";
  event_builder v4, v6, out4, out6, junk;
  v4.str("source.ip", "10.200.3.4");
  v6.str("source.ip", "2001:db8:1::5");
  out4.str("source.ip", "11.0.0.1");
  out6.str("source.ip", "2001:db9::1");
  junk.str("source.ip", "not an ip");
  EXPECT_TRUE(matches(d, v4));
  EXPECT_TRUE(matches(d, v6));
  EXPECT_FALSE(matches(d, out4));
  EXPECT_FALSE(matches(d, out6));
  EXPECT_FALSE(matches(d, junk));
}

TEST(detection, matches_odd_cidr_prefixes) {
  const std::string d = "  s: {source.ip|cidr: 185.220.100.0/22}\n  condition: s\n";
  event_builder in, edge, out;
  in.str("source.ip", "185.220.101.7");
  edge.str("source.ip", "185.220.103.255");
  out.str("source.ip", "185.220.104.0");
  EXPECT_TRUE(matches(d, in));
  EXPECT_TRUE(matches(d, edge));
  EXPECT_FALSE(matches(d, out));
}

TEST(detection, compares_numbers_with_gt_gte_lt_lte) {
  event_builder n500, s500, s_text;
  n500.num("retail.amount", "500", 500);
  s500.str("retail.amount", "500.0");
  s_text.str("retail.amount", "lots");
  EXPECT_FALSE(matches("  s: {retail.amount|gt: 500}\n  condition: s\n", n500));
  EXPECT_TRUE(matches("  s: {retail.amount|gte: 500}\n  condition: s\n", n500));
  EXPECT_TRUE(matches("  s: {retail.amount|gte: 500}\n  condition: s\n", s500));
  EXPECT_TRUE(matches("  s: {retail.amount|lt: 500.5}\n  condition: s\n", n500));
  EXPECT_FALSE(matches("  s: {retail.amount|lte: 499.99}\n  condition: s\n", n500));
  EXPECT_FALSE(matches("  s: {retail.amount|gte: 1}\n  condition: s\n", s_text));
}

TEST(detection, matches_numeric_values_numerically_and_numeric_strings_textually) {
  const std::string number = "  s: {code: 4624}\n  condition: s\n";
  const std::string text = "  s: {code: '04624'}\n  condition: s\n";
  event_builder as_number, as_float, as_string, padded;
  as_number.num("code", "4624", 4624);
  as_float.num("code", "4624.0", 4624.0);
  as_string.str("code", "4624");
  padded.str("code", "04624");
  EXPECT_TRUE(matches(number, as_number));
  EXPECT_TRUE(matches(number, as_float));
  EXPECT_TRUE(matches(number, as_string));
  EXPECT_FALSE(matches(number, padded));
  EXPECT_TRUE(matches(text, padded));
  EXPECT_FALSE(matches(text, as_number));
}

TEST(detection, null_matches_absent_or_null_fields) {
  const std::string d = "  s: {event.action: login, user.name: null}\n  condition: s\n";
  event_builder absent, null, present;
  absent.str("event.action", "login");
  null.str("event.action", "login").null("user.name");
  present.str("event.action", "login").str("user.name", "bob");
  EXPECT_TRUE(matches(d, absent));
  EXPECT_TRUE(matches(d, null));
  EXPECT_FALSE(matches(d, present));
}

TEST(detection, exists_checks_presence_either_way) {
  event_builder with, without;
  with.str("user.name", "");
  without.str("event.action", "x");
  EXPECT_TRUE(matches("  s: {user.name|exists: true}\n  condition: s\n", with));
  EXPECT_FALSE(matches("  s: {user.name|exists: true}\n  condition: s\n", without));
  EXPECT_FALSE(matches("  s: {user.name|exists: false}\n  condition: s\n", with));
  EXPECT_TRUE(matches("  s: {user.name|exists: false}\n  condition: s\n", without));
}

TEST(detection, searches_keywords_in_any_string_field) {
  const std::string d = "  keywords: [mimikatz, 'sekurlsa::']\n  condition: keywords\n";
  event_builder a, b, c;
  a.str("user.name", "bob").str("process.command_line", "run MimiKatz.exe");
  b.str("message", "SEKURLSA::logonpasswords");
  c.str("message", "nothing").num("n", "1", 1);
  EXPECT_TRUE(matches(d, a));
  EXPECT_TRUE(matches(d, b));
  EXPECT_FALSE(matches(d, c));
}

TEST(detection, cased_compares_exactly) {
  const std::string d = "  s: {f|cased: Admin}\n  condition: s\n";
  event_builder yes, no;
  yes.str("f", "Admin");
  no.str("f", "admin");
  EXPECT_TRUE(matches(d, yes));
  EXPECT_FALSE(matches(d, no));
}

TEST(detection, windash_accepts_slash_and_unicode_dashes) {
  const std::string d = "  s: {cmd|windash|contains: ' -enc '}\n  condition: s\n";
  event_builder dash, slash, em, none;
  dash.str("cmd", "powershell -enc AAA");
  slash.str("cmd", "powershell /enc AAA");
  em.str("cmd",
         "powershell \xE2\x80\x94"
         "enc AAA");
  none.str("cmd", "powershell enc AAA");
  EXPECT_TRUE(matches(d, dash));
  EXPECT_TRUE(matches(d, slash));
  EXPECT_TRUE(matches(d, em));
  EXPECT_FALSE(matches(d, none));
}

TEST(detection, windash_swaps_slash_flags_for_dashes_and_permutes_each_flag) {
  const std::string d = "  s: {cmd|windash|contains: 'net /user -add'}\n  condition: s\n";
  event_builder mixed, path;
  mixed.str("cmd", "net -user /add");
  path.str("cmd", "net -user -add");
  EXPECT_TRUE(matches(d, mixed));
  EXPECT_TRUE(matches(d, path));
  const std::string p = "  s: {cmd|windash: 'c:/a-b'}\n  condition: s\n";
  event_builder literal, swapped;
  literal.str("cmd", "c:/a-b");
  swapped.str("cmd", "c:-a/b");
  EXPECT_TRUE(matches(p, literal));
  EXPECT_FALSE(matches(p, swapped));
}

TEST(detection, base64_matches_the_encoded_value_exactly) {
  const std::string d = "  s: {f|base64: hello}\n  condition: s\n";
  event_builder yes, wrong_case;
  yes.str("f", "aGVsbG8=");
  wrong_case.str("f", "AGVSBG8=");
  EXPECT_TRUE(matches(d, yes));
  EXPECT_FALSE(matches(d, wrong_case));
}

TEST(detection, base64offset_finds_the_value_at_every_alignment) {
  const std::string d = "  s: {f|base64offset|contains: 'IEX (New-Object'}\n  condition: s\n";
  for (const char* encoded : {"SUVYIChOZXctT2JqZWN0IHRhaWw=", "eElFWCAoTmV3LU9iamVjdCB0YWls",
                              "eHlJRVggKE5ldy1PYmplY3QgdGFpbA=="}) {
    event_builder e;
    e.str("f", encoded);
    EXPECT_TRUE(matches(d, e)) << encoded;
  }
  event_builder other;
  other.str("f", "aGVsbG8gd29ybGQ=");
  EXPECT_FALSE(matches(d, other));
}

TEST(detection, wide_encodes_as_utf16le_before_base64) {
  const std::string d = "  s: {f|wide|base64offset|contains: IEX}\n  condition: s\n";
  event_builder aligned, shifted, narrow;
  aligned.str("f", "SQBFAFgA");
  shifted.str("f", "YQBiACAASQBFAFgAIAB6AA==");
  narrow.str("f", "SUVYIChOZXctT2JqZWN0IHRhaWw=");
  EXPECT_TRUE(matches(d, aligned));
  EXPECT_TRUE(matches(d, shifted));
  EXPECT_FALSE(matches(d, narrow));
}

TEST(detection, fieldref_compares_with_another_field) {
  const std::string d = "  s: {user.name|fieldref: target.user.name}\n  condition: s\n";
  event_builder same, differ, missing;
  same.str("user.name", "Bob").str("target.user.name", "bob");
  differ.str("user.name", "bob").str("target.user.name", "alice");
  missing.str("user.name", "bob");
  EXPECT_TRUE(matches(d, same));
  EXPECT_FALSE(matches(d, differ));
  EXPECT_FALSE(matches(d, missing));
}

TEST(detection, finds_raw_fields_added_without_an_id) {
  const std::string d = "  s: {card_entry: manual}\n  condition: s\n";
  event_builder raw;
  raw.extra("card_entry", "MANUAL");
  EXPECT_TRUE(matches(d, raw));
}

TEST(detection, empty_string_matches_only_empty_values) {
  const std::string d = "  s: {f: ''}\n  condition: s\n";
  event_builder empty, full;
  empty.str("f", "");
  full.str("f", "x");
  EXPECT_TRUE(matches(d, empty));
  EXPECT_FALSE(matches(d, full));
}

}  // namespace
}  // namespace sentrail::rules

namespace sentrail::rules {

TEST(detection, lists_the_fields_its_condition_reads_or_says_it_may_read_any) {
  auto r = testing::rule_with("  sel: {event.action: login_failed, source.ip|cidr: 10.0.0.0/8}\n"
                     "  other: {user.name|fieldref: user.id}\n"
                     "  condition: sel or not other\n");
  std::vector<ingest::field_id> ids;
  ASSERT_TRUE(testing::only_rule(r).fields_read(ids));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<ingest::field_id> want{testing::fid("event.action"), testing::fid("source.ip"), testing::fid("user.name"), testing::fid("user.id")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);

  auto keywords = testing::rule_with("  words: [evil]\n  condition: words\n");
  std::vector<ingest::field_id> any;
  EXPECT_FALSE(testing::only_rule(keywords).fields_read(any));  // a keyword search reads every field
}

}  // namespace sentrail::rules
