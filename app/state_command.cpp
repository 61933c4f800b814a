// `sentrail state inspect`: what the engine holds for a rule or an entity —
// window contents, counters, first-seen sets, suppression, buffered events.

#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "common/json_writer.h"
#include "correlate/buffer_record.h"
#include "correlate/codec.h"
#include "correlate/evidence_key.h"
#include "correlate/op.h"
#include "store/store.h"

namespace sentrail::app {
namespace {

struct inspect_flags {
  std::string state, rule, entity;
  bool all = false;
};

int inspect(const inspect_flags& f) {
  auto db = store::durable_store::open_read_only(f.state);
  if (!db) {
    std::fprintf(stderr, "sentrail state inspect: %s\n", db.message().c_str());
    return 2;
  }
  // Expired entries are shown too unless the engine's watermark says otherwise.
  std::int64_t now = INT64_MIN;
  if (auto wm = (*db)->state_value("w", INT64_MIN)) {
    correlate::decoder_view d(*wm);
    now = d.i64();
  }
  std::size_t shown = 0, buffered = 0, timers = 0;
  // Waiting for the watermark: evidence newer than it (and reorder entries of earlier versions).
  std::string after_watermark(correlate::evidence_state_prefix);
  if (now != INT64_MIN) correlate::append_ordered_time(after_watermark, now + 1);
  (*db)->for_each_state(correlate::evidence_state_prefix, now, [&](std::string_view, std::string_view) { ++buffered; }, after_watermark);
  (*db)->for_each_state("r/", now, [&](std::string_view, std::string_view) { ++buffered; });
  // With evidence by reference, the buffer is kept as one record per batch.
  (*db)->for_each_state("b/", now, [&](std::string_view, std::string_view record) {
    correlate::for_each_buffered(record, [&](std::string_view key, std::string_view) {
      if (now == INT64_MIN || (key.size() >= 8 && correlate::evidence_time(key) > now)) ++buffered;
    });
  });
  (*db)->for_each_state("t/", now, [&](std::string_view, std::string_view) { ++timers; });
  for (const char* space : {"c/", "s/"}) {
    std::string prefix = std::string(space) + f.rule;
    (*db)->for_each_state(prefix, now, [&](std::string_view key, std::string_view value) {
      std::string_view rest = key.substr(2);
      auto sep = rest.find('\x1e');
      if (sep == std::string_view::npos) return;
      std::string_view rule = rest.substr(0, sep), group = rest.substr(sep + 1);
      if (!f.rule.empty() && rule != f.rule) return;
      if (!f.entity.empty() && group.find(f.entity) == std::string_view::npos) return;
      std::string out;
      json_writer w(out);
      w.begin_object();
      w.key("rule").value(rule);
      w.key("group").begin_array();
      std::string_view g = group;
      while (true) {
        auto s = g.find('\x1f');
        w.value(g.substr(0, s));
        if (s == std::string_view::npos) break;
        g.remove_prefix(s + 1);
      }
      w.end_array();
      if (space[0] == 'c') {
        w.key("state").raw(correlate::describe_state(
            key, [&](std::string_view k) { return (*db)->state_value(k, now); }));
      } else {
        correlate::decoder_view d(value);
        w.key("suppressed_since").value(format_rfc3339(d.i64()));
      }
      w.end_object();
      std::printf("%s\n", out.c_str());
      ++shown;
    });
  }
  std::fprintf(stderr, "%zu entries; watermark %s; %zu events waiting for the watermark; %zu timers; %zu alerts stored\n",
               shown, now == INT64_MIN ? "-" : format_rfc3339(now).c_str(), buffered, timers, (*db)->alert_count());
  return 0;
}

}  // namespace

void add_state_command(CLI::App& app, command_result& out) {
  CLI::App* state = app.add_subcommand("state", "Look into the engine's durable state");
  state->require_subcommand(1);
  auto f = std::make_shared<inspect_flags>();
  CLI::App* cmd = state->add_subcommand(
      "inspect",
      "Print, as JSON lines, what the engine holds per rule and group: window contents,\n"
      "counters, first-seen values, suppression. Safe beside a running engine (read-only).");
  cmd->add_option("--state", f->state, "State directory of `sentrail run`")->required();
  cmd->add_option("--rule", f->rule, "Only this rule id");
  cmd->add_option("--entity", f->entity, "Only groups containing this value (an IP, employee id...)");
  cmd->callback([f, &out] { out.exit_code = inspect(*f); });
}

}  // namespace sentrail::app
