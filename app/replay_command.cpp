// `sentrail replay`: the live pipeline over JSON-lines or access-log files, for
// backtesting rules without Kafka. Alerts go to stdout as JSON lines.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "alert/console.h"
#include "app/commands.h"
#include "app/config.h"
#include "app/rules_loading.h"
#include "app/file_backtest.h"
#include "rules/timespan.h"
#include "ingest/dead_letter.h"
#include "ingest/mapping.h"
#include "ingest/minimise.h"

namespace sentrail::app {
namespace {

struct replay_flags {
  std::string config_file, rules, channel, mappings, output = "json", deadletter, hmac_key_file, lateness;
  std::vector<std::string> files;
};

// Dead letters of a replay: JSON lines to a file, or counted only.
class file_rejections : public correlate::rejection_sink {
 public:
  explicit file_rejections(std::FILE* out) : out_(out) {}
  void reject(const ingest::rejection& why, std::string_view raw, std::string_view channel,
              const ingest::source_position& from) override {
    if (!out_) return;
    std::string line = ingest::dead_letter_json(why, raw, channel, from, wall_clock_now());
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out_);
  }

 private:
  std::FILE* out_;
};

int run_replay(const replay_flags& f) {
  auto channels = f.mappings.empty() ? ingest::default_catalog() : ingest::load_catalog(f.mappings);
  if (!channels) {
    std::fprintf(stderr, "sentrail replay: %s\n", channels.message().c_str());
    return 2;
  }
  const ingest::channel_mapping* fixed = nullptr;
  if (!f.channel.empty() && !(fixed = channels->by_name(f.channel))) {
    std::fprintf(stderr, "sentrail replay: unknown channel '%s'\n", f.channel.c_str());
    return 2;
  }
  std::string key;
  if (!f.hmac_key_file.empty() || std::getenv("SENTRAIL_HMAC_KEY")) {
    auto k = ingest::privacy_key(f.hmac_key_file);
    if (!k) {
      std::fprintf(stderr, "sentrail replay: %s\n", k.message().c_str());
      return 2;
    }
    key = std::move(k).value();
  } else {
    // Without a key a replay still minimises, but its card tokens match no other run.
    key = "sentrail-replay-ephemeral-key-" + std::to_string(::getpid()) + "-" +
          std::to_string(wall_clock_now());
    std::fprintf(stderr, "sentrail replay: no HMAC key given (--hmac-key-file or SENTRAIL_HMAC_KEY): "
                         "card tokens are valid for this run only\n");
  }
  ingest::minimiser privacy(key);
  // The engine's own config, for what shapes the rules: logsources, placeholders, correlation options.
  engine_config config;
  if (!f.config_file.empty()) {
    auto read = load_config(f.config_file);
    if (!read) {
      std::fprintf(stderr, "sentrail replay: %s\n", read.message().c_str());
      return 2;
    }
    config = std::move(read).value();
  }
  rules::load_result loaded = load_and_report(f.rules, config.rule_loading);
  if (loaded.has_errors()) std::fprintf(stderr, "sentrail replay: %zu rules refused\n", loaded.error_count());

  std::FILE* dead_out = nullptr;
  if (!f.deadletter.empty()) {
    dead_out = f.deadletter == "-" ? stderr : std::fopen(f.deadletter.c_str(), "w");
    if (!dead_out) {
      std::fprintf(stderr, "sentrail replay: cannot write %s\n", f.deadletter.c_str());
      return 2;
    }
  }
  alert::console_format format = f.output == "text" ? alert::console_format::text
                                 : f.output == "none" ? alert::console_format::none
                                                      : alert::console_format::json;
  static char out_buffer[1 << 16];
  std::setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
  alert::console_sink alerts(stdout, format);
  file_rejections rejections(dead_out);
  correlate::engine_options engine_options = config.correlation;
  if (!f.lateness.empty()) {
    auto span = rules::parse_timespan_ns(f.lateness);
    if (!span) {
      std::fprintf(stderr, "sentrail replay: --lateness '%s' is not a timespan\n", f.lateness.c_str());
      return 2;
    }
    engine_options.allowed_lateness = *span;
  }
  file_backtest backtest(*channels, loaded.rules, privacy, engine_options);
  for (const auto& p : backtest.problems()) std::fprintf(stderr, "%s\n", p.c_str());
  auto started = std::chrono::steady_clock::now();
  auto totals = backtest.run(f.files, fixed, alerts, rejections);
  if (!totals) {
    std::fprintf(stderr, "sentrail replay: %s\n", totals.message().c_str());
    return 2;
  }
  std::uint64_t lines = totals->lines, unrouted = totals->unrouted;
  std::fflush(stdout);
  if (dead_out && dead_out != stderr) std::fclose(dead_out);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto& c = backtest.pipeline().counts();
  const auto& ec = backtest.correlations().counts();
  std::fprintf(stderr,
               "sentrail replay: %llu lines, %llu events, %llu alerts, %llu dead letters in %.3f s "
               "(%.0f events/s); %llu late, %llu suppressed, %llu correlated, reorder buffer peak %llu\n",
               static_cast<unsigned long long>(lines), static_cast<unsigned long long>(c.events),
               static_cast<unsigned long long>(ec.detection_alerts + ec.correlation_alerts),
               static_cast<unsigned long long>(c.rejected + unrouted), secs,
               secs > 0 ? static_cast<double>(lines) / secs : 0.0, static_cast<unsigned long long>(c.late),
               static_cast<unsigned long long>(ec.suppressed), static_cast<unsigned long long>(ec.buffered_total),
               static_cast<unsigned long long>(ec.buffered_peak));
  // A window at its cap: counts saturate and absence A's go without a verdict, so say where.
  for (const auto& r : backtest.correlations().rule_matches())
    if (r.pushed_out > 0)
      std::fprintf(stderr, "sentrail replay: %s: %llu matches pushed out of full windows (%zu per group)\n",
                   std::string(r.rule_id).c_str(), static_cast<unsigned long long>(r.pushed_out),
                   rules::max_window_matches);
  return 0;
}

}  // namespace

