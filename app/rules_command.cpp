// `sentrail rules lint`: load and validate rules as the engine would.

#include <cstdio>
#include <memory>

#include "app/commands.h"
#include "app/rules_loading.h"

namespace sentrail::app {

void add_rules_command(CLI::App& app, command_result& out) {
  CLI::App* rules = app.add_subcommand("rules", "Work with Sigma rule files");
  rules->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  CLI::App* lint = rules->add_subcommand(
      "lint",
      "Check rule files as the engine loads them: YAML, Sigma schema, modifiers, conditions,\n"
      "channels. Prints file:line:col: error|warning: cause for each finding; exits 1 on errors.");
  lint->add_option("path", *path, "Rule file or folder")->required()->check(CLI::ExistingPath);
  lint->callback([path, &out] {
    rules::load_result loaded = load_and_report(*path);
    std::fprintf(stderr, "%zu detection rules, %zu correlation rules, %zu errors, %zu warnings\n",
                 loaded.rules.detections().size(), loaded.rules.correlations().size(),
                 loaded.error_count(), loaded.warning_count());
    out.exit_code = loaded.has_errors() ? 1 : 0;
  });
}

}  // namespace sentrail::app
