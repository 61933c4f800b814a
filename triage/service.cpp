#include "triage/service.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>

#include "common/json_writer.h"
#include "metrics/metrics.h"
#include "triage/records.h"

namespace sentrail::triage {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

std::string_view str(object o, std::string_view key) {
  std::string_view s;
  if (o.at_key(key).get_string().get(s)) return {};
  return s;
}

timestamp_ns time_of(object o, std::string_view key) {
  return parse_rfc3339(str(o, key)).value_or(0);
}

// The alert as raised, summarised (triage fields still at their defaults).
std::optional<alert_summary> summarise(simdjson::dom::parser& p, std::string_view json) {
  object o;
  if (p.parse(json.data(), json.size()).get_object().get(o)) return std::nullopt;
  alert_summary s;
  s.id = str(o, "id");
  object rule;
  if (!o.at_key("rule").get_object().get(rule)) {
    s.rule_id = str(rule, "id");
    s.rule_title = str(rule, "title");
    s.level = str(rule, "level");
  }
  s.type = str(o, "type");
  object group;
  if (!o.at_key("group").get_object().get(group))
    for (auto [k, v] : group) {
      std::string_view value;
      if (!v.get_string().get(value)) s.group.emplace_back(std::string(k), std::string(value));
    }
  if (!s.group.empty()) s.entity = s.group.front().first + "=" + s.group.front().second;
  s.first_seen = time_of(o, "first_seen");
  s.last_seen = time_of(o, "last_seen");
  if (o.at_key("count").get_int64().get(s.count)) s.count = 0;
  simdjson::dom::array events;
  if (!o.at_key("events").get_array().get(events))
    for (element e : events) {
      object ev;
      if (e.get_object().get(ev)) continue;
      std::string channel(str(ev, "channel"));
      if (std::find(s.channels.begin(), s.channels.end(), channel) == s.channels.end())
        s.channels.push_back(std::move(channel));
    }
  object loss;
  if (!o.at_key("loss_exposure").get_object().get(loss)) {
    money_range m;
    if (loss.at_key("low").get_double().get(m.low)) m.low = 0;
    if (loss.at_key("high").get_double().get(m.high)) m.high = 0;
    m.currency = str(loss, "currency");
    s.loss_exposure = m;
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains_folded(std::string_view haystack, std::string_view folded_needle) {
  return lower(haystack).find(folded_needle) != std::string::npos;
}

// The cursor after an alert: its place in newest-first order.
std::string alert_cursor(const alert_summary& a) {
  std::string k;
  records::append_ordered(k, a.last_seen);
  k += a.id;
  return records::hex(k);
}

// Newest last_seen first; ties by id, descending, so the order is total.
bool newer(const alert_summary& a, const alert_summary& b) {
  if (a.last_seen != b.last_seen) return a.last_seen > b.last_seen;
  return a.id > b.id;
}

void write_state(json_writer& w, std::string_view status, std::string_view verdict, std::string_view assignee) {
  w.begin_object();
  w.key("status").value(status);
  w.key("verdict");
  verdict.empty() ? w.null() : w.value(verdict);
  w.key("assignee");
  assignee.empty() ? w.null() : w.value(assignee);
  w.end_object();
}

struct recorded_state {
  std::string_view status, verdict, assignee;
};

std::string audit_json(timestamp_ns time, const actor& who, std::string_view action, std::string_view object_type,
                       std::string_view object_id, recorded_state before, recorded_state after, std::string_view note) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("time").value(format_rfc3339(time));
  w.key("actor").value(who.name);
  w.key("role").value(role_name(who.level));
  w.key("action").value(action);
  w.key("object_type").value(object_type);
  w.key("object_id").value(object_id);
  w.key("before");
  write_state(w, before.status, before.verdict, before.assignee);
  w.key("after");
  write_state(w, after.status, after.verdict, after.assignee);
  w.key("note");
  note.empty() ? w.null() : w.value(note);
  w.end_object();
  return out;
}

template <class T>
bool one_of(std::string_view value, const T& set) {
  return std::find(std::begin(set), std::end(set), value) != std::end(set);
}

// The alert store's loaders, with one parser for a whole request.
struct reader {
  explicit reader(const store::durable_store& d) : db(d) {}
  const store::durable_store& db;
  simdjson::dom::parser parser;

  std::optional<alert_summary> summary(std::string_view id, std::string* stored = nullptr) {
    auto json = db.alert_json(id);
    if (!json) return std::nullopt;
    auto s = summarise(parser, *json);
    if (!s) return std::nullopt;
    if (auto t = db.get(store::table::triage, id)) {
      if (auto state = records::decode_alert_state(parser, *t)) {
        s->status = state->status;
        s->verdict = state->verdict;
        s->assignee = state->assignee;
        s->notes = std::move(state->notes);
      }
    }
    if (auto inc = db.get(store::table::incidents, records::alert_incident_key(id))) s->incident_id = *inc;
    if (stored) *stored = std::move(*json);
    return s;
  }

  std::optional<incident_summary> incident(std::string_view id, std::vector<alert_summary>* alerts = nullptr) {
    auto stored = db.get(store::table::incidents, records::membership_key(id));
    if (!stored) return std::nullopt;
    auto m = records::decode_membership(parser, *stored);
    if (!m) return std::nullopt;
    incident_summary s;
    s.id = id;
    s.entity = m->entity;
    s.first_seen = m->first_seen;
    s.last_seen = m->last_seen;
    s.alert_ids = m->alerts;
    if (auto st = db.get(store::table::incidents, records::incident_state_key(id))) {
      if (auto state = records::decode_incident_state(parser, *st)) {
        s.status = state->status;
        s.verdict = state->verdict;
        s.assignee = state->assignee;
      }
    }
    for (const auto& alert_id : m->alerts) {
      auto a = summary(alert_id);
      if (!a) continue;
      ++s.levels[a->level];
      if (std::find(s.rules.begin(), s.rules.end(), a->rule_id) == s.rules.end()) s.rules.push_back(a->rule_id);
      for (const auto& c : a->channels)
        if (std::find(s.channels.begin(), s.channels.end(), c) == s.channels.end()) s.channels.push_back(c);
      // Ranges add up in one currency: the first alert's; others are left out rather than mixed.
      if (a->loss_exposure) {
        if (!s.loss_exposure) s.loss_exposure = money_range{0, 0, a->loss_exposure->currency};
        if (s.loss_exposure->currency == a->loss_exposure->currency) {
          s.loss_exposure->low += a->loss_exposure->low;
          s.loss_exposure->high += a->loss_exposure->high;
        }
      }
      if (alerts) alerts->push_back(std::move(*a));
    }
    return s;
  }

  std::vector<std::string> history(std::string_view object_id) {
    std::vector<std::string> out;
    db.scan(store::table::audit, records::audit_object_prefix(object_id), false,
            [&](std::string_view, std::string_view v) {
              out.emplace_back(v);
              return true;
            });
    return out;
  }
};

refused not_found(std::string_view what, std::string_view id) {
  return {refusal::not_found, "no " + std::string(what) + " with id '" + std::string(id) + "'"};
}

}  // namespace

std::string_view action_name(action_kind k) {
  switch (k) {
    case action_kind::acknowledge: return "acknowledge";
    case action_kind::assign: return "assign";
    case action_kind::close: return "close";
    case action_kind::reopen: return "reopen";
    case action_kind::note: return "note";
  }
  return "note";
}

namespace {
// The queue's usual view, answered from the status index when that is cheaper
// than the scan; false: not this view, or not cheaper (the caller scans).
bool list_by_status_index(const store::durable_store& db, const alert_filter& f, std::string_view text, reader& r,
                          alert_page& page, std::vector<alert_summary>& matching) {
  // The queue's usual view: some statuses, perhaps a time range, nothing else.
  if (f.statuses.empty() || !f.level.empty() || !f.rule.empty() || !f.entity.empty() || !f.assignee.empty() ||
      !f.channel.empty() || !text.empty())
    return false;
  // The status index counts every tab without reading an alert. Then only the
  // selected statuses' alerts are read, by id: three point lookups each, which
  // pays against the scan only when they are a minority of the range (a long-run
  // queue is mostly closed alerts).
  using index = store::durable_store::alert_index;
  std::size_t selected = 0, all = 0;
  std::map<std::string, std::size_t> counted;
  for (auto s : alert_statuses) {
    auto n = db.count_alerts(index::status, s, f.from, f.to);
    counted[std::string(s)] = n;
    all += n;
    if (one_of(s, f.statuses)) selected += n;
  }
  if (selected * 3 > all) return false;
  page.status_counts = std::move(counted);
  constexpr auto every = std::numeric_limits<std::size_t>::max();
  for (const auto& s : std::set<std::string>(f.statuses.begin(), f.statuses.end())) {
    for (const auto& id : db.find_alerts(index::status, s, f.from, f.to, every)) {
      auto a = r.summary(id);
      if (!a) continue;
      ++page.level_counts[a->level];
      matching.push_back(std::move(*a));
    }
  }
  return true;
}
}  // namespace

service::service(store::durable_store& db, metrics::engine_metrics* metrics) : db_(db), metrics_(metrics) {}

outcome<alert_page> service::list_alerts(const alert_filter& f) const {
  for (const auto& s : f.statuses)
    if (!one_of(s, alert_statuses)) return refused{refusal::bad_input, "unknown status '" + s + "'"};
  if (f.limit < 1 || f.limit > 500) return refused{refusal::bad_input, "limit must be between 1 and 500"};
  std::string after;
  if (!f.cursor.empty()) {
    auto c = records::unhex(f.cursor);
    if (!c || c->size() < 8) return refused{refusal::bad_input, "cursor is not one this API gave out"};
    after = std::move(*c);
  }
  std::string text = lower(f.text);
  alert_page page;
  for (auto l : levels) page.level_counts[std::string(l)] = 0;
  for (auto s : alert_statuses) page.status_counts[std::string(s)] = 0;
  std::vector<alert_summary> matching;
  auto consider = [&](alert_summary&& a) {
    if (!f.rule.empty() && a.rule_id != f.rule) return;
    if (!f.assignee.empty() && a.assignee != (f.assignee == "none" ? "" : f.assignee)) return;
    if (a.last_seen < f.from || a.last_seen > f.to) return;
    if (!f.channel.empty() && std::find(a.channels.begin(), a.channels.end(), f.channel) == a.channels.end()) return;
    if (!f.entity.empty() &&
        std::none_of(a.group.begin(), a.group.end(), [&](const auto& g) { return g.second == f.entity; }))
      return;
    if (!text.empty()) {
      bool hit = contains_folded(a.rule_id, text) || contains_folded(a.rule_title, text) ||
                 std::any_of(a.group.begin(), a.group.end(),
                             [&](const auto& g) { return contains_folded(g.second, text); }) ||
                 std::any_of(a.notes.begin(), a.notes.end(),
                             [&](const note& n) { return contains_folded(n.text, text); });
      if (!hit) return;
    }
    bool level_ok = f.level.empty() || a.level == f.level;
    bool status_ok = f.statuses.empty() || one_of(a.status, f.statuses);
    if (level_ok) ++page.status_counts[a.status];
    if (status_ok) ++page.level_counts[a.level];
    if (level_ok && status_ok) matching.push_back(std::move(a));
  };

  reader r(db_);
  using index = store::durable_store::alert_index;
  if (!f.rule.empty() || !f.entity.empty()) {
    // A rule or an entity narrows the candidates through its index (both filters
    // apply to every count, so the counts stay right); then one lookup per alert.
    constexpr auto all = std::numeric_limits<std::size_t>::max();
    auto ids = !f.rule.empty() ? db_.find_alerts(index::rule, f.rule, f.from, f.to, all)
                               : db_.find_alerts(index::entity, f.entity, f.from, f.to, all);
    std::set<std::string_view> seen;
    for (const auto& id : ids) {
      if (!seen.insert(id).second) continue;  // an entity index lists an alert once per matching group value
      if (auto a = r.summary(id)) consider(std::move(*a));
    }
  } else if (!list_by_status_index(db_, f, text, r, page, matching)) {
    // The whole queue: sequential scans of the alerts, their triage records and
    // incident links cost a fraction of three point lookups per alert.
    std::unordered_map<std::string, records::alert_state> states;
    db_.scan(store::table::triage, {}, false, [&](std::string_view k, std::string_view v) {
      if (auto st = records::decode_alert_state(r.parser, v)) states.emplace(k, std::move(*st));
      return true;
    });
    std::unordered_map<std::string, std::string> incident_of;
    const std::string link_prefix = records::alert_incident_key("");
    db_.scan(store::table::incidents, link_prefix, false, [&](std::string_view k, std::string_view v) {
      incident_of.emplace(k.substr(link_prefix.size()), v);
      return true;
    });
    db_.for_each_alert([&](std::string_view id, std::string_view json) {
      auto a = summarise(r.parser, json);
      if (!a || a->last_seen < f.from || a->last_seen > f.to) return;
      if (auto st = states.find(std::string(id)); st != states.end()) {
        a->status = st->second.status;
        a->verdict = st->second.verdict;
        a->assignee = st->second.assignee;
        a->notes = std::move(st->second.notes);
      }
      if (auto inc = incident_of.find(std::string(id)); inc != incident_of.end()) a->incident_id = inc->second;
      consider(std::move(*a));
    });
  }
  page.total = matching.size();
  std::sort(matching.begin(), matching.end(), newer);
  auto start = matching.begin();
  if (!after.empty()) {
    timestamp_ns t = records::read_ordered(after);
    std::string_view id = std::string_view(after).substr(8);
    start = std::find_if(matching.begin(), matching.end(), [&](const alert_summary& a) {
      return a.last_seen < t || (a.last_seen == t && a.id < id);
    });
  }
  for (auto it = start; it != matching.end() && page.alerts.size() < f.limit; ++it) page.alerts.push_back(*it);
  if (!page.alerts.empty() && start + static_cast<std::ptrdiff_t>(page.alerts.size()) != matching.end())
    page.next_cursor = alert_cursor(page.alerts.back());
  return page;
}

outcome<alert_detail> service::alert(std::string_view id) const {
  reader r(db_);
  alert_detail d;
  auto s = r.summary(id, &d.stored_json);
  if (!s) return not_found("alert", id);
  d.summary = std::move(*s);
  object o;
  if (!r.parser.parse(d.stored_json).get_object().get(o)) {
    simdjson::dom::array events;
    if (!o.at_key("events").get_array().get(events))
      for (element e : events) {
        object ev;
        if (e.get_object().get(ev)) continue;
        evidence_event x;
        x.channel = str(ev, "channel");
        x.topic = str(ev, "topic");
        if (ev.at_key("partition").get_int64().get(x.partition)) x.partition = 0;
        if (ev.at_key("offset").get_int64().get(x.offset)) x.offset = 0;
        x.time = time_of(ev, "@timestamp");
        element fields;
        x.fields_json = ev.at_key("fields").get(fields) ? "{}" : simdjson::to_string(fields);
        d.evidence.push_back(std::move(x));
      }
  }
  std::stable_sort(d.evidence.begin(), d.evidence.end(),
                   [](const evidence_event& a, const evidence_event& b) { return a.time < b.time; });
  d.history = r.history(id);
  return d;
}

namespace {

// Checks an action against the current state and applies it; the caller writes.
outcome<bool> apply(action_kind kind, const action& what, std::string_view initial, std::string& status,
                    std::string& verdict, std::string& assignee, std::string_view noun) {
  const std::string was = status;
  auto conflict = [&](std::string_view need) {
    return refused{refusal::conflict, "the " + std::string(noun) + " is " + was + ": " + std::string(need)};
  };
  switch (kind) {
    case action_kind::acknowledge:
      if (status != initial) return conflict("only a " + std::string(initial) + " one can be acknowledged");
      status = "acknowledged";
      break;
    case action_kind::assign:
      if (status == "closed") return conflict("reopen it before assigning it");
      if (what.assignee.empty()) return refused{refusal::bad_input, "assign needs an assignee"};
      assignee = what.assignee;
      break;
    case action_kind::close:
      if (status == "closed") return conflict("it is closed already");
      if (!one_of(what.verdict, verdicts))
        return refused{refusal::bad_input, "close needs a verdict: true_positive, false_positive or benign"};
      status = "closed";
      verdict = what.verdict;
      break;
    case action_kind::reopen:
      if (status != "closed") return conflict("only a closed one can be reopened");
      status = "acknowledged";
      verdict.clear();  // the audit log keeps the old verdict
      break;
    case action_kind::note:
      if (what.note.empty()) return refused{refusal::bad_input, "a note needs text"};
      break;
  }
  return true;
}

// The writes of one action (or of an incident and the alerts it closes), applied together.
struct action_context {
  store::durable_store& db;
  std::vector<store::table_write>& writes;
  std::atomic<std::uint64_t>& sequence;
  timestamp_ns now;

