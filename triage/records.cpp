#include "triage/records.h"

#include <simdjson.h>

#include "common/json_writer.h"

namespace sentrail::triage::records {
namespace {

std::string_view string_or_empty(simdjson::dom::element e) {
  std::string_view s;
  if (e.get_string().get(s)) return {};
  return s;
}

std::string_view field(simdjson::dom::object o, std::string_view key) {
  simdjson::dom::element e;
  if (o.at_key(key).get(e)) return {};
  return string_or_empty(e);
}

std::int64_t number(simdjson::dom::object o, std::string_view key) {
  std::int64_t n = 0;
  if (o.at_key(key).get_int64().get(n)) return 0;
  return n;
}

void nullable(json_writer& w, std::string_view key, std::string_view value) {
  w.key(key);
  if (value.empty())
    w.null();
  else
    w.value(value);
}

}  // namespace

std::string encode(const alert_state& s) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("status").value(s.status);
  nullable(w, "verdict", s.verdict);
  nullable(w, "assignee", s.assignee);
  w.key("notes").begin_array();
  for (const auto& n : s.notes) {
    w.begin_object();
    w.key("author").value(n.author);
    w.key("time").value(static_cast<std::int64_t>(n.time));
    w.key("text").value(n.text);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

std::optional<alert_state> decode_alert_state(simdjson::dom::parser& p, std::string_view json) {
  simdjson::dom::object o;
  if (p.parse(json.data(), json.size()).get_object().get(o)) return std::nullopt;
  alert_state s;
  s.status = field(o, "status");
  s.verdict = field(o, "verdict");
  s.assignee = field(o, "assignee");
  simdjson::dom::array notes;
  if (!o.at_key("notes").get_array().get(notes)) {
    for (simdjson::dom::element e : notes) {
      simdjson::dom::object n;
      if (e.get_object().get(n)) continue;
      s.notes.push_back({std::string(field(n, "author")), number(n, "time"), std::string(field(n, "text"))});
    }
  }
  if (s.status.empty()) s.status = "new";
  return s;
}

std::string encode(const membership& m) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("entity").value(m.entity);
  w.key("first_seen").value(static_cast<std::int64_t>(m.first_seen));
  w.key("last_seen").value(static_cast<std::int64_t>(m.last_seen));
  w.key("alerts").begin_array();
  for (const auto& id : m.alerts) w.value(id);
  w.end_array();
  w.end_object();
  return out;
}

std::optional<membership> decode_membership(simdjson::dom::parser& p, std::string_view json) {
  simdjson::dom::object o;
  if (p.parse(json.data(), json.size()).get_object().get(o)) return std::nullopt;
  membership m;
  m.entity = field(o, "entity");
  m.first_seen = number(o, "first_seen");
  m.last_seen = number(o, "last_seen");
  simdjson::dom::array alerts;
  if (!o.at_key("alerts").get_array().get(alerts))
    for (simdjson::dom::element e : alerts) m.alerts.emplace_back(string_or_empty(e));
  return m;
}

std::string encode(const incident_state& s) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("status").value(s.status);
  nullable(w, "verdict", s.verdict);
  nullable(w, "assignee", s.assignee);
  w.end_object();
  return out;
}

std::optional<incident_state> decode_incident_state(simdjson::dom::parser& p, std::string_view json) {
  simdjson::dom::object o;
  if (p.parse(json.data(), json.size()).get_object().get(o)) return std::nullopt;
  incident_state s;
  s.status = field(o, "status");
  s.verdict = field(o, "verdict");
  s.assignee = field(o, "assignee");
  if (s.status.empty()) s.status = "open";
  return s;
}

void append_ordered(std::string& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xFF));
}

std::int64_t read_ordered(std::string_view bytes) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i) u = (u << 8) | static_cast<unsigned char>(bytes[i]);
  return static_cast<std::int64_t>(u ^ (std::uint64_t{1} << 63));
}

std::string membership_key(std::string_view id) { return "i/" + std::string(id); }
std::string incident_state_key(std::string_view id) { return "s/" + std::string(id); }
std::string entity_key(std::string_view value) { return "e/" + std::string(value); }
std::string alert_incident_key(std::string_view alert_id) { return "a/" + std::string(alert_id); }
std::string incident_time_key(timestamp_ns last_seen, std::string_view id) {
  std::string k(incident_time_prefix);
  append_ordered(k, last_seen);
  k.append(id);
  return k;
}

std::string audit_key(timestamp_ns time, std::uint64_t sequence) {
  std::string k(audit_time_prefix);
  append_ordered(k, time);
  append_ordered(k, static_cast<std::int64_t>(sequence));
  return k;
}

std::string audit_object_prefix(std::string_view object_id) {
  std::string k = "o" + std::string(object_id);
  k.push_back('\0');
  return k;
}

std::string audit_object_key(std::string_view object_id, timestamp_ns time, std::uint64_t sequence) {
  std::string k = audit_object_prefix(object_id);
  append_ordered(k, time);
  append_ordered(k, static_cast<std::int64_t>(sequence));
  return k;
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = digit(text[i]), lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace sentrail::triage::records
