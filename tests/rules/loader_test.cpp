// Loading: metadata, channels, correlation rules, multi-document files,
// folders, and every error kind with its exact file:line:column.

#include "rules/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::dump;

const char* const head =
    "title: t\n"                                    // 1
    "logsource: {product: retail, service: web}\n"  // 2
    "detection:\n"                                  // 3
    "  sel:\n";                                     // 4

/// The only diagnostic of loading `text` as bad.yml, as a string.
std::string only_diagnostic(const std::string& text) {
  auto r = parse_rules(text, "bad.yml");
  EXPECT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(r.rules.detections().empty());
  return r.diagnostics.empty() ? std::string{} : r.diagnostics.front().to_string();
}

TEST(loader, reads_rule_metadata) {
  auto r = parse_rules(
      "title: Door forced\nid: x-1\nname: door_forced\nstatus: test\ndescription: d\n"
      "author: me\nlevel: high\ndate: 2026-01-01\nmodified: 2026-02-01\n"
      "tags: [attack.t1200, attack.initial-access]\nfalsepositives: [Fire drill]\n"
      "references: ['https://example.com']\n"
      "logsource: {product: retail, service: badge, category: physical}\n"
      "detection:\n  s: {event.action: door_forced}\n  condition: s\n",
      "m.yml");
  ASSERT_EQ(r.rules.detections().size(), 1u) << dump(r);
  EXPECT_TRUE(r.diagnostics.empty()) << dump(r);
  const rule_info& i = r.rules.detections()[0]->info();
  EXPECT_EQ(i.id, "x-1");
  EXPECT_EQ(i.name, "door_forced");
  EXPECT_EQ(i.title, "Door forced");
  EXPECT_EQ(i.status, "test");
  EXPECT_EQ(i.description, "d");
  EXPECT_EQ(i.author, "me");
  EXPECT_EQ(i.level, "high");
  EXPECT_EQ(i.date, "2026-01-01");
  EXPECT_EQ(i.modified, "2026-02-01");
  EXPECT_EQ(i.tags, (std::vector<std::string>{"attack.t1200", "attack.initial-access"}));
  EXPECT_EQ(i.falsepositives, (std::vector<std::string>{"Fire drill"}));
  EXPECT_EQ(i.references, (std::vector<std::string>{"https://example.com"}));
  EXPECT_EQ(i.product, "retail");
  EXPECT_EQ(i.service, "badge");
  EXPECT_EQ(i.category, "physical");
  EXPECT_EQ(i.file, "m.yml");
  EXPECT_EQ(i.line, 1);
  EXPECT_EQ(i.channels, (std::vector<std::string>{"badge"}));
  EXPECT_EQ(r.rules.find("x-1"), r.rules.detections()[0].get());
  EXPECT_EQ(r.rules.find("door_forced"), r.rules.detections()[0].get());
  EXPECT_EQ(r.rules.find("nope"), nullptr);
}

TEST(loader, reports_unknown_modifiers_at_the_key) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f|foo: x\n  condition: sel\n"),
            "bad.yml:5:5: error: unknown modifier 'foo'");
}

TEST(loader, reports_an_unknown_expand_placeholder_at_the_value) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f|expand: '%x%'\n  condition: sel\n"),
            "bad.yml:5:15: error: unknown placeholder '%x%' (give its values in the placeholders)");
}

TEST(loader, reports_unknown_condition_identifiers_at_the_identifier) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f: x\n  condition: sel and nope\n"),
            "bad.yml:6:22: error: unknown selection 'nope' in condition");
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f: x\n  condition: 'sel or 1 of x*'\n"),
            "bad.yml:6:27: error: 'x*' matches no selection");
}

TEST(loader, reports_condition_syntax_errors) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f: x\n  condition: (sel and sel\n"),
            "bad.yml:6:14: error: unbalanced '(' in condition");
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f: x\n  condition: sel | count() > 5\n"),
            "bad.yml:6:18: error: aggregation expressions ('| count() ...') are not supported; "
            "write a correlation rule");
}

