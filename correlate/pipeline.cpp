#include "correlate/pipeline.h"

#include <chrono>

namespace sentrail::correlate {

namespace {

// The fields that name "who" in an alert line, most specific first.
constexpr std::string_view entity_fields[] = {
    "user.name",          "user.id",         "retail.employee.id", "retail.supplier.id",
    "retail.badge.id",    "device.id",       "retail.card.token",  "source.ip",
    "retail.door.id",
    "retail.register.id", "retail.store.id",
};

}  // namespace

timestamp_ns wall_clock_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

pipeline::pipeline(const ingest::channel_catalog& channels, const rules::rule_set& rules,
                   const ingest::minimiser& privacy, ingest::decoder_options options)
    : channels_(channels), rules_(&rules), decoder_(privacy, options), now_(wall_clock_now) {}

void pipeline::process(std::string_view raw, const ingest::channel_mapping& channel,
                       const ingest::source_position& from, alert_sink& alerts,
                       rejection_sink& rejections) {
  if (auto why = decoder_.decode(raw, channel, from, event_)) {
    ++counts_.rejected;
    ++counts_.rejected_by_reason[static_cast<std::size_t>(why->reason)];
    rejections.reject(*why, raw, channel.name, from);
    return;
  }
  ++counts_.events;
  for (const rules::detection_rule* rule : rules_->for_channel(channel.name)) {
    if (!rule->matches(event_)) continue;
    ++counts_.matches;
    alert a = detection_alert(*rule, event_);
    ++counts_.alerts;
    alerts.emit(a);
  }
  if (observer_) observer_(event_);
}

alert pipeline::detection_alert(const rules::detection_rule& rule, const ingest::event& e) const {
  const rules::rule_info& info = rule.info();
  alert a;
  a.rule_id = info.id.empty() ? info.title : info.id;
  a.rule_title = info.title;
  a.level = info.level;
  a.tags = info.tags;
  a.type = "detection";
  for (std::string_view name : entity_fields) {
    const ingest::field_value* v = e.get(name);
    // "-" is how logs say "nobody"; it names no entity.
    if (v && !v->text.empty() && v->text != "-") {
      a.group.emplace_back(name, v->text);
      break;
    }
  }
  a.first_seen = a.last_seen = e.time;
  a.emitted_at = now_();
  a.count = 1;
  a.events.push_back(evidence::of(e));
  // Identity of a single-event alert: the rule and the minimised event itself,
  // so the same input replayed from Kafka or from a file gives the same id.
  std::string fingerprint;
  fingerprint.reserve(512);
  for (const auto& f : e.fields()) {
    fingerprint.append(f.name).push_back('\x1f');
    fingerprint.append(f.value.text).push_back('\x1e');
  }
  a.id = stable_id({a.rule_id, e.channel, std::to_string(e.time), fingerprint});
  return a;
}

}  // namespace sentrail::correlate
