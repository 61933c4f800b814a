// `sentrail sinks failed`: the alert deliveries a sink gave up on (dead letters),
// read from a state directory without disturbing a running engine.

#include <cstdio>
#include <memory>
#include <string>

#include "alert/delivery_queue.h"
#include "app/commands.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "store/store.h"

namespace sentrail::app {
namespace {

struct failed_flags {
  std::string state, sink;
  bool payload = false;
};

int list_failed(const failed_flags& f) {
  auto db = store::durable_store::open_read_only(f.state);
  if (!db) {
    std::fprintf(stderr, "sentrail sinks failed: %s\n", db.message().c_str());
    return 2;
  }
  auto failures = alert::list_failures(**db, f.sink);
  for (const auto& d : failures) {
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("sink").value(d.sink);
    w.key("alert_id").value(d.alert_id);
    w.key("sequence").value(static_cast<std::int64_t>(d.sequence));
    w.key("attempts").value(static_cast<std::int64_t>(d.attempts));
    w.key("failed_at").value(format_rfc3339(d.failed_at));
    w.key("last_error").value(d.last_error);
    if (f.payload) w.key("payload").value(d.payload);
    w.end_object();
    std::fprintf(stdout, "%s\n", out.c_str());
  }
  std::string pending;
  for (const auto& [sink, n] : alert::pending_counts(**db))
    if (f.sink.empty() || sink == f.sink) pending += " " + sink + "=" + std::to_string(n);
  std::fprintf(stderr, "%zu dead-lettered deliveries; still queued:%s\n", failures.size(),
               pending.empty() ? " none" : pending.c_str());
  return 0;
}

}  // namespace

void add_sinks_command(CLI::App& app, command_result& out) {
  CLI::App* sinks = app.add_subcommand("sinks", "Alert delivery sinks (webhook, Alertmanager, JSON lines): docs/sinks.md");
  sinks->require_subcommand(1);
  auto f = std::make_shared<failed_flags>();
  CLI::App* failed = sinks->add_subcommand(
      "failed",
      "List the deliveries the sinks gave up on (after max_attempts, or at once when the\n"
      "receiver refused them with a 4xx), one JSON line each: sink, alert id, attempts,\n"
      "when and the last error. Reads the state directory read-only, also beside a running\n"
      "engine; a count and the deliveries still queued per sink go to stderr.");
  failed->add_option("--state", f->state, "State directory of the engine")->required();
  failed->add_option("--sink", f->sink, "Only this sink's deliveries");
  failed->add_flag("--payload", f->payload, "Include what would have been delivered");
  failed->callback([f, &out] { out.exit_code = list_failed(*f); });
}

}  // namespace sentrail::app