void add_replay_command(CLI::App& app, command_result& out) {
  auto f = std::make_shared<replay_flags>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Backtest: run the live pipeline (decode, normalise, minimise, match) over files of raw\n"
      "channel events, one per line (JSON, or access-log lines for web). The channel comes from\n"
      "--channel, else a file named after it (web.jsonl), else each line's 'channel' field.\n"
      "Alerts go to stdout as JSON lines; a summary goes to stderr.");
  cmd->add_option("--config", f->config_file,
                  "The engine's YAML config: its logsources, placeholders and correlation options apply")
      ->check(CLI::ExistingFile);
  cmd->add_option("--rules", f->rules, "Sigma rule file or folder")->required();
  cmd->add_option("--channel", f->channel, "Channel of every file (web, mobile, pos, supplier, badge, ...)");
  cmd->add_option("--mappings", f->mappings, "Folder of extra channel mappings (*.yaml)");
  cmd->add_option("--output", f->output, "Alerts as json, text or none")->check(CLI::IsMember({"json", "text", "none"}));
  cmd->add_option("--deadletter", f->deadletter, "Write dead letters as JSON lines to FILE ('-' for stderr)");
  cmd->add_option("--hmac-key-file", f->hmac_key_file, "Key for card tokens and hashed fields");
  cmd->add_option("--lateness", f->lateness, "Allowed lateness for correlation (default 5s)");
  cmd->add_option("files", f->files, "JSON-lines or access-log files")->required()->check(CLI::ExistingFile);
  cmd->callback([f, &out] { out.exit_code = run_replay(*f); });
}

}  // namespace sentrail::app