TEST(loader, reports_a_missing_detection_at_the_document) {
  EXPECT_EQ(only_diagnostic("title: t\nlogsource: {product: retail}\n"),
            "bad.yml:1:1: error: rule has no 'detection'");
}

TEST(loader, reports_empty_selections_that_would_match_everything) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    {}\n  condition: sel\n"),
            "bad.yml:4:3: error: selection 'sel' is empty");
  EXPECT_EQ(only_diagnostic(std::string(head) + "    - {f: x}\n    - {}\n  condition: sel\n"),
            "bad.yml:6:7: error: selection 'sel' has an empty map");
}

TEST(loader, reports_a_missing_title_at_the_document) {
  EXPECT_EQ(only_diagnostic(
                "id: x\nlogsource: {product: retail}\ndetection: {s: {f: x}, condition: s}\n"),
            "bad.yml:1:1: error: rule has no 'title'");
}

TEST(loader, reports_every_error_of_a_rule_not_just_the_first) {
  auto r = parse_rules(
      std::string(head) + "    a|nope: x\n    b|gt: y\n  condition: sel or missing\n", "bad.yml");
  ASSERT_EQ(r.diagnostics.size(), 3u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].line, 5);
  EXPECT_EQ(r.diagnostics[1].line, 6);
  EXPECT_EQ(r.diagnostics[2].line, 7);
  EXPECT_TRUE(r.rules.detections().empty());
}

TEST(loader, reports_a_missing_condition_at_the_detection) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f: x\n"),
            "bad.yml:4:3: error: detection has no 'condition'");
}

TEST(loader, reports_a_bad_regex_at_the_value) {
  auto d = only_diagnostic(std::string(head) + "    f|re: '(ab'\n  condition: sel\n");
  EXPECT_TRUE(d.starts_with("bad.yml:5:11: error: invalid regular expression '(ab': ")) << d;
}

TEST(loader, reports_a_bad_cidr_at_the_value) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f|cidr: 10.0.0.0/33\n  condition: sel\n"),
            "bad.yml:5:13: error: invalid CIDR '10.0.0.0/33'");
  EXPECT_EQ(only_diagnostic(std::string(head) +
                            "    f|cidr: [1.2.3.4/8, 'fe80::zz/64']\n  condition: sel\n"),
            "bad.yml:5:25: error: invalid CIDR 'fe80::zz/64'");
}

TEST(loader, reports_a_non_numeric_comparison_value) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f|gt: abc\n  condition: sel\n"),
            "bad.yml:5:11: error: 'gt' needs a number, got 'abc'");
}

TEST(loader, reports_a_non_boolean_exists_value) {
  EXPECT_EQ(only_diagnostic(std::string(head) + "    f|exists: maybe\n  condition: sel\n"),
            "bad.yml:5:15: error: 'exists' needs true or false");
}

TEST(loader, reports_invalid_yaml_and_keeps_loading_later_documents) {
  auto r = parse_rules(
      "title: broken\ndetection: [unclosed\n"
      "---\n"
      "title: fine\nlogsource: {product: retail}\ndetection:\n  s: {f: x}\n  condition: s\n",
      "multi.yml");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].file, "multi.yml");
  EXPECT_TRUE(r.diagnostics[0].message.starts_with("invalid YAML")) << dump(r);
  EXPECT_LE(r.diagnostics[0].line, 3);
  ASSERT_EQ(r.rules.detections().size(), 1u);
  EXPECT_EQ(r.rules.detections()[0]->info().title, "fine");
  EXPECT_EQ(r.rules.detections()[0]->info().line, 4);
}

