// `sentrail run`: the streaming engine over the channel topics.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "app/config.h"
#include "app/rule_reloader.h"
#include "alert/sink_dispatcher.h"
#include "ingest/mapping.h"
#include "ingest/minimise.h"
#include "store/store.h"
#include "triage/http_api.h"
#include "triage/incidents.h"
#include "worker/kafka_rereader.h"
#include "worker/recent_records.h"
#include "worker/worker.h"

namespace sentrail::app {
namespace {

std::atomic<bool> run_stop{false};

// Feeds new alerts to the sink queues in the batch that raises them.
class sink_feed : public worker::alert_observer {
 public:
  explicit sink_feed(alert::sink_dispatcher& d) : sinks_(d) {}
  void on_alert(store::batch& b, const correlate::alert& a, std::string_view json) override {
    sinks_.enqueue(b, a, json);
  }
  void on_sealed() override { sinks_.sealed(); }
  void on_committed() override { sinks_.committed(); }

 private:
  alert::sink_dispatcher& sinks_;
};

struct run_flags {
  std::string config_file, brokers, rules, state, group, mappings, output, api_tokens;
  int metrics_port = -1, api_port = -1;
  double status_interval = 0;
  bool colour = false;
};

int run_engine(const run_flags& f) {
  engine_config config;
  if (!f.config_file.empty()) {
    auto loaded = load_config(f.config_file);
    if (!loaded) {
      std::fprintf(stderr, "sentrail run: %s\n", loaded.message().c_str());
      return 2;
    }
    config = std::move(loaded).value();
  }
  // Flags override the file.
  if (!f.brokers.empty()) config.worker.brokers = f.brokers;
  if (!f.rules.empty()) config.rules_path = f.rules;
  if (!f.state.empty()) config.state_dir = f.state;
  if (!f.group.empty()) config.worker.group = f.group;
  if (!f.mappings.empty()) config.mappings_dir = f.mappings;
  if (f.metrics_port >= 0) config.metrics_port = f.metrics_port;
  if (f.api_port >= 0) config.api.port = f.api_port;
  if (!f.api_tokens.empty()) config.api.tokens_file = f.api_tokens;
  if (f.output == "json") config.worker.stdout_format = alert::console_format::json;
  if (f.output == "text") config.worker.stdout_format = alert::console_format::text;
  if (f.output == "none") config.worker.stdout_format = alert::console_format::none;
  if (f.status_interval > 0) config.worker.status_interval_seconds = f.status_interval;
  config.worker.colour = f.colour;

  for (auto [value, name] : {std::pair{&config.worker.brokers, "--brokers"},
                             std::pair{&config.rules_path, "--rules"}, std::pair{&config.state_dir, "--state"}}) {
    if (value->empty()) {
      std::fprintf(stderr, "sentrail run: %s is required (as a flag or in --config)\n", name);
      return 2;
    }
  }

  auto channels = config.mappings_dir.empty() ? ingest::default_catalog()
                                              : ingest::load_catalog(config.mappings_dir);
  if (!channels) {
    std::fprintf(stderr, "sentrail run: %s\n", channels.message().c_str());
    return 2;
  }
  if (config.hmac_key_file.empty()) config.hmac_key_file = (std::filesystem::path(config.state_dir) / "hmac.key").string();
  auto key = ingest::privacy_key(config.hmac_key_file);
  if (!key) {
    std::fprintf(stderr, "sentrail run: %s\n", key.message().c_str());
    return 2;
  }
  ingest::minimiser privacy(std::move(key).value());

  auto db = store::durable_store::open(config.state_dir, config.store);
  if (!db) {
    std::fprintf(stderr, "sentrail run: %s\n", db.message().c_str());
    return 2;
  }

  std::unique_ptr<metrics::engine_metrics> metrics;
  if (config.metrics_port > 0) {
    auto served = metrics::engine_metrics::serve("127.0.0.1:" + std::to_string(config.metrics_port));
    if (!served) {
      std::fprintf(stderr, "sentrail run: %s\n", served.message().c_str());
      return 2;
    }
    metrics = std::move(served).value();
    std::fprintf(stderr, "sentrail run: metrics on http://127.0.0.1:%d/metrics\n", config.metrics_port);
  }

  std::signal(SIGTERM, [](int) { run_stop = true; });
  std::signal(SIGINT, [](int) { run_stop = true; });
  // A bad rule is refused with file:line:cause and the engine runs with the rest;
  // later edits (or SIGHUP) reload, keeping the last good set when a reload is bad.
  // Evidence by reference: engines read cited and restored events back from the topics.
  std::unique_ptr<worker::recent_records> recent;  // read by the rereader: declared before it
  std::unique_ptr<worker::kafka_rereader> rereader;
  if (config.evidence_by_reference) {
    recent = std::make_unique<worker::recent_records>(config.evidence_memory_bytes);
    config.worker.recent = recent.get();
    auto opened = worker::kafka_rereader::open(config.worker, *channels, privacy, run_stop, recent.get(),
                                               metrics.get());
    if (!opened) {
      std::fprintf(stderr, "sentrail run: %s\n", opened.message().c_str());
      return 2;
    }
    rereader = std::move(opened).value();
    auto* r = rereader.get();
    config.correlation.reread = [r](const ingest::source_position& from, ingest::event& out) {
      return r->reread(from, out);
    };
    config.correlation.prefetch = [r](const std::vector<ingest::source_position>& at) { r->prefetch(at); };
    config.correlation.prefetch_early = [r](const std::vector<ingest::source_position>& at) { r->prefetch_early(at); };
    config.correlation.durable_references = true;
    config.correlation.batch_evidence = true;
    config.worker.evidence_cut_short = [r] { return r->cut_short(); };
  }
  static rule_reloader* reloader_for_signal = nullptr;
  rule_reloader reloader(config.rules_path, config.correlation, metrics.get(), config.rule_loading);
  reloader.load_initial();
  reloader_for_signal = &reloader;
  std::signal(SIGHUP, [](int) {
    if (reloader_for_signal) reloader_for_signal->requested() = true;
  });
  worker::worker engine(config.worker, *channels, reloader, privacy, **db, metrics.get());
  // Extra alert sinks (docs/sinks.md): each drains its own durable queue on its own thread.
  auto sinks = alert::sink_dispatcher::create(**db, config.sinks, metrics.get());
  if (!sinks) {
    std::fprintf(stderr, "sentrail run: %s\n", sinks.message().c_str());
    return 2;
  }
  sink_feed feed(**sinks);
  engine.add_observer(feed);
  (*sinks)->start();
  // Incidents are grouped whether or not the API is on, so turning it on later shows them.
  triage::incident_grouper incidents(**db, {config.api.incident_span});
  engine.add_observer(incidents);
  triage::service triage_service(**db, metrics.get());
  std::unique_ptr<triage::http_api> api;
  if (config.api.port > 0) {
    if (config.api.tokens_file.empty()) {
      std::fprintf(stderr, "sentrail run: the triage API needs api.tokens_file (or --api-tokens): "
                           "without tokens nobody could use it\n");
      return 2;
    }
    auto tokens = triage::token_book::load(config.api.tokens_file);
    if (!tokens) {
      std::fprintf(stderr, "sentrail run: %s\n", tokens.message().c_str());
      return 2;
    }
    auto started = triage::http_api::start(config.api, triage_service, std::move(tokens).value());
    if (!started) {
      std::fprintf(stderr, "sentrail run: %s\n", started.message().c_str());
      return 2;
    }
    api = std::move(started).value();
    std::fprintf(stderr, "sentrail run: triage API and console on %s://%s:%d/\n", api->scheme().c_str(),
                 config.api.bind.c_str(), api->port());
  }
  std::fprintf(stderr, "sentrail run: reading %zu channel topics from %s as group %s\n",
               channels->all().size(), config.worker.brokers.c_str(), config.worker.group.c_str());
  status s = engine.run(run_stop);
  (*sinks)->stop();  // what is still queued is delivered by the next run
  if (api) api->stop();
  if (!s) {
    std::fprintf(stderr, "sentrail run: %s\n", s.message().c_str());
    return 1;
  }
  const auto& c = engine.counts();
  std::fprintf(stderr, "sentrail run: stopped after %llu events, %llu alerts, %llu dead letters, %llu late",
               static_cast<unsigned long long>(c.pipeline.events),
               static_cast<unsigned long long>(c.alerts_raised - c.duplicate_alerts),
               static_cast<unsigned long long>(c.pipeline.rejected), static_cast<unsigned long long>(c.pipeline.late));
  // The run's summary must not hide input it never saw (each loss was also reported when found).
  if (c.input_records_lost)
    std::fprintf(stderr, ", %llu input records never read (retention passed the engine)",
                 static_cast<unsigned long long>(c.input_records_lost));
  std::fprintf(stderr, "\n");
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, command_result& out) {
  auto f = std::make_shared<run_flags>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run the streaming engine: consume the channel topics as a consumer group, decode,\n"
      "minimise and match every event, and emit alerts to the alerts topic and stdout.\n"
      "Bad input goes to the dead-letter topic with its reason. Flags override --config.");
  cmd->add_option("--config", f->config_file, "YAML configuration file (docs/configuration.md)")->check(CLI::ExistingFile);
  cmd->add_option("--brokers", f->brokers, "Kafka bootstrap servers, HOST:PORT[,HOST:PORT]");
  cmd->add_option("--rules", f->rules, "Sigma rule file or folder");
  cmd->add_option("--state", f->state, "State directory (RocksDB; created if missing)");
  cmd->add_option("--group", f->group, "Consumer group id (default: sentrail)");
  cmd->add_option("--mappings", f->mappings, "Folder of extra channel mappings (*.yaml)");
  cmd->add_option("--metrics-port", f->metrics_port, "Prometheus /metrics port; 0 turns it off (default: 9464)");
  cmd->add_option("--api-port", f->api_port, "Triage API and console port; 0 turns it off (default: 0)");
  cmd->add_option("--api-tokens", f->api_tokens, "Tokens file of the triage API (docs/triage-api.md)");
  cmd->add_option("--output", f->output, "Alerts on stdout: json, text or none (default: json)")
      ->check(CLI::IsMember({"json", "text", "none"}));
  cmd->add_option("--status-interval", f->status_interval, "Print a status line to stderr every N seconds");
  cmd->add_flag("--colour", f->colour, "Colour text alerts by level");
  cmd->callback([f, &out] { out.exit_code = run_engine(*f); });
}

}  // namespace sentrail::app
