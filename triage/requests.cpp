#include "triage/requests.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sentrail::triage {
namespace {

refused bad(std::string message) { return {refusal::bad_input, std::move(message)}; }

// Values of a repeatable parameter, each also split on commas.
void split_into(std::vector<std::string>& out, std::string_view value) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view part = value.substr(0, comma);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

std::optional<std::size_t> parse_limit(std::string_view text) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 500) return std::nullopt;
  return n;
}

// `limit` and `cursor`, which every listing takes: true when `key` is one of
// them, with `why` set when its value is refused.
bool paging_param(const std::string& key, const std::string& value, std::size_t& limit, std::string& cursor,
                  std::string& why) {
  if (key == "cursor") {
    cursor = value;
    return true;
  }
  if (key != "limit") return false;
  if (auto n = parse_limit(value))
    limit = *n;
  else
    why = "limit must be a whole number from 1 to 500";
  return true;
}

// UTF-8 code points, for limits stated in characters.
std::size_t characters(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::optional<timestamp_ns> parse_time_param(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool digits = text.find_first_not_of("0123456789") == std::string_view::npos ||
                (text[0] == '-' && text.size() > 1 && text.find_first_not_of("0123456789", 1) == std::string_view::npos);
  if (digits) {
    std::int64_t ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    if (ms > INT64_MAX / 1'000'000 || ms < INT64_MIN / 1'000'000) return std::nullopt;
    return ms * 1'000'000;
  }
  return parse_rfc3339(text);
}

outcome<alert_filter> parse_alert_query(const query_params& params) {
  alert_filter f;
  for (const auto& [key, value] : params) {
    if (key == "status") {
      split_into(f.statuses, value);
      for (const auto& s : f.statuses)
        if (std::find(std::begin(alert_statuses), std::end(alert_statuses), s) == std::end(alert_statuses))
          return bad("unknown status '" + s + "' (expected new, acknowledged or closed)");
    } else if (key == "level") {
      if (std::find(std::begin(levels), std::end(levels), value) == std::end(levels))
        return bad("unknown level '" + value + "' (expected critical, high, medium, low or informational)");
      f.level = value;
    } else if (key == "rule") {
      f.rule = value;
    } else if (key == "channel") {
      f.channel = value;
    } else if (key == "assignee") {
      if (!valid_assignee(value)) return bad("assignee must be 1 to 64 of A-Z a-z 0-9 . _ @ - (or none)");
      f.assignee = value;
    } else if (key == "entity") {
      f.entity = value;
    } else if (key == "q") {
      f.text = value;
    } else if (key == "from" || key == "to") {
      auto t = parse_time_param(value);
      if (!t) return bad(key + " must be an RFC 3339 time or epoch milliseconds, not '" + value + "'");
      (key == "from" ? f.from : f.to) = *t;
    } else if (std::string why; paging_param(key, value, f.limit, f.cursor, why)) {
      if (!why.empty()) return bad(why);
    } else {
      return bad("unknown query parameter '" + key + "'");
    }
  }
  if (f.from > f.to) return bad("from is after to");
  return f;
}

outcome<incident_filter> parse_incident_query(const query_params& params) {
  incident_filter f;
  for (const auto& [key, value] : params) {
    if (key == "status") {
      split_into(f.statuses, value);
      for (const auto& s : f.statuses)
        if (std::find(std::begin(incident_statuses), std::end(incident_statuses), s) == std::end(incident_statuses))
          return bad("unknown incident status '" + s + "' (expected open, acknowledged or closed)");
    } else if (std::string why; paging_param(key, value, f.limit, f.cursor, why)) {
      if (!why.empty()) return bad(why);
    } else {
      return bad("unknown query parameter '" + key + "'");
    }
  }
  return f;
}

outcome<audit_query> parse_audit_query(const query_params& params) {
  audit_query q;
  for (const auto& [key, value] : params) {
    if (key == "object") {
      q.object = value;
    } else if (std::string why; paging_param(key, value, q.limit, q.cursor, why)) {
      if (!why.empty()) return bad(why);
    } else {
      return bad("unknown query parameter '" + key + "'");
    }
  }
  return q;
}

bool valid_assignee(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '@' && c != '-') return false;
  return true;
}

outcome<action> parse_action(action_kind kind, std::string_view body) {
  action a;
  a.kind = kind;
  // Which fields this action takes; anything else is refused, so a typo is not silently ignored.
  std::vector<std::string_view> allowed;
  switch (kind) {
    case action_kind::acknowledge:
    case action_kind::reopen: allowed = {"note"}; break;
    case action_kind::assign: allowed = {"assignee", "note"}; break;
    case action_kind::close: allowed = {"verdict", "note"}; break;
    case action_kind::note: allowed = {"text"}; break;
  }
  bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (!blank) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body.data(), body.size()).get(doc)) return bad("the body is not valid JSON");
    simdjson::dom::object o;
    if (doc.get_object().get(o)) return bad("the body must be a JSON object");
    for (auto [key, value] : o) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
        return bad("unknown field '" + std::string(key) + "' (this action takes " + list + ")");
      }
      std::string_view text;
      if (value.is_null()) continue;
      if (value.get_string().get(text)) return bad("'" + std::string(key) + "' must be a string");
      if (key == "note" || key == "text") a.note = text;
      if (key == "assignee") a.assignee = text;
      if (key == "verdict") a.verdict = text;
    }
  }
  if (characters(a.note) > max_note_chars) return bad("a note may have at most 4000 characters");
  switch (kind) {
    case action_kind::assign:
      if (!valid_assignee(a.assignee)) return bad("assignee must be 1 to 64 of A-Z a-z 0-9 . _ @ -");
      break;
    case action_kind::close:
      if (a.verdict.empty()) return bad("close needs a verdict: true_positive, false_positive or benign");
      if (std::find(std::begin(verdicts), std::end(verdicts), a.verdict) == std::end(verdicts))
        return bad("unknown verdict '" + a.verdict + "' (expected true_positive, false_positive or benign)");
      break;
    case action_kind::note:
      if (a.note.empty()) return bad("a note needs text (1 to 4000 characters)");
      break;
    default: break;
  }
  return a;
}

}  // namespace sentrail::triage
