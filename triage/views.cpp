#include "triage/views.h"

#include "common/json_writer.h"

namespace sentrail::triage {
namespace {

void nullable(json_writer& w, std::string_view key, std::string_view value) {
  w.key(key);
  value.empty() ? w.null() : w.value(value);
}

void write_money(json_writer& w, const std::optional<money_range>& m) {
  w.key("loss_exposure");
  if (!m) {
    w.null();
    return;
  }
  w.begin_object();
  w.key("low").value(m->low);
  w.key("high").value(m->high);
  w.key("currency").value(m->currency);
  w.end_object();
}

void write_summary(json_writer& w, const alert_summary& a) {
  w.begin_object();
  w.key("id").value(a.id);
  w.key("rule_id").value(a.rule_id);
  w.key("rule_title").value(a.rule_title);
  w.key("level").value(a.level);
  w.key("type").value(a.type);
  w.key("entity").value(a.entity);
  w.key("group").begin_object();
  for (const auto& [k, v] : a.group) w.key(k).value(v);
  w.end_object();
  w.key("channels").begin_array();
  for (const auto& c : a.channels) w.value(c);
  w.end_array();
  w.key("first_seen").value(format_rfc3339(a.first_seen));
  w.key("last_seen").value(format_rfc3339(a.last_seen));
  w.key("count").value(a.count);
  write_money(w, a.loss_exposure);
  w.key("status").value(a.status);
  nullable(w, "verdict", a.verdict);
  nullable(w, "assignee", a.assignee);
  nullable(w, "incident_id", a.incident_id);
  w.end_object();
}

void write_incident(json_writer& w, const incident_summary& i) {
  w.begin_object();
  w.key("id").value(i.id);
  w.key("entity").value(i.entity);
  w.key("status").value(i.status);
  nullable(w, "assignee", i.assignee);
  nullable(w, "verdict", i.verdict);
  w.key("first_seen").value(format_rfc3339(i.first_seen));
  w.key("last_seen").value(format_rfc3339(i.last_seen));
  w.key("alert_count").value(static_cast<std::int64_t>(i.alert_ids.size()));
  w.key("levels").begin_object();
  for (const auto& [level, n] : i.levels) w.key(level).value(n);
  w.end_object();
  w.key("rules").begin_array();
  for (const auto& r : i.rules) w.value(r);
  w.end_array();
  w.key("channels").begin_array();
  for (const auto& c : i.channels) w.value(c);
  w.end_array();
  write_money(w, i.loss_exposure);
  w.end_object();
}

void write_cursor(json_writer& w, const std::string& cursor) {
  w.key("next_cursor");
  cursor.empty() ? w.null() : w.value(cursor);
}

void write_entries(json_writer& w, std::string_view key, const std::vector<std::string>& entries) {
  w.key(key).begin_array();
  for (const auto& e : entries) w.raw(e);
  w.end_array();
}

}  // namespace

std::string to_json(const alert_summary& a) {
  std::string out;
  json_writer w(out);
  write_summary(w, a);
  return out;
}

std::string to_json(const alert_page& p) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("alerts").begin_array();
  for (const auto& a : p.alerts) write_summary(w, a);
  w.end_array();
  write_cursor(w, p.next_cursor);
  w.key("total").value(static_cast<std::int64_t>(p.total));
  w.key("counts").begin_object();
  w.key("status").begin_object();
  for (auto s : alert_statuses) w.key(s).value(static_cast<std::int64_t>(p.status_counts.count(std::string(s)) ? p.status_counts.at(std::string(s)) : 0));
  w.end_object();
  w.key("level").begin_object();
  for (auto l : levels) w.key(l).value(static_cast<std::int64_t>(p.level_counts.count(std::string(l)) ? p.level_counts.at(std::string(l)) : 0));
  w.end_object();
  w.end_object();
  w.end_object();
  return out;
}

std::string to_json(const alert_detail& d) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("alert");
  write_summary(w, d.summary);
  w.key("detail").raw(d.stored_json);
  w.key("evidence").begin_array();
  for (const auto& e : d.evidence) {
    w.begin_object();
    w.key("channel").value(e.channel);
    w.key("topic").value(e.topic);
    w.key("partition").value(e.partition);
    w.key("offset").value(e.offset);
    w.key("time").value(format_rfc3339(e.time));
    w.key("fields").raw(e.fields_json);
    w.end_object();
  }
  w.end_array();
  w.key("notes").begin_array();
  for (const auto& n : d.summary.notes) {
    w.begin_object();
    w.key("author").value(n.author);
    w.key("time").value(format_rfc3339(n.time));
    w.key("text").value(n.text);
    w.end_object();
  }
  w.end_array();
  write_entries(w, "history", d.history);
  w.end_object();
  return out;
}

std::string to_json(const incident_summary& i) {
  std::string out;
  json_writer w(out);
  write_incident(w, i);
  return out;
}

std::string to_json(const incident_page& p) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("incidents").begin_array();
  for (const auto& i : p.incidents) write_incident(w, i);
  w.end_array();
  write_cursor(w, p.next_cursor);
  w.key("total").value(static_cast<std::int64_t>(p.total));
  w.key("counts").begin_object();
  w.key("status").begin_object();
  for (const char* status : {"open", "acknowledged", "closed"}) {
    auto it = p.status_counts.find(status);
    w.key(status).value(static_cast<std::int64_t>(it == p.status_counts.end() ? 0 : it->second));
  }
  w.end_object();
  w.end_object();
  w.end_object();
  return out;
}

std::string to_json(const incident_detail& d) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("incident");
  write_incident(w, d.summary);
  w.key("alerts").begin_array();
  for (const auto& a : d.alerts) write_summary(w, a);
  w.end_array();
  write_entries(w, "history", d.history);
  w.end_object();
  return out;
}

std::string to_json(const audit_page& p) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  write_entries(w, "entries", p.entries);
  write_cursor(w, p.next_cursor);
  w.end_object();
  return out;
}

std::string to_json(const std::vector<rule_stats>& rules) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("rules").begin_array();
  for (const auto& r : rules) {
    w.begin_object();
    w.key("rule_id").value(r.rule_id);
    w.key("alerts").value(r.alerts);
    w.key("open").value(r.open);
    w.key("true_positive").value(r.true_positive);
    w.key("false_positive").value(r.false_positive);
    w.key("benign").value(r.benign);
    w.key("precision");
    if (auto p = r.precision())
      w.value(*p);
    else
      w.null();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

std::string error_json(std::string_view message) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("error").value(message);
  w.end_object();
  return out;
}

}  // namespace sentrail::triage