  void audit(const actor& who, std::string_view action, std::string_view type, std::string_view id, recorded_state before,
             recorded_state after, std::string_view note) {
    std::uint64_t seq = sequence.fetch_add(1);
    std::string entry = audit_json(now, who, action, type, id, before, after, note);
    writes.push_back({store::table::audit, records::audit_key(now, seq), entry});
    writes.push_back({store::table::audit, records::audit_object_key(id, now, seq), std::move(entry)});
  }
};

// Moves the alert between status index values. The index key holds last_seen at
// full precision while the stored JSON has milliseconds, so find the exact key.
void move_status_index(const store::durable_store& db, std::vector<store::table_write>& writes,
                       const alert_summary& a, std::string_view from, std::string_view to) {
  using index = store::durable_store::alert_index;
  std::string lo = store::durable_store::alert_index_key(index::status, from, a.last_seen, "");
  std::string hi = store::durable_store::alert_index_key(index::status, from, a.last_seen + 1'000'000, "");
  std::optional<std::string> old;
  db.scan_range(store::table::alert_index, lo, hi, [&](std::string_view k, std::string_view) {
    if (k.ends_with(a.id)) {
      old = std::string(k);
      return false;
    }
    return true;
  });
  timestamp_ns exact = a.last_seen;
  if (old) {
    writes.push_back({store::table::alert_index, *old, std::nullopt});
    std::string prefix = store::durable_store::alert_index_key(index::status, from, 0, "");
    exact = records::read_ordered(std::string_view(*old).substr(prefix.size() - 8, 8));
  }
  writes.push_back({store::table::alert_index, store::durable_store::alert_index_key(index::status, to, exact, a.id),
                    std::string()});
}

// One alert action into `ctx.writes`; the summary as it will be.
outcome<alert_summary> act_on_alert(action_context& ctx, reader& r, const actor& who, std::string_view id,
                                    const action& what, std::string_view audit_note) {
  auto a = r.summary(id);
  if (!a) return not_found("alert", id);
  records::alert_state state{a->status, a->verdict, a->assignee, a->notes};
  std::string before_status = state.status, before_verdict = state.verdict, before_assignee = state.assignee;
  auto applied = apply(what.kind, what, "new", state.status, state.verdict, state.assignee, "alert");
  if (!applied) return applied.why();
  if (!what.note.empty()) state.notes.push_back({who.name, ctx.now, what.note});
  ctx.writes.push_back({store::table::triage, std::string(id), records::encode(state)});
  if (state.status != before_status) move_status_index(ctx.db, ctx.writes, *a, before_status, state.status);
  ctx.audit(who, action_name(what.kind), "alert", id, {before_status, before_verdict, before_assignee},
            {state.status, state.verdict, state.assignee}, audit_note.empty() ? std::string_view(what.note) : audit_note);
  a->status = state.status;
  a->verdict = state.verdict;
  a->assignee = state.assignee;
  a->notes = std::move(state.notes);
  return *a;
}

}  // namespace

outcome<alert_summary> service::act(const actor& who, std::string_view id, const action& what) {
  std::lock_guard lock(writes_);
  std::vector<store::table_write> writes;
  action_context ctx{db_, writes, audit_sequence_, wall_clock_now()};
  reader r(db_);
  auto done = act_on_alert(ctx, r, who, id, what, {});
  if (!done) return done;
  if (auto s = db_.write(writes); !s) return refused{refusal::failed, s.message()};
  if (metrics_) {
    metrics_->triage_action(action_name(what.kind));
    if (what.kind == action_kind::close) metrics_->alert_verdict(done->rule_id, done->verdict);
  }
  return done;
}

outcome<incident_page> service::list_incidents(const incident_filter& f) const {
  for (const auto& s : f.statuses)
    if (!one_of(s, incident_statuses)) return refused{refusal::bad_input, "unknown incident status '" + s + "'"};
  if (f.limit < 1 || f.limit > 500) return refused{refusal::bad_input, "limit must be between 1 and 500"};
  std::string after;
  if (!f.cursor.empty()) {
    auto c = records::unhex(f.cursor);
    if (!c || !c->starts_with(records::incident_time_prefix))
      return refused{refusal::bad_input, "cursor is not one this API gave out"};
    after = std::move(*c);
  }
  reader r(db_);
  incident_page page;
  std::string last_key;
  bool more = false;
  db_.scan(store::table::incidents, records::incident_time_prefix, true, [&](std::string_view k, std::string_view) {
    std::string_view id = k.substr(records::incident_time_prefix.size() + 8);
    std::string status = "open";
    if (auto st = db_.get(store::table::incidents, records::incident_state_key(id)))
      if (auto state = records::decode_incident_state(r.parser, *st)) status = state->status;
    ++page.status_counts[status];
    if (!f.statuses.empty() && !one_of(status, f.statuses)) return true;
    ++page.total;
    if (!after.empty() && k >= after) return true;
    if (page.incidents.size() >= f.limit) {
      more = true;
      return true;  // keep counting the total
    }
    if (auto s = r.incident(id)) {
      page.incidents.push_back(std::move(*s));
      last_key = k;
    }
    return true;
  });
  if (more) page.next_cursor = records::hex(last_key);
  return page;
}

outcome<incident_detail> service::incident(std::string_view id) const {
  reader r(db_);
  incident_detail d;
  auto s = r.incident(id, &d.alerts);
  if (!s) return not_found("incident", id);
  d.summary = std::move(*s);
  std::stable_sort(d.alerts.begin(), d.alerts.end(),
                   [](const alert_summary& a, const alert_summary& b) { return a.last_seen < b.last_seen; });
  d.history = r.history(id);
  return d;
}

outcome<incident_summary> service::act_on_incident(const actor& who, std::string_view id, const action& what) {
  std::lock_guard lock(writes_);
  reader r(db_);
  auto inc = r.incident(id);
  if (!inc) return not_found("incident", id);
  records::incident_state state{inc->status, inc->verdict, inc->assignee};
  records::incident_state before = state;
  auto applied = apply(what.kind, what, "open", state.status, state.verdict, state.assignee, "incident");
  if (!applied) return applied.why();
  std::vector<store::table_write> writes;
  action_context ctx{db_, writes, audit_sequence_, wall_clock_now()};
  // A note changes nothing but the record: it lives in the audit log, which the
  // incident's history shows.
  if (what.kind != action_kind::note)
    writes.push_back({store::table::incidents, records::incident_state_key(id), records::encode(state)});
  ctx.audit(who, action_name(what.kind), "incident", id, {before.status, before.verdict, before.assignee},
            {state.status, state.verdict, state.assignee}, what.note);
  std::vector<alert_summary> closed;
  if (what.kind == action_kind::close) {
    std::string why = "closed with incident " + std::string(id) + (what.note.empty() ? "" : ": " + what.note);
    action close_alert{action_kind::close, what.verdict, {}, {}};
    for (const auto& alert_id : inc->alert_ids) {
      auto a = r.summary(alert_id);
      if (!a || a->status == "closed") continue;
      auto done = act_on_alert(ctx, r, who, alert_id, close_alert, why);
      if (!done) return done.why();
      closed.push_back(std::move(done.value()));
    }
  }
  if (auto s = db_.write(writes); !s) return refused{refusal::failed, s.message()};
  if (metrics_) {
    metrics_->triage_action("incident_" + std::string(action_name(what.kind)));
    for (const auto& a : closed) {
      metrics_->triage_action("close");
      metrics_->alert_verdict(a.rule_id, a.verdict);
    }
  }
  inc->status = state.status;
  inc->verdict = state.verdict;
  inc->assignee = state.assignee;
  return *inc;
}

outcome<audit_page> service::audit(const audit_query& q) const {
  if (q.limit < 1 || q.limit > 500) return refused{refusal::bad_input, "limit must be between 1 and 500"};
  std::string prefix = q.object.empty() ? std::string(records::audit_time_prefix) : records::audit_object_prefix(q.object);
  std::string after;
  if (!q.cursor.empty()) {
    auto c = records::unhex(q.cursor);
    if (!c) return refused{refusal::bad_input, "cursor is not one this API gave out"};
    after = prefix + *c;
  }
  audit_page page;
  std::string last_key;
  bool more = false;
  db_.scan(store::table::audit, prefix, true, [&](std::string_view k, std::string_view v) {
    if (!after.empty() && k >= after) return true;
    if (page.entries.size() >= q.limit) {
      more = true;
      return false;
    }
    page.entries.emplace_back(v);
    last_key = k;
    return true;
  });
  if (more) page.next_cursor = records::hex(std::string_view(last_key).substr(prefix.size()));
  return page;
}

std::vector<rule_stats> service::verdicts_by_rule() const { return compute_rule_stats(db_); }

std::vector<rule_stats> compute_rule_stats(const store::durable_store& db) {
  std::unordered_map<std::string, rule_stats> by_rule;
  simdjson::dom::parser p;
  db.for_each_alert([&](std::string_view id, std::string_view json) {
    object o, rule;
    if (p.parse(json.data(), json.size()).get_object().get(o) || o.at_key("rule").get_object().get(rule)) return;
    std::string rule_id(str(rule, "id"));
    auto& s = by_rule[rule_id];
    s.rule_id = rule_id;
    ++s.alerts;
    std::string status = "new", verdict;
    if (auto t = db.get(store::table::triage, id)) {
      if (auto state = records::decode_alert_state(p, *t)) {
        status = state->status;
        verdict = state->verdict;
      }
    }
    if (status != "closed") ++s.open;
    if (verdict == "true_positive") ++s.true_positive;
    if (verdict == "false_positive") ++s.false_positive;
    if (verdict == "benign") ++s.benign;
  });
  std::vector<rule_stats> out;
  for (auto& [_, s] : by_rule) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), [](const rule_stats& a, const rule_stats& b) {
    if (a.false_positive != b.false_positive) return a.false_positive > b.false_positive;
    if (a.alerts != b.alerts) return a.alerts > b.alerts;
    return a.rule_id < b.rule_id;
  });
  return out;
}

}  // namespace sentrail::triage
