// `sentrail eval`: replay generated traffic through the live pipeline and score the
// alerts against the generator's ground truth: per rule, incidents found and missed,
// false positives, recall and precision.
// It runs the files exactly as `sentrail replay` does (app/file_backtest.h).

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/rules_loading.h"
#include "common/time.h"
#include "app/file_backtest.h"
#include "correlate/pipeline.h"
#include "ingest/mapping.h"
#include "ingest/minimise.h"

namespace sentrail::app {
namespace {

struct eval_flags {
  std::string rules, truth, channel;
  std::vector<std::string> files;
  bool report_only = false;
};

/// One line of the ground truth that names an incident (malformed-event lines are skipped).
struct truth_incident {
  std::string id, scenario, rule, value;
  std::vector<std::string> also;
  timestamp_ns start = 0, end = 0;
  bool near_miss = false;
  int line = 0;
};

// The truth is written by `sentrail gen` in a fixed shape; a flat scan reads it.
std::optional<std::string> string_after(std::string_view line, std::string_view key,
                                        std::size_t from = 0) {
  std::string pattern = "\"" + std::string(key) + "\":\"";
  auto at = line.find(pattern, from);
  if (at == std::string_view::npos) return std::nullopt;
  std::string out;
  for (std::size_t i = at + pattern.size(); i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      out.push_back(line[++i]);
    } else if (line[i] == '"') {
      return out;
    } else {
      out.push_back(line[i]);
    }
  }
  return std::nullopt;
}

result<std::vector<truth_incident>> read_truth(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error{"cannot read truth file " + path};
  std::vector<truth_incident> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find("\"incident\":") == std::string::npos) continue;
    truth_incident t;
    t.line = n;
    auto id = string_after(line, "incident");
    auto rule = string_after(line, "rule");
    auto entity = line.find("\"entity\":");
    auto value = entity == std::string::npos ? std::nullopt : string_after(line, "value", entity);
    auto start = string_after(line, "start");
    auto end = string_after(line, "end");
    if (!id || !rule || !value || !start || !end)
      return error{path + ":" + std::to_string(n) + ": not an incident line (needs incident, rule, entity.value, start, end)"};
    auto s = parse_rfc3339(*start);
    auto e = parse_rfc3339(*end);
    if (!s || !e) return error{path + ":" + std::to_string(n) + ": start/end are not RFC 3339 times"};
    t.id = *id;
    t.rule = *rule;
    t.value = *value;
    t.scenario = string_after(line, "scenario").value_or("");
    t.start = *s;
    t.end = *e;
    t.near_miss = line.find("\"near_miss\":true") != std::string::npos;
    if (auto a = line.find("\"also\":["); a != std::string::npos) {
      std::string_view list(line);
      list = list.substr(a + 8, line.find(']', a) - a - 8);
      while (true) {
        auto q = list.find('"');
        if (q == std::string_view::npos) break;
        auto q2 = list.find('"', q + 1);
        if (q2 == std::string_view::npos) break;
        t.also.emplace_back(list.substr(q + 1, q2 - q - 1));
        list.remove_prefix(q2 + 1);
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

/// Collects alerts in memory (a generated day raises at most a few hundred).
struct collecting_sink : correlate::alert_sink {
  std::vector<correlate::alert> alerts;
  void emit(const correlate::alert& a) override { alerts.push_back(a); }
};

struct counting_rejections : correlate::rejection_sink {
  std::uint64_t count = 0;
  void reject(const ingest::rejection&, std::string_view, std::string_view, const ingest::source_position&) override {
    ++count;
  }
};

std::string fmt_ratio(int num, int den) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", static_cast<double>(num) / static_cast<double>(den));
  return b;
}

bool alert_names(const correlate::alert& a, std::string_view value) {
  for (const auto& [k, v] : a.group)
    if (v == value) return true;
  for (const auto& e : a.events)
    for (const auto& f : e.fields)
      if (f.text == value) return true;
  return false;
}

int run_eval(const eval_flags& f) {
  auto channels = ingest::default_catalog();
  if (!channels) {
    std::fprintf(stderr, "sentrail eval: %s\n", channels.message().c_str());
    return 2;
  }
  const ingest::channel_mapping* fixed = nullptr;
  if (!f.channel.empty() && !(fixed = channels->by_name(f.channel))) {
    std::fprintf(stderr, "sentrail eval: unknown channel '%s'\n", f.channel.c_str());
    return 2;
  }
  auto truth = read_truth(f.truth);
  if (!truth) {
    std::fprintf(stderr, "sentrail eval: %s\n", truth.message().c_str());
    return 2;
  }
  rules::load_result loaded = load_and_report(f.rules);
  if (loaded.has_errors()) std::fprintf(stderr, "sentrail eval: %zu rules refused\n", loaded.error_count());
  // Tokens only need to agree within this run.
  ingest::minimiser privacy("sentrail-eval-ephemeral-key-" + std::to_string(::getpid()));
  file_backtest backtest(*channels, loaded.rules, privacy, {});
  for (const auto& p : backtest.problems()) std::fprintf(stderr, "%s\n", p.c_str());
  collecting_sink sink;
  counting_rejections rejected;
  auto totals = backtest.run(f.files, fixed, sink, rejected);
  if (!totals) {
    std::fprintf(stderr, "sentrail eval: %s\n", totals.message().c_str());
    return 2;
  }
  // Score. A rule's timespan widens the window in which its alert may land.
  std::map<std::string, timestamp_ns> timespan;
  for (const auto& c : loaded.rules.correlations())
    timespan[c.id.empty() ? c.name : c.id] = c.timespan_ns.value_or(0);
  auto matches = [&](const correlate::alert& a, const truth_incident& t) {
    timestamp_ns slack = timespan.count(a.rule_id) ? timespan[a.rule_id] : 0;
    return a.last_seen >= t.start && a.last_seen <= t.end + slack && alert_names(a, t.value);
  };
  struct row {
    int injected = 0, found = 0, alerts = 0, false_positives = 0, near_misses = 0;
  };
  std::map<std::string, row> rows;
  std::vector<std::string> details;
  for (const auto& t : *truth) {
    if (t.near_miss) {
      ++rows[t.rule].near_misses;
      continue;
    }
    auto& r = rows[t.rule];
    ++r.injected;
    bool hit = std::any_of(sink.alerts.begin(), sink.alerts.end(),
                           [&](const auto& a) { return a.rule_id == t.rule && matches(a, t); });
    if (hit) {
      ++r.found;
    } else {
      details.push_back("missed " + t.id + " (" + t.scenario + ", " + t.value + ") of " + t.rule);
    }
  }
  for (const auto& a : sink.alerts) {
    auto& r = rows[a.rule_id];
    ++r.alerts;
    bool expected = std::any_of(truth->begin(), truth->end(), [&](const truth_incident& t) {
      if (t.near_miss && t.rule == a.rule_id) return false;
      bool rule_ok = t.rule == a.rule_id || std::find(t.also.begin(), t.also.end(), a.rule_id) != t.also.end();
      return rule_ok && matches(a, t);
    });
    if (expected) continue;
    ++r.false_positives;
    const truth_incident* near = nullptr;
    for (const auto& t : *truth)
      if (t.near_miss && t.rule == a.rule_id && matches(a, t)) near = &t;
    details.push_back("false positive " + a.rule_id + " " + a.entity() + " at " + format_rfc3339(a.last_seen) +
                      (near ? " (near miss " + near->id + " " + near->scenario + ")" : ""));
  }

  std::printf("%-46s %8s %6s %6s %6s %6s %9s %9s %6s\n", "rule", "injected", "found", "missed", "alerts",
              "fp", "recall", "precision", "near");
  bool failed = false;
  int total_injected = 0, total_found = 0, total_alerts = 0, total_fp = 0;
  for (const auto& [id, r] : rows) {
    std::string recall = r.injected ? fmt_ratio(r.found, r.injected) : "-";
    std::string precision = r.alerts ? fmt_ratio(r.alerts - r.false_positives, r.alerts) : "-";
    std::printf("%-46s %8d %6d %6d %6d %6d %9s %9s %6d\n", id.c_str(), r.injected, r.found, r.injected - r.found,
                r.alerts, r.false_positives, recall.c_str(), precision.c_str(), r.near_misses);
    if (r.found < r.injected || r.false_positives > 0) failed = true;
    total_injected += r.injected;
    total_found += r.found;
    total_alerts += r.alerts;
    total_fp += r.false_positives;
  }
  std::printf("%-46s %8d %6d %6d %6d %6d %9s %9s\n", "total", total_injected, total_found,
              total_injected - total_found, total_alerts, total_fp,
              total_injected ? fmt_ratio(total_found, total_injected).c_str() : "-",
              total_alerts ? fmt_ratio(total_alerts - total_fp, total_alerts).c_str() : "-");
  for (const auto& d : details) std::printf("  %s\n", d.c_str());
  std::fprintf(stderr, "sentrail eval: %llu lines, %llu refused, %zu alerts, %zu incidents in the truth\n",
               static_cast<unsigned long long>(totals->lines), static_cast<unsigned long long>(rejected.count),
               sink.alerts.size(), truth->size());
  return failed && !f.report_only ? 1 : 0;
}

}  // namespace

void add_eval_command(CLI::App& app, command_result& out) {
  auto f = std::make_shared<eval_flags>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Score rules against injected attacks: replay files of raw channel events through the\n"
      "live pipeline (as `sentrail replay`) and compare the alerts with the ground truth that\n"
      "`sentrail gen` wrote. Prints per rule: incidents injected, found, missed, alerts raised,\n"
      "false positives (alerts matching no incident; a near miss that alerts is one), recall and\n"
      "precision. An alert finds an incident when it is of the incident's rule, names the\n"
      "incident's entity value in its group or evidence, and its last_seen lies within\n"
      "[start, end + the rule's timespan]. Exits 1 when a rule misses an incident or raises a\n"
      "false positive (unless --report-only), 2 on bad input.");
  cmd->add_option("--rules", f->rules, "Sigma rule file or folder")->required()->check(CLI::ExistingPath);
  cmd->add_option("--truth", f->truth, "Ground-truth JSON lines from `sentrail gen`")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--channel", f->channel, "Channel of every file (default: from the file name or a 'channel' field)");
  cmd->add_flag("--report-only", f->report_only, "Print the table but exit 0 even when recall < 1 or with false positives");
  cmd->add_option("files", f->files, "JSON-lines files of raw channel events")->required()->check(CLI::ExistingFile);
  cmd->callback([f, &out] { out.exit_code = run_eval(*f); });
}

}  // namespace sentrail::app