TEST(loader, counts_lines_across_documents) {
  auto r = parse_rules(
      "# pack\n"
      "title: one\nid: a\nlogsource: {product: retail}\ndetection:\n  s: {f: x}\n  condition: s\n"
      "---\n"
      "title: two\nid: b\nlogsource: {product: retail}\ndetection:\n  s: {f|bogus: x}\n  "
      "condition: s\n"
      "---\n"
      "title: three\nid: a\nlogsource: {product: retail}\ndetection:\n  s: {f: x}\n  condition: "
      "s\n",
      "multi.yml");
  ASSERT_EQ(r.diagnostics.size(), 2u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].to_string(), "multi.yml:13:7: error: unknown modifier 'bogus'");
  EXPECT_EQ(r.diagnostics[1].to_string(),
            "multi.yml:17:5: error: duplicate rule id 'a' (first defined at multi.yml:3)");
  ASSERT_EQ(r.rules.detections().size(), 1u);
  EXPECT_EQ(r.rules.detections()[0]->info().title, "one");
  EXPECT_EQ(r.rules.detections()[0]->info().line, 2);
}

TEST(loader, refuses_rule_collections_as_not_supported_yet) {
  auto r = parse_rules("action: global\ntitle: t\n", "g.yml");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            "g.yml:1:9: error: 'action: global' rule collections are not supported yet; write "
            "whole rules");
}

TEST(loader, warns_when_a_logsource_maps_to_no_channel_and_keeps_the_rule) {
  const std::string text =
      "title: t\nlogsource:\n  product: windows\n  service: security\n"
      "detection:\n  s: {EventID: 4624}\n  condition: s\n";
  auto r = parse_rules(text, "w.yml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].sev, severity::warning);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            "w.yml:3:3: warning: logsource product=windows service=security maps to no channel; "
            "the rule will never match");
  EXPECT_FALSE(r.has_errors());
  EXPECT_EQ(r.rules.detections().size(), 1u);
  EXPECT_TRUE(r.rules.for_channel("web").empty());

  load_options opts;
  opts.mappings.push_back({"windows", "", "", "pos"});
  auto mapped = parse_rules(text, "w.yml", opts);
  EXPECT_TRUE(mapped.diagnostics.empty()) << dump(mapped);
  ASSERT_EQ(mapped.rules.for_channel("pos").size(), 1u);
  EXPECT_TRUE(mapped.rules.for_channel("web").empty());
}

TEST(loader, indexes_rules_by_channel_with_all_channel_rules_everywhere) {
  auto r = parse_rules(
      "title: web\nlogsource: {product: retail, service: web}\ndetection: {s: {f: x}, condition: "
      "s}\n"
      "---\n"
      "title: everywhere\nlogsource: {product: retail}\ndetection: {s: {f: x}, condition: s}\n"
      "---\n"
      "title: kiosk\nlogsource: {product: retail, service: kiosk}\ndetection: {s: {f: x}, "
      "condition: s}\n",
      "c.yml");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  auto titles = [&](std::string_view ch) {
    std::vector<std::string> out;
    for (const auto* rule : r.rules.for_channel(ch)) out.push_back(rule->info().title);
    return out;
  };
  EXPECT_EQ(titles("web"), (std::vector<std::string>{"web", "everywhere"}));
  EXPECT_EQ(titles("kiosk"), (std::vector<std::string>{"everywhere", "kiosk"}));
  EXPECT_EQ(titles("pos"), (std::vector<std::string>{"everywhere"}));
  EXPECT_EQ(r.rules.channels(), (std::vector<std::string>{"kiosk", "web"}));
  EXPECT_TRUE(r.rules.detections()[1]->applies_to("badge"));
  EXPECT_FALSE(r.rules.detections()[0]->applies_to("badge"));
}

