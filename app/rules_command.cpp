// `sentrail rules lint` and `sentrail rules test`: check rule files as the
// engine loads them, and run the test cases they carry.

#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/config.h"
#include "app/rules_loading.h"
#include "correlate/test_driver.h"
#include "ingest/mapping.h"
#include "store/store.h"
#include "triage/service.h"
#include "triage/views.h"

namespace sentrail::app {
namespace {

std::string group_text(const std::vector<std::pair<std::string, std::string>>& group) {
  std::string out = "{";
  for (const auto& [k, v] : group) out += (out.size() > 1 ? ", " : "") + k + ": " + v;
  return out + "}";
}

bool group_contains(const correlate::alert& a, const std::vector<std::pair<std::string, std::string>>& want) {
  for (const auto& w : want)
    if (std::find(a.group.begin(), a.group.end(), w) == a.group.end()) return false;
  return true;
}

// Runs one rule's tests; prints a readable diff for each failure.
int run_tests_of(const std::string& rule_id, const std::vector<rules::rule_test>& tests,
                 const rules::rule_set& all, const ingest::channel_catalog& channels, int& passed) {
  int failed = 0;
  for (const auto& t : tests) {
    correlate::engine_options options;
    options.always_alert = {rule_id};  // a referenced rule's own matches are what its tests are about
    correlate::test_driver driver(channels, all, options);
    std::vector<correlate::raw_event> events;
    for (const auto& e : t.events) events.push_back({e.channel, e.json});
    auto out = driver.run(events);
    auto got = out.of(rule_id);
    std::vector<std::string> problems;
    for (const auto& r : out.rejected)
      problems.push_back("event refused (" + std::string(ingest::reason_name(r.first)) + "): " + r.second);
    std::size_t expected_total = 0;
    for (const auto& want : t.expect) {
      expected_total += static_cast<std::size_t>(want.count);
      auto n = std::count_if(got.begin(), got.end(), [&](const auto& a) { return group_contains(a, want.group); });
      if (n != want.count)
        problems.push_back("expected " + std::to_string(want.count) + " alert(s) with group " + group_text(want.group) +
                           ", got " + std::to_string(n));
    }
    if (got.size() != expected_total) {
      std::string list;
      for (const auto& a : got) list += "\n      - " + group_text(a.group) + " at " + format_rfc3339(a.last_seen);
      problems.push_back("expected " + std::to_string(expected_total) + " alert(s) in all, got " +
                         std::to_string(got.size()) + (list.empty() ? "" : ":" + list));
    }
    if (problems.empty()) {
      ++passed;
      continue;
    }
    ++failed;
    std::fprintf(stdout, "FAIL %s:%d: %s: %s\n", t.file.c_str(), t.line, rule_id.c_str(), t.name.c_str());
    for (const auto& p : problems) std::fprintf(stdout, "    %s\n", p.c_str());
  }
  return failed;
}

}  // namespace

void add_rules_command(CLI::App& app, command_result& out) {
  CLI::App* rules = app.add_subcommand("rules", "Work with Sigma rule files");
  rules->require_subcommand(1);
  // Both lint and test load rules as `sentrail run --config` would.
  auto config_file = std::make_shared<std::string>();
  auto loading = [config_file](rules::load_options& options) -> bool {
    if (config_file->empty()) return true;
    auto config = load_config(*config_file);
    if (!config) {
      std::fprintf(stderr, "sentrail rules: %s\n", config.message().c_str());
      return false;
    }
    options = config.value().rule_loading;
    return true;
  };
  auto path = std::make_shared<std::string>();
  CLI::App* lint = rules->add_subcommand(
      "lint",
      "Check rule files as the engine loads them: YAML, Sigma schema, modifiers, conditions,\n"
      "correlation references and options, channels. Prints file:line:col: error|warning: cause\n"
      "for each finding; exits 1 on errors.");
  lint->add_option("path", *path, "Rule file or folder")->required()->check(CLI::ExistingPath);
  lint->add_option("--config", *config_file, "The engine's YAML config (its logsources and placeholders apply)")
      ->check(CLI::ExistingFile);
  lint->callback([path, loading, &out] {
    rules::load_options options;
    if (!loading(options)) {
      out.exit_code = 2;
      return;
    }
    rules::load_result loaded = load_and_report(*path, options);
    std::fprintf(stderr, "%zu detection rules, %zu correlation rules, %zu errors, %zu warnings\n",
                 loaded.rules.detections().size(), loaded.rules.correlations().size(),
                 loaded.error_count(), loaded.warning_count());
    out.exit_code = loaded.has_errors() ? 1 : 0;
  });

  auto test_path = std::make_shared<std::string>();
  CLI::App* test = rules->add_subcommand(
      "test",
      "Run the test cases rule files carry (`tests:` in a rule: raw events and the alerts the\n"
      "rule must raise, or none). Each test runs the whole rule set on a fresh engine. Prints\n"
      "FAIL with what was expected and what came out; exits 1 if any test fails or a rule is refused.");
  test->add_option("path", *test_path, "Rule file or folder")->required()->check(CLI::ExistingPath);
  test->add_option("--config", *config_file, "The engine's YAML config (its logsources and placeholders apply)")
      ->check(CLI::ExistingFile);
  test->callback([test_path, loading, &out] {
    rules::load_options options;
    if (!loading(options)) {
      out.exit_code = 2;
      return;
    }
    rules::load_result loaded = load_and_report(*test_path, options);
    auto channels = ingest::default_catalog();
    int passed = 0, failed = 0;
    for (const auto& d : loaded.rules.detections()) {
      const auto& info = d->info();
      failed += run_tests_of(info.id.empty() ? info.name : info.id, info.tests, loaded.rules, *channels, passed);
    }
    for (const auto& c : loaded.rules.correlations())
      failed += run_tests_of(c.id.empty() ? c.name : c.id, c.tests, loaded.rules, *channels, passed);
    std::fprintf(stdout, "rules test: %d passed, %d failed\n", passed, failed);
    out.exit_code = failed > 0 || loaded.has_errors() ? 1 : 0;
  });

  struct stats_flags {
    std::string state;
    bool json = false;
  };
  auto sf = std::make_shared<stats_flags>();
  CLI::App* stats = rules->add_subcommand(
      "stats",
      "Per-rule alerts and triage verdicts from a state directory (read-only, also beside a\n"
      "running engine): alerts, still open, true/false positives, benign and precision\n"
      "tp/(tp+fp), most false positives first: the rules that need tuning come first.");
  stats->add_option("--state", sf->state, "State directory of the engine")->required();
  stats->add_flag("--json", sf->json, "Print the JSON of GET /api/rules/stats instead of a table");
  stats->callback([sf, &out] {
    auto db = store::durable_store::open_read_only(sf->state);
    if (!db) {
      std::fprintf(stderr, "sentrail rules stats: %s\n", db.message().c_str());
      out.exit_code = 2;
      return;
    }
    auto rows = triage::compute_rule_stats(**db);
    if (sf->json) {
      std::fprintf(stdout, "%s\n", triage::to_json(rows).c_str());
      return;
    }
    std::fprintf(stdout, "%-44s %7s %6s %6s %6s %7s %9s\n", "rule", "alerts", "open", "tp", "fp", "benign",
                 "precision");
    for (const auto& r : rows) {
      auto p = r.precision();
      std::string precision = p ? std::to_string(static_cast<int>(*p * 100 + 0.5)) + "%" : "-";
      std::fprintf(stdout, "%-44s %7lld %6lld %6lld %6lld %7lld %9s\n", r.rule_id.c_str(),
                   static_cast<long long>(r.alerts), static_cast<long long>(r.open),
                   static_cast<long long>(r.true_positive), static_cast<long long>(r.false_positive),
                   static_cast<long long>(r.benign), precision.c_str());
    }
  });
}

}  // namespace sentrail::app
