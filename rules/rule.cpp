// The matching hot path and the rule set index. Nothing here allocates per event.

#include "rules/rule.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cstring>

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
  if (v == nullptr) {
    auto absent_ok = [](const value_matcher& m) {
      return m.kind == op::is_null || (m.kind == op::exists && !m.flag);
    };
    if (all) return std::all_of(values.begin(), values.end(), absent_ok);
    return std::any_of(values.begin(), values.end(), absent_ok);
  }
  if (all) {
    for (const auto& m : values)
      if (!m.test(*v, e)) return false;
    return true;
  }
  for (const auto& m : values)
    if (m.test(*v, e)) return true;
  return false;
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

bool detection_rule::applies_to(std::string_view channel) const {
  if (info_.all_channels) return true;
  return std::find(info_.channels.begin(), info_.channels.end(), channel) != info_.channels.end();
}

std::span<const detection_rule* const> rule_set::for_channel(std::string_view channel) const {
  if (auto it = by_channel_.find(channel); it != by_channel_.end()) return it->second;
  return all_channels_;
}

const detection_rule* rule_set::find(std::string_view id_or_name) const {
  for (const auto& r : detections_)
    if (r->info().id == id_or_name) return r.get();
  for (const auto& r : detections_)
    if (!r->info().name.empty() && r->info().name == id_or_name) return r.get();
  return nullptr;
}

std::vector<std::string> rule_set::channels() const {
  std::vector<std::string> out;
  for (const auto& [name, list] : by_channel_) out.push_back(name);
  return out;
}

void rule_set::add(std::unique_ptr<detection_rule> rule) {
  const detection_rule* r = rule.get();
  detections_.push_back(std::move(rule));
  if (r->info().all_channels) {
    all_channels_.push_back(r);
    for (auto& [name, list] : by_channel_) list.push_back(r);
    return;
  }
  for (const auto& ch : r->info().channels) {
    auto it = by_channel_.find(ch);
    if (it == by_channel_.end()) it = by_channel_.emplace(ch, all_channels_).first;
    if (std::find(it->second.begin(), it->second.end(), r) == it->second.end())
      it->second.push_back(r);
  }
}

}  // namespace sentrail::rules
