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
  std::printf("SigmaHQ: %zu files, %zu detection rules compiled, %zu correlation rules, "
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

}  // namespace
}  // namespace sentrail::rules
