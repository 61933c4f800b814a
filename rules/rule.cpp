// The matching hot path and the rule set index. Nothing here allocates per event.

#include "rules/rule.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include "rules/detail/compiled.h"

namespace sentrail::rules {
namespace detail {
namespace {

bool eq_at(std::string_view text, std::size_t at, std::string_view pattern, bool cased) {
  if (cased) return text.compare(at, pattern.size(), pattern) == 0;
  for (std::size_t i = 0; i < pattern.size(); ++i)
    if (lower(text[at + i]) != pattern[i]) return false;
  return true;
}

bool find_in(std::string_view text, std::string_view pattern, bool cased) {
  if (pattern.size() > text.size()) return false;
  if (pattern.empty()) return true;
  const char first = pattern[0];
  const std::size_t last = text.size() - pattern.size();
  for (std::size_t i = 0; i <= last; ++i) {
    char c = cased ? text[i] : lower(text[i]);
    if (c == first && eq_at(text, i, pattern, cased)) return true;
  }
  return false;
}

bool glob_match(std::string_view text, std::string_view pattern,
                const std::vector<glob_byte>& kinds, bool cased) {
  std::size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
  const std::size_t m = pattern.size();
  while (s < text.size()) {
    if (p < m && kinds[p] == glob_byte::star) {
      star = p++;
      mark = s;
    } else if (p < m &&
               (kinds[p] == glob_byte::any || (cased ? text[s] : lower(text[s])) == pattern[p])) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < m && kinds[p] == glob_byte::star) ++p;
  return p == m;
}

bool parse_number(std::string_view text, double& out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

bool numeric(const ingest::field_value& v, double& out) {
  if (v.kind == ingest::value_kind::number) {
    out = v.number;
    return true;
  }
  if (v.kind == ingest::value_kind::string) return parse_number(v.text, out);
  return false;
}

bool in_cidr(std::string_view text, const value_matcher& m) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::uint8_t addr[16];
  if (m.family == 4) {
    if (inet_pton(AF_INET, buf, addr) != 1) return false;
  } else {
    if (inet_pton(AF_INET6, buf, addr) != 1) return false;
  }
  int bits = m.prefix;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((addr[i] & mask) != (m.net[i] & mask)) return false;
  }
  return true;
}

}  // namespace

void re2_deleter::operator()(re2::RE2* re) const { delete re; }

int value_matcher::cost() const {
  switch (kind) {
    case op::exists:
    case op::is_null:
      return 1;
    case op::equals:
    case op::number_eq:
    case op::gt:
    case op::gte:
    case op::lt:
    case op::lte:
      return 2;
    case op::startswith:
    case op::endswith:
    case op::cidr:
      return 3;
    case op::contains:
      return 5;
    case op::glob:
      return 8;
    case op::regex:
      return 20;
    case op::fieldref:
      return 4;
  }
  return 10;
}

bool value_matcher::test(const ingest::field_value& v, const ingest::event& e) const {
  const std::string_view t = v.text;
  switch (kind) {
    case op::equals:
      return t.size() == text.size() && eq_at(t, 0, text, cased);
    case op::contains:
      return find_in(t, text, cased);
    case op::startswith:
      return t.size() >= text.size() && eq_at(t, 0, text, cased);
    case op::endswith:
      return t.size() >= text.size() && eq_at(t, t.size() - text.size(), text, cased);
    case op::glob:
      return glob_match(t, text, glob, cased);
    case op::number_eq:
      if (v.kind == ingest::value_kind::number) return v.number == number;
      return t.size() == text.size() && eq_at(t, 0, text, false);
    case op::regex:
      return re2::RE2::PartialMatch(re2::StringPiece(t.data(), t.size()), *re);
    case op::cidr:
      return in_cidr(t, *this);
    case op::gt:
    case op::gte:
    case op::lt:
    case op::lte: {
      double n = 0;
      if (!numeric(v, n)) return false;
      if (kind == op::gt) return n > number;
      if (kind == op::gte) return n >= number;
      if (kind == op::lt) return n < number;
      return n <= number;
    }
    case op::exists:
      return flag;
    case op::is_null:
      return v.kind == ingest::value_kind::null;
    case op::fieldref: {
      const ingest::field_value* other = e.get(ref);
      if (other == nullptr) other = e.get(std::string_view(text));
      if (other == nullptr || other->text.size() != t.size()) return false;
      for (std::size_t i = 0; i < t.size(); ++i)
        if ((cased ? t[i] : lower(t[i])) != (cased ? other->text[i] : lower(other->text[i])))
          return false;
      return true;
    }
  }
  return false;
}

int field_matcher::cost() const {
  int c = 0;
  for (const auto& v : values) c = std::max(c, v.cost());
  return c * (any_field ? 8 : 1) + static_cast<int>(values.size() > 4);
}

int time_part_of(timestamp_ns t, time_part part) {
  constexpr std::int64_t ns_per_day = 86'400 * ns_per_second;
  std::int64_t days = t / ns_per_day, in_day = t % ns_per_day;
  if (in_day < 0) {
    in_day += ns_per_day;
    --days;
  }
  const std::int64_t seconds = in_day / ns_per_second;
  if (part == time_part::minute) return static_cast<int>(seconds / 60 % 60);
  if (part == time_part::hour) return static_cast<int>(seconds / 3600);
  // Civil date from days since the epoch (Howard Hinnant's algorithm).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const unsigned d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const unsigned m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  const std::int64_t y = yoe + era * 400 + (m <= 2);
  switch (part) {
    case time_part::day:
      return static_cast<int>(d);
    case time_part::month:
      return static_cast<int>(m);
    case time_part::year:
      return static_cast<int>(y);
    default:
      break;
  }
  // ISO 8601 week: the week with the year's first Thursday is week 1.
  const int weekday = static_cast<int>(((days % 7) + 7 + 3) % 7) + 1;  // Monday 1 .. Sunday 7
  const int ordinal = static_cast<int>(days - days_from_civil(y, 1, 1)) + 1;
  auto weeks_in = [](std::int64_t year) {
    auto p = [](std::int64_t yy) { return (yy + yy / 4 - yy / 100 + yy / 400) % 7; };
    return 52 + (p(year) == 4 || p(year - 1) == 3);
  };
  int week = (ordinal - weekday + 10) / 7;
  if (week < 1) return weeks_in(y - 1);
  if (week > weeks_in(y)) return 1;
  return week;
}

bool field_matcher::test(const ingest::event& e) const {
  if (any_field) {
    // Keyword search: each value must (all) or may (any) hit some string field.
    auto hit = [&](const value_matcher& m) {
      for (const auto& f : e.fields())
        if (f.value.kind == ingest::value_kind::string && m.test(f.value, e)) return true;
      return false;
    };
    if (all) return std::all_of(values.begin(), values.end(), hit);
    return std::any_of(values.begin(), values.end(), hit);
  }
  const ingest::field_value* v = e.get(id);
  // Fields added raw (add_extra) carry no id; find them by name.
  if (v == nullptr) v = e.get(std::string_view(name));
  ingest::field_value part_value;
  if (part != time_part::none) {
    // The event's own time for @timestamp; otherwise the field, read as RFC 3339.
    std::optional<timestamp_ns> t;
    if (id == ingest::fields::timestamp && e.time != 0)
      t = e.time;
    else if (v != nullptr && v->kind == ingest::value_kind::string)
      t = parse_rfc3339(v->text);
    if (!t) return false;
    part_value = ingest::field_value::of_number({}, time_part_of(*t, part));
    v = &part_value;
  }
  if (v == nullptr) {
    if (negate) return false;
    auto absent_ok = [](const value_matcher& m) {
      return m.kind == op::is_null || (m.kind == op::exists && !m.flag);
    };
    if (all) return std::all_of(values.begin(), values.end(), absent_ok);
    return std::any_of(values.begin(), values.end(), absent_ok);
  }
  bool hit;
  if (all) {
    hit = true;
    for (const auto& m : values)
      if (!m.test(*v, e)) {
        hit = false;
        break;
      }
  } else {
    hit = false;
    for (const auto& m : values)
      if (m.test(*v, e)) {
        hit = true;
        break;
      }
  }
  return hit != negate;
}

int selection::cost() const {
  int c = 0;
  for (const auto& alt : alternatives)
    for (const auto& f : alt) c += f.cost();
  return c;
}

bool selection::test(const ingest::event& e) const {
  for (const auto& alt : alternatives) {
    bool ok = true;
    for (const auto& f : alt) {
      if (!f.test(e)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

bool compiled::eval(const ingest::event& e, int node) const {
  const cond_node& n = nodes[static_cast<std::size_t>(node)];
  switch (n.kind) {
    case node_kind::ref:
      return selections[static_cast<std::size_t>(n.items[0])].test(e);
    case node_kind::all:
      for (int c : n.items)
        if (!eval(e, c)) return false;
      return true;
    case node_kind::any:
      for (int c : n.items)
        if (eval(e, c)) return true;
      return false;
    case node_kind::negate:
      return !eval(e, n.items[0]);
    case node_kind::one_of:
      for (int s : n.items)
        if (selections[static_cast<std::size_t>(s)].test(e)) return true;
      return false;
    case node_kind::all_of:
      for (int s : n.items)
        if (!selections[static_cast<std::size_t>(s)].test(e)) return false;
      return true;
  }
  return false;
}

void compiled::optimise() {
  for (auto& s : selections) {
    for (auto& alt : s.alternatives)
      std::stable_sort(alt.begin(), alt.end(), [](const field_matcher& a, const field_matcher& b) {
        return a.cost() < b.cost();
      });
  }
  // Cost of a node, computed bottom-up; children always precede parents.
  std::vector<int> cost(nodes.size(), 0);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    auto& n = nodes[i];
    int c = 0;
    switch (n.kind) {
      case node_kind::ref:
      case node_kind::one_of:
      case node_kind::all_of:
        for (int s : n.items) c += selections[static_cast<std::size_t>(s)].cost();
        break;
      default:
        for (int ch : n.items) c += cost[static_cast<std::size_t>(ch)];
        std::stable_sort(n.items.begin(), n.items.end(), [&](int a, int b) {
          return cost[static_cast<std::size_t>(a)] < cost[static_cast<std::size_t>(b)];
        });
    }
    if (n.kind == node_kind::one_of || n.kind == node_kind::all_of)
      std::stable_sort(n.items.begin(), n.items.end(), [&](int a, int b) {
        return selections[static_cast<std::size_t>(a)].cost() <
               selections[static_cast<std::size_t>(b)].cost();
      });
    cost[i] = c;
  }
}

}  // namespace detail

std::string diagnostic::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
    out += ':';
    out += std::to_string(column);
  }
  out += sev == severity::error ? ": error: " : ": warning: ";
  out += message;
  return out;
}

detection_rule::detection_rule(rule_info info, std::unique_ptr<detail::compiled> compiled)
    : info_(std::move(info)), compiled_(std::move(compiled)) {}

detection_rule::~detection_rule() = default;

bool detection_rule::matches(const ingest::event& e) const {
  return compiled_->eval(e, compiled_->root);
}

namespace {
using namespace detail;

// Values `field` must equal (ignoring case) for selection `s` to hold, when every
// alternative of it tests the field for plain, uncased equality.
bool selection_requires(const selection& s, ingest::field_id field, std::vector<std::string>& out) {
  if (s.alternatives.empty()) return false;
  std::vector<std::string> found;
  for (const auto& alternative : s.alternatives) {
    auto test = std::find_if(alternative.begin(), alternative.end(), [&](const field_matcher& m) {
      return m.id == field && !m.any_field && !m.negate && !m.all && m.part == time_part::none &&
             !m.values.empty() && std::all_of(m.values.begin(), m.values.end(), [](const value_matcher& v) {
               return v.kind == op::equals && !v.cased;
             });
    });
    if (test == alternative.end()) return false;
    for (const auto& v : test->values) found.push_back(v.text);
  }
  out.insert(out.end(), found.begin(), found.end());
  return true;
}

// The same for condition node `node`: an AND needs one child that requires the
// field, an OR needs every child to; a negation never tells.
bool node_requires(const compiled& c, int node, ingest::field_id field, std::vector<std::string>& out) {
  const cond_node& n = c.nodes[static_cast<std::size_t>(node)];
  auto sel = [&](int i) -> const selection& { return c.selections[static_cast<std::size_t>(i)]; };
  switch (n.kind) {
    case node_kind::ref:
      return selection_requires(sel(n.items[0]), field, out);
    case node_kind::all:
      for (int child : n.items)
        if (node_requires(c, child, field, out)) return true;
      return false;
    case node_kind::all_of:
      for (int s : n.items)
        if (selection_requires(sel(s), field, out)) return true;
      return false;
    case node_kind::any:
    case node_kind::one_of: {
      std::vector<std::string> all;
      for (int i : n.items) {
        bool required = n.kind == node_kind::any ? node_requires(c, i, field, all) : selection_requires(sel(i), field, all);
        if (!required) return false;
      }
      if (n.items.empty()) return false;
      out.insert(out.end(), all.begin(), all.end());
      return true;
    }
    case node_kind::negate:
      return false;
  }
  return false;
}

}  // namespace

bool detection_rule::required_values(ingest::field_id field, std::vector<std::string>& out) const {
  if (compiled_->root < 0) return false;
  return node_requires(*compiled_, compiled_->root, field, out);
}

bool detection_rule::fields_read(std::vector<ingest::field_id>& out) const {
  for (const auto& sel : compiled_->selections) {
    for (const auto& alternative : sel.alternatives) {
      for (const auto& test : alternative) {
        if (test.any_field || test.id == ingest::no_field) return false;
        out.push_back(test.id);
        for (const auto& v : test.values) {
          if (v.kind != detail::op::fieldref) continue;
          if (v.ref == ingest::no_field) return false;
          out.push_back(v.ref);
        }
      }
    }
  }
  return true;
}

bool detection_rule::applies_to(std::string_view channel) const {
  if (info_.all_channels) return true;
  return std::find(info_.channels.begin(), info_.channels.end(), channel) != info_.channels.end();
}

bool condition_spec::matches(double v) const {
  if (gt && !(v > *gt)) return false;
  if (gte && !(v >= *gte)) return false;
  if (lt && !(v < *lt)) return false;
  if (lte && !(v <= *lte)) return false;
  if (eq && !(v == *eq)) return false;
  if (neq && !(v != *neq)) return false;
  return true;
}

std::string_view correlation_rule::field_for(std::string_view group_by_name,
                                             std::string_view rule_id_or_name) const {
  for (const auto& [alias, per_rule] : aliases) {
    if (alias != group_by_name) continue;
    for (const auto& [rule, field] : per_rule)
      if (rule == rule_id_or_name) return field;
  }
  return group_by_name;
}

std::span<const detection_rule* const> rule_set::for_channel(std::string_view channel) const {
  if (auto it = by_channel_.find(channel); it != by_channel_.end()) return it->second.all;
  return all_channels_.all;
}

std::span<const detection_rule* const> rule_set::candidates(std::string_view channel, const ingest::event& e) const {
  auto it = by_channel_.find(channel);
  const channel_rules& rules = it != by_channel_.end() ? it->second : all_channels_;
  if (rules.by_action.empty()) return rules.all;
  const ingest::field_value* action = e.get(ingest::fields::event_action);
  if (action == nullptr) return rules.unindexed;  // no rule that requires an action can match
  // Rules compare lowercase; fold into a stack buffer rather than allocate.
  char folded[64];
  if (action->text.size() > sizeof folded) return rules.all;
  for (std::size_t i = 0; i < action->text.size(); ++i) folded[i] = detail::lower(action->text[i]);
  auto hit = rules.by_action.find(std::string_view(folded, action->text.size()));
  return hit != rules.by_action.end() ? std::span<const detection_rule* const>(hit->second) : rules.unindexed;
}

const std::vector<std::string>* rule_set::actions_of(const detection_rule& r, std::vector<std::string>& scratch) {
  scratch.clear();
  if (!r.required_values(ingest::fields::event_action, scratch)) return nullptr;
  std::sort(scratch.begin(), scratch.end());
  scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
  return &scratch;
}

void rule_set::channel_rules::add(const detection_rule* r, const std::vector<std::string>* actions) {
  all.push_back(r);
  if (!actions) {
    unindexed.push_back(r);
    for (auto& [value, list] : by_action) list.push_back(r);
    return;
  }
  for (const auto& value : *actions) {
    auto it = by_action.find(value);
    if (it == by_action.end()) it = by_action.emplace(value, unindexed).first;  // load order: earlier unindexed first
    it->second.push_back(r);
  }
}

const detection_rule* rule_set::find(std::string_view id_or_name) const {
  for (const auto& r : detections_)
    if (r->info().id == id_or_name) return r.get();
  for (const auto& r : detections_)
    if (!r->info().name.empty() && r->info().name == id_or_name) return r.get();
  return nullptr;
}

const correlation_rule* rule_set::find_correlation(std::string_view id_or_name) const {
  for (const auto& r : correlations_)
    if (r.id == id_or_name) return &r;
  for (const auto& r : correlations_)
    if (!r.name.empty() && r.name == id_or_name) return &r;
  return nullptr;
}

const bool* rule_set::referenced(std::string_view id, std::string_view name) const {
  const bool* found = nullptr;
  for (std::string_view key : {id, name}) {
    if (key.empty()) continue;
    if (auto it = referenced_.find(key); it != referenced_.end()) {
      if (it->second) return &it->second;
      found = &it->second;
    }
  }
  return found;
}

bool rule_set::referenced_by_correlation(std::string_view id_or_name) const {
  if (const detection_rule* d = find(id_or_name))
    return referenced(d->info().id, d->info().name) != nullptr;
  if (const correlation_rule* c = find_correlation(id_or_name))
    return referenced(c->id, c->name) != nullptr;
  return referenced(id_or_name, {}) != nullptr;
}

bool rule_set::generates_alerts(const detection_rule& rule) const {
  const bool* r = referenced(rule.info().id, rule.info().name);
  return r == nullptr || *r;
}

bool rule_set::generates_alerts(const correlation_rule& rule) const {
  const bool* r = referenced(rule.id, rule.name);
  return r == nullptr || *r;
}

void rule_set::add(correlation_rule rule) {
  for (const auto& ref : rule.rules) {
    auto [it, fresh] = referenced_.emplace(ref, rule.generate);
    if (!fresh) it->second = it->second || rule.generate;
  }
  correlations_.push_back(std::move(rule));
}

std::vector<std::string> rule_set::channels() const {
  std::vector<std::string> out;
  for (const auto& [name, rules] : by_channel_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

void rule_set::add(std::unique_ptr<detection_rule> rule) {
  const detection_rule* r = rule.get();
  detections_.push_back(std::move(rule));
  std::vector<std::string> scratch;
  const std::vector<std::string>* actions = actions_of(*r, scratch);
  if (r->info().all_channels) {
    all_channels_.add(r, actions);
    for (auto& [name, rules] : by_channel_) rules.add(r, actions);
    return;
  }
  for (const auto& ch : r->info().channels) {
    auto it = by_channel_.find(ch);
    if (it == by_channel_.end()) it = by_channel_.emplace(ch, all_channels_).first;
    if (std::find(it->second.all.begin(), it->second.all.end(), r) == it->second.all.end())
      it->second.add(r, actions);
  }
}

}  // namespace sentrail::rules
