// The public SigmaHQ rule set: loads without crashing, and nearly every rule
// either compiles or gets a diagnostic that names its file and line.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "rules/loader.h"

namespace sentrail::rules {
namespace {

TEST(sigmahq, loads_the_public_rule_set_with_clear_diagnostics) {
  const std::filesystem::path dir = SENTRAIL_SHARED_DIR "/data/sigmahq/rules";
  if (!std::filesystem::is_directory(dir))
    GTEST_SKIP() << "SigmaHQ rules not present at " << dir.string();

  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yml" || ext == ".yaml")) ++files;
  }
  auto r = load_rules(dir);

  std::size_t errors = 0, warnings = 0;
  std::map<std::string, std::size_t> causes;  // error message up to the first quote
  for (const auto& d : r.diagnostics) {
    EXPECT_FALSE(d.file.empty());
    EXPECT_GT(d.line, 0) << d.to_string();
    EXPECT_FALSE(d.message.empty());
    if (d.sev == severity::error) {
      ++errors;
      ++causes[d.message.substr(0, d.message.find('\''))];
    } else {
      ++warnings;
    }
  }
  std::printf(
      "SigmaHQ: %zu files, %zu detection rules compiled, %zu correlation rules, "
      "%zu errors, %zu warnings\n",
      files, r.rules.detections().size(), r.rules.correlations().size(), errors, warnings);
  for (const auto& [cause, n] : causes) std::printf("  %5zu  %s\n", n, cause.c_str());

  // Every file is accounted for: a compiled rule or at least one diagnostic.
  EXPECT_GE(r.rules.detections().size() + r.rules.correlations().size() + errors, files);
  // Most of the public rules use only what this module supports.
  EXPECT_GT(r.rules.detections().size(), files * 9 / 10);
  // No logsource of theirs is retail, so without mappings every rule warns.
  EXPECT_EQ(warnings, r.rules.detections().size());
}

TEST(sigmahq, webserver_rules_run_on_the_web_channel_through_a_mapping) {
  const std::filesystem::path dir = SENTRAIL_SHARED_DIR "/data/sigmahq/rules/web";
  if (!std::filesystem::is_directory(dir))
    GTEST_SKIP() << "SigmaHQ rules not present at " << dir.string();
  load_options opts;
  opts.mappings.push_back({"", "", "webserver", "web"});
  auto r = load_rules(dir, opts);
  EXPECT_FALSE(r.has_errors());
  auto web = r.rules.for_channel("web");
  std::printf("SigmaHQ web/: %zu rules, %zu on the web channel via category webserver\n",
              r.rules.detections().size(), web.size());
  EXPECT_GE(web.size(), 10u);
  for (const auto* rule : web) EXPECT_EQ(rule->info().category, "webserver");

  // "Source code enumeration": a keyword rule looking for '.git/'.
  const detection_rule* git = r.rules.find("953d460b-f810-420a-97a2-cfca4c98e602");
  ASSERT_NE(git, nullptr);
  ingest::event hit, miss;
  hit.set_copy(ingest::field_table::global().intern("url.original"),
               ingest::field_value::of_string("/shop/.GIT/config"));
  miss.set_copy(ingest::field_table::global().intern("url.original"),
                ingest::field_value::of_string("/shop/cart"));
  EXPECT_TRUE(git->matches(hit));
  EXPECT_FALSE(git->matches(miss));
}

}  // namespace
}  // namespace sentrail::rules