TEST(loader, keeps_correlation_rules_unevaluated) {
  auto r = parse_rules(
      "title: base\nname: failed_login\nid: base-1\nlogsource: {product: retail, service: web}\n"
      "detection: {s: {event.outcome: failure}, condition: s}\n"
      "---\n"
      "title: Many failed logins\n"
      "id: corr-1\n"
      "name: many_failed\n"
      "level: high\n"
      "tags: [attack.t1110]\n"
      "correlation:\n"
      "  type: event_count\n"
      "  rules: [failed_login]\n"
      "  group-by: [source.ip, user.name]\n"
      "  timespan: 5m\n"
      "  condition: {gte: 10}\n"
      "  generate: true\n"
      "  aliases:\n"
      "    ip: {failed_login: source.ip}\n",
      "corr.yml");
  ASSERT_TRUE(r.diagnostics.empty()) << dump(r);
  ASSERT_EQ(r.rules.correlations().size(), 1u);
  const correlation_rule& c = r.rules.correlations()[0];
  EXPECT_EQ(c.id, "corr-1");
  EXPECT_EQ(c.name, "many_failed");
  EXPECT_EQ(c.title, "Many failed logins");
  EXPECT_EQ(c.level, "high");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"attack.t1110"}));
  EXPECT_EQ(c.type, "event_count");
  EXPECT_EQ(c.rules, (std::vector<std::string>{"failed_login"}));
  EXPECT_EQ(c.group_by, (std::vector<std::string>{"source.ip", "user.name"}));
  EXPECT_EQ(c.timespan, "5m");
  ASSERT_EQ(c.condition.size(), 1u);
  EXPECT_EQ(c.condition[0], (std::pair<std::string, std::string>{"gte", "10"}));
  EXPECT_TRUE(c.generate);
  ASSERT_EQ(c.aliases.size(), 1u);
  EXPECT_EQ(c.aliases[0].first, "ip");
  EXPECT_EQ(c.file, "corr.yml");
  EXPECT_EQ(c.line, 7);
  EXPECT_EQ(r.rules.detections().size(), 1u);
}

TEST(loader, reports_a_correlation_without_type) {
  auto r = parse_rules("title: c\ncorrelation:\n  rules: [a]\n  group-by: [x]\n  timespan: 1m\n",
                       "c.yml");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].to_string(), "c.yml:3:3: error: correlation has no 'type'");
  EXPECT_TRUE(r.rules.correlations().empty());
}

class folder_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sentrail-rules-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "nested" / "deeper");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::filesystem::path& rel, const std::string& text) {
    std::ofstream(dir_ / rel) << text;
  }
  static std::string rule(const std::string& title) {
    return "title: " + title +
           "\nlogsource: {product: retail}\ndetection: {s: {f: x}, condition: s}\n";
  }
  std::filesystem::path dir_;
};

TEST_F(folder_test, loads_yml_and_yaml_files_recursively_in_sorted_order) {
  write("b.yml", rule("b"));
  write("a.yaml", rule("a1") + "---\n" + rule("a2"));
  write("nested/deeper/c.yml", rule("c"));
  write("nested/z.yml", "title: broken\n");
  write("notes.txt", rule("ignored"));
  auto r = load_rules(dir_);
  std::vector<std::string> titles;
  for (const auto& d : r.rules.detections()) titles.push_back(d->info().title);
  EXPECT_EQ(titles, (std::vector<std::string>{"a1", "a2", "b", "c"}));
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            (dir_ / "nested/z.yml").string() + ":1:1: error: rule has no 'detection'");
  EXPECT_EQ(r.rules.detections()[3]->info().file, (dir_ / "nested/deeper/c.yml").string());
}

TEST_F(folder_test, loads_a_single_file_and_reports_a_missing_path) {
  write("one.yml", rule("one"));
  auto r = load_rules(dir_ / "one.yml");
  EXPECT_TRUE(r.diagnostics.empty()) << dump(r);
  EXPECT_EQ(r.rules.detections().size(), 1u);
  auto missing = load_rules(dir_ / "missing.yml");
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_EQ(missing.diagnostics[0].to_string(),
            (dir_ / "missing.yml").string() + ": error: no such rule file or folder");
}

TEST_F(folder_test, reports_duplicate_ids_across_files) {
  write("a.yml", "id: same\n" + rule("a"));
  write("b.yml", "# comment\nid: same\n" + rule("b"));
  auto r = load_rules(dir_);
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            (dir_ / "b.yml").string() + ":2:5: error: duplicate rule id 'same' (first defined at " +
                (dir_ / "a.yml").string() + ":1)");
  EXPECT_EQ(r.rules.detections().size(), 1u);
}

}  // namespace
}  // namespace sentrail::rules
