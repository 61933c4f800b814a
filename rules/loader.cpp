// Sigma YAML -> compiled rules. Each document is parsed on its own so a YAML
// syntax error costs only that document; every problem becomes a diagnostic
// pointing at the node that caused it.

#include "rules/loader.h"

#include <arpa/inet.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>

#include "common/time.h"
#include "rules/detail/compiled.h"
#include "rules/detail/yaml_json.h"
#include "rules/timespan.h"

namespace sentrail::rules {
namespace {

using detail::glob_byte;
using detail::op;
using detail::value_matcher;

struct document {
  std::string_view text;
  int first_line = 0;  // 0-based line of the document's first line in the file
};

bool is_marker(std::string_view line, std::string_view marker) {
  if (!line.starts_with(marker)) return false;
  if (line.size() == marker.size()) return true;
  char c = line[marker.size()];
  return c == ' ' || c == '\t' || c == '\r' || c == '#';
}

/// Splits a YAML stream at `---` and `...` lines.
std::vector<document> split_documents(std::string_view text) {
  std::vector<document> docs;
  std::size_t start = 0, pos = 0;
  int line = 0, start_line = 0;
  while (pos <= text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view l = text.substr(pos, eol - pos);
    if (is_marker(l, "---") || is_marker(l, "...")) {
      docs.push_back({text.substr(start, pos - start), start_line});
      start = eol + 1 > text.size() ? text.size() : eol + 1;
      start_line = line + 1;
    }
    if (eol == text.size()) break;
    pos = eol + 1;
    ++line;
  }
  if (start < text.size()) docs.push_back({text.substr(start), start_line});
  return docs;
}

bool parse_number(std::string_view text, double& out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

bool is_plain(const YAML::Node& n) { return n.Tag() == "?"; }

/// A place in a rule file, for diagnostics reported after the document is gone.
struct where {
  std::string file;
  int line = 0;
  int column = 0;
};

class loader {
 public:
  explicit loader(const load_options& options) : options_(options) {}

  void load_text(std::string_view text, const std::string& file) {
    for (const auto& doc : split_documents(text)) load_document(doc, file);
  }

  void fail_file(const std::string& file, std::string message) {
    out_.diagnostics.push_back({severity::error, file, 0, 0, std::move(message)});
  }

  load_result take() {
    finish_correlations();
    return std::move(out_);
  }

 private:
  // ---- diagnostics -------------------------------------------------------
  void report(severity sev, const YAML::Mark& m, std::string message) {
    int line = m.line >= 0 ? m.line + 1 + line_offset_ : line_offset_ + 1;
    int column = m.column >= 0 ? m.column + 1 : 1;
    out_.diagnostics.push_back({sev, file_, line, column, std::move(message)});
    if (sev == severity::error) failed_ = true;
  }
  void error(const YAML::Node& n, std::string message) {
    report(severity::error, mark_of(n), std::move(message));
  }
  void error_at(const YAML::Mark& m, std::string message) {
    report(severity::error, m, std::move(message));
  }
  void warn(const YAML::Node& n, std::string message) {
    report(severity::warning, mark_of(n), std::move(message));
  }

  YAML::Mark mark_of(const YAML::Node& n) const {
    YAML::Mark m = n.IsDefined() ? n.Mark() : YAML::Mark::null_mark();
    return m.line >= 0 ? m : doc_mark_;
  }

  // ---- scalar helpers ----------------------------------------------------
  std::string scalar(const YAML::Node& doc, const char* key) {
    const YAML::Node n = doc[key];
    if (!n.IsDefined() || n.IsNull()) return {};
    if (!n.IsScalar()) {
      error(n, std::string("'") + key + "' must be a string");
      return {};
    }
    return n.Scalar();
  }

  std::vector<std::string> list(const YAML::Node& doc, const char* key) {
    std::vector<std::string> out;
    const YAML::Node n = doc[key];
    if (!n.IsDefined() || n.IsNull()) return out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        if (item.IsScalar())
          out.push_back(item.Scalar());
        else if (!item.IsNull())
          error(item, std::string("'") + key + "' must list strings");
      }
    } else {
      error(n, std::string("'") + key + "' must be a string or a list of strings");
    }
    return out;
  }

  // ---- documents ---------------------------------------------------------
  void load_document(const document& doc, const std::string& file) {
    file_ = file;
    line_offset_ = doc.first_line;
    failed_ = false;
    doc_mark_ = YAML::Mark();
    YAML::Node root;
    try {
      root = YAML::Load(std::string(doc.text));
    } catch (const YAML::Exception& e) {
      error_at(e.mark, "invalid YAML: " + e.msg);
      return;
    }
    if (!root.IsDefined() || root.IsNull()) return;  // empty document
    doc_mark_ = root.Mark();
    if (!root.IsMap()) {
      error(root, "a rule document must be a mapping");
      return;
    }
    try {
      if (root["correlation"].IsDefined()) {
        load_correlation(root);
      } else if (root["action"].IsDefined()) {
        error(root["action"],
              "'action: " + (root["action"].IsScalar() ? root["action"].Scalar() : "") +
                  "' rule collections are not supported yet; write whole rules");
      } else {
        load_detection(root);
      }
    } catch (const YAML::Exception& e) {
      error_at(e.mark.line >= 0 ? e.mark : doc_mark_, "invalid rule: " + e.msg);
    }
  }

  bool claim_id(const YAML::Node& root, const std::string& id) {
    if (id.empty()) return true;
    int line = line_offset_ + 1 + std::max(0, mark_of(root["id"]).line);
    auto [it, fresh] = ids_.emplace(id, file_ + ":" + std::to_string(line));
    if (!fresh) {
      error(root["id"], "duplicate rule id '" + id + "' (first defined at " + it->second + ")");
      return false;
    }
    return true;
  }

  // ---- attributes shared by detection and correlation rules -------------
  where where_of(const YAML::Node& n) const {
    YAML::Mark m = mark_of(n);
    return {file_, m.line >= 0 ? m.line + 1 + line_offset_ : line_offset_ + 1,
            m.column >= 0 ? m.column + 1 : 1};
  }

  std::optional<double> number(const YAML::Node& n, const std::string& what) {
    double v = 0;
    if (!n.IsScalar() || !parse_number(n.Scalar(), v)) {
      error(n, "'" + what + "' must be a number");
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::int64_t> whole(const YAML::Node& n, const std::string& what,
                                    std::int64_t min) {
    std::int64_t v = 0;
    const std::string t = n.IsScalar() ? n.Scalar() : std::string{};
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc{} || ptr != t.data() + t.size() || v < min) {
      error(n, "'" + what + "' must be a whole number of at least " + std::to_string(min));
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::int64_t> timespan(const YAML::Node& n, const std::string& what) {
    auto ns = n.IsScalar() ? parse_timespan_ns(n.Scalar()) : std::nullopt;
    if (!ns)
      error(n, "invalid " + what + " '" + (n.IsScalar() ? n.Scalar() : std::string{}) +
                   "' (expected a timespan such as 500ms, 30s, 5m, 1h, 2d or 1w)");
    return ns;
  }

  void read_loss_exposure(const YAML::Node& root, std::optional<loss_exposure>& out) {
    const YAML::Node n = root["loss_exposure"];
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsMap()) {
      error(n, "'loss_exposure' must be a mapping {low: 100, high: 5000, currency: EUR}");
      return;
    }
    for (const auto& kv : n) {
      const std::string& k = kv.first.Scalar();
      if (k != "low" && k != "high" && k != "currency")
        error(kv.first, "unknown loss_exposure key '" + k + "' (expected low, high, currency)");
    }
    loss_exposure e;
    bool ok = true;
    for (const char* key : {"low", "high"}) {
      if (!n[key].IsDefined()) {
        error(n, std::string("'loss_exposure' has no '") + key + "'");
        ok = false;
      } else if (auto v = number(n[key], std::string("loss_exposure.") + key)) {
        (std::string_view(key) == "low" ? e.low : e.high) = *v;
      } else {
        ok = false;
      }
    }
    e.currency = scalar(n, "currency");
    const bool iso =
        e.currency.size() == 3 && std::all_of(e.currency.begin(), e.currency.end(),
                                              [](char c) { return c >= 'A' && c <= 'Z'; });
    if (!iso) {
      error(n["currency"].IsDefined() ? n["currency"] : n,
            "'loss_exposure.currency' must be an ISO 4217 code such as EUR or USD");
      ok = false;
    }
    if (ok && e.low > e.high) {
      error(n["low"], "'loss_exposure.low' is above 'high'");
      ok = false;
    }
    if (ok) out = std::move(e);
  }

  void read_suppress(const YAML::Node& n, std::string& text, std::optional<std::int64_t>& ns) {
    if (!n.IsDefined() || n.IsNull()) return;
    if (!text.empty()) {
      error(n, "'suppress' is given twice");
      return;
    }
    if (auto v = timespan(n, "suppress")) {
      text = n.Scalar();
      ns = v;
    }
  }

  void read_tests(const YAML::Node& n, std::vector<rule_test>& out) {
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsSequence()) {
      error(n, "'tests' must be a list of test cases");
      return;
    }
    for (const auto& t : n) {
      if (!t.IsMap()) {
        error(t, "a test case must be a mapping with name, events and expect");
        continue;
      }
      rule_test rt;
      rt.file = file_;
      rt.line = where_of(t).line;
      for (const auto& kv : t) {
        const std::string& k = kv.first.Scalar();
        if (k != "name" && k != "events" && k != "expect")
          error(kv.first, "unknown test key '" + k + "' (expected name, events, expect)");
      }
      rt.name = scalar(t, "name");
      if (rt.name.empty()) error(t, "test case has no 'name'");
      const YAML::Node events = t["events"];
      if (!events.IsDefined() || !events.IsSequence() || events.size() == 0)
        error(events.IsDefined() ? events : t, "test '" + rt.name + "' needs a list of 'events'");
      else
        for (const auto& ev : events) read_test_event(ev, rt);
      const YAML::Node expect = t["expect"];
      if (!expect.IsDefined()) {
        error(t, "test '" + rt.name + "' has no 'expect' (write [] to expect no alert)");
      } else if (!expect.IsSequence()) {
        error(expect, "'expect' must be a list of expected alerts");
      } else {
        for (const auto& x : expect) read_expected(x, rt);
      }
      out.push_back(std::move(rt));
    }
  }

  void read_test_event(const YAML::Node& ev, rule_test& rt) {
    if (!ev.IsMap()) {
      error(ev, "a test event must be a mapping with channel and event");
      return;
    }
    for (const auto& kv : ev) {
      const std::string& k = kv.first.Scalar();
      if (k != "channel" && k != "repeat" && k != "every" && k != "event")
        error(kv.first,
              "unknown test event key '" + k + "' (expected channel, repeat, every, event)");
    }
    const std::string channel = scalar(ev, "channel");
    if (channel.empty()) error(ev, "test event has no 'channel'");
    std::int64_t repeat = 1;
    if (ev["repeat"].IsDefined()) {
      auto r = whole(ev["repeat"], "repeat", 1);
      if (!r) return;
      if (*r > 100000) {
        error(ev["repeat"], "'repeat' is limited to 100000");
        return;
      }
      repeat = *r;
    }
    const YAML::Node body = ev["event"];
    if (!body.IsDefined() || !body.IsMap()) {
      error(body.IsDefined() ? body : ev, "test event needs an 'event' mapping");
      return;
    }
    std::optional<std::int64_t> every;
    std::string ts_key;
    timestamp_ns base = 0;
    if (ev["every"].IsDefined()) {
      every = timespan(ev["every"], "every");
      if (!every) return;
      for (const char* k : {"ts", "@timestamp", "timestamp", "time"})
        if (body[k].IsDefined()) {
          ts_key = k;
          break;
        }
      auto t = ts_key.empty() || !body[ts_key].IsScalar() ? std::nullopt
                                                          : parse_rfc3339(body[ts_key].Scalar());
      if (!t) {
        error(ev["every"], "'every' needs the event's 'ts' as an RFC 3339 time");
        return;
      }
      base = *t;
    }
    for (std::int64_t i = 0; i < repeat; ++i) {
      const std::string index = std::to_string(i);
      std::string json = "{";
      bool first = true;
      for (const auto& kv : body) {
        if (!first) json += ',';
        first = false;
        const std::string& k = kv.first.Scalar();
        detail::append_json_string(k, json);
        json += ':';
        if (every && k == ts_key)
          detail::append_json_string(format_rfc3339(base + i * *every), json);
        else
          detail::append_json(kv.second, index, json);
      }
      json += '}';
      rt.events.push_back({channel, std::move(json)});
    }
  }

  void read_expected(const YAML::Node& x, rule_test& rt) {
    expected_alert a;
    if (x.IsNull()) {
      rt.expect.push_back(a);
      return;
    }
    if (!x.IsMap()) {
      error(x, "an expected alert must be a mapping with optional group and count");
      return;
    }
    for (const auto& kv : x) {
      const std::string& k = kv.first.Scalar();
      if (k != "group" && k != "count")
        error(kv.first, "unknown expect key '" + k + "' (expected group, count)");
    }
    const YAML::Node g = x["group"];
    if (g.IsDefined() && !g.IsNull()) {
      if (!g.IsMap()) {
        error(g, "'group' must map fields to values");
        return;
      }
      for (const auto& kv : g) {
        if (!kv.second.IsScalar()) {
          error(kv.second, "group values must be scalars");
          return;
        }
        a.group.emplace_back(kv.first.Scalar(), kv.second.Scalar());
      }
    }
    if (x["count"].IsDefined()) {
      auto c = whole(x["count"], "count", 0);
      if (!c) return;
      a.count = static_cast<int>(std::min<std::int64_t>(*c, 1 << 30));
    }
    rt.expect.push_back(std::move(a));
  }

  // ---- correlations --------------------------------------------------------
  static bool one_of(std::string_view v, std::initializer_list<std::string_view> set) {
    return std::find(set.begin(), set.end(), v) != set.end();
  }

  void load_correlation(const YAML::Node& root) {
    correlation_rule r;
    r.id = scalar(root, "id");
    r.name = scalar(root, "name");
    r.title = scalar(root, "title");
    r.level = scalar(root, "level");
    r.description = scalar(root, "description");
    r.tags = list(root, "tags");
    r.generate = false;
    r.file = file_;
    r.line = line_offset_ + 1 + std::max(0, doc_mark_.line);
    if (r.title.empty()) error(root, "rule has no 'title'");
    read_loss_exposure(root, r.loss_exposure);
    read_suppress(root["suppress"], r.suppress, r.suppress_ns);
    read_tests(root["tests"], r.tests);
    const YAML::Node c = root["correlation"];
    if (!c.IsMap()) {
      error(c, "'correlation' must be a mapping");
      return;
    }
    for (const auto& kv : c) {
      const std::string& k = kv.first.Scalar();
      if (one_of(k, {"type", "rules", "group-by", "timespan", "condition", "aliases", "generate"}))
        continue;
      if (!one_of(k, {"direction", "lookback", "max_values", "min_history", "max_kmh", "lat_field",
                      "lon_field", "location_table", "location_key", "factor", "min_count",
                      "baseline_buckets", "scores", "min_denominator", "suppress", "percentile",
                      "field"})) {
        error(kv.first, "unknown correlation key '" + k + "'");
        continue;
      }
      if (kv.second.IsScalar()) r.options.emplace_back(k, kv.second.Scalar());
    }

    r.type = scalar(c, "type");
    const std::string& t = r.type;
    if (t.empty()) {
      error(c, "correlation has no 'type'");
    } else if (!one_of(t, {"event_count", "value_count", "temporal", "temporal_ordered",
                           "value_sum", "value_avg", "value_percentile", "absence", "first_seen",
                           "geo_velocity", "rate_anomaly", "risk", "ratio"})) {
      error(c["type"], "unknown correlation type '" + t +
                           "' (expected event_count, value_count, temporal, temporal_ordered, "
                           "value_sum, value_avg, value_percentile, absence, first_seen, "
                           "geo_velocity, rate_anomaly, risk or ratio)");
    }

    pending p;
    p.at = where_of(root);
    r.rules = list(c, "rules");
    const YAML::Node rules = c["rules"];
    if (rules.IsDefined() && rules.IsScalar()) p.refs.push_back(where_of(rules));
    if (rules.IsDefined() && rules.IsSequence())
      for (const auto& item : rules)
        if (item.IsScalar()) p.refs.push_back(where_of(item));
    const auto n = r.rules.size();
    if (r.rules.empty())
      error(c, "correlation has no 'rules'");
    else if ((t == "absence" || t == "ratio") && n != 2)
      error(rules, "'" + t + "' correlations need exactly 2 rules, got " + std::to_string(n));
    else if ((t == "temporal" || t == "temporal_ordered") && n < 2)
      error(rules, "'" + t + "' correlations need at least 2 rules, got " + std::to_string(n));

    const YAML::Node group = c["group-by"];
    if (!group.IsDefined() || group.IsNull()) {
      error(c, "correlation has no 'group-by'");
    } else if (!group.IsSequence() || group.size() == 0) {
      error(group, "'group-by' must be a list of field names");
    } else {
      r.group_by = list(c, "group-by");
    }

    if (c["timespan"].IsDefined()) {
      r.timespan = scalar(c, "timespan");
      r.timespan_ns = timespan(c["timespan"], "timespan");
    } else if (!t.empty() && t != "first_seen" && t != "geo_velocity") {
      error(c, "correlation type '" + t + "' needs a 'timespan'");
    }

    if (c["generate"].IsDefined()) {
      const YAML::Node g = c["generate"];
      if (g.IsScalar() && (g.Scalar() == "true" || g.Scalar() == "false"))
        r.generate = g.Scalar() == "true";
      else
        error(g, "'generate' must be true or false");
    }

    read_condition(c, r);
    read_extensions(c, r);
    read_aliases(c["aliases"], r);
    if (failed_ || !claim_id(root, r.id)) return;
    p.rule = std::move(r);
    pending_.push_back(std::move(p));
  }

  // A count the window can reach meets the condition: a rule whose threshold is
  // past the window's cap loads, but would never fire.
  static bool count_can_meet(const condition_spec& threshold) {
    for (std::size_t n = 1; n <= max_window_matches; ++n)
      if (threshold.matches(static_cast<double>(n))) return true;
    return false;
  }

  void read_condition(const YAML::Node& c, correlation_rule& r) {
    const std::string& t = r.type;
    const YAML::Node cond = c["condition"];
    const bool needs = one_of(t, {"event_count", "value_count", "value_sum", "value_avg",
                                  "value_percentile", "risk", "ratio"});
    if (!cond.IsDefined() || cond.IsNull()) {
      if (needs) error(c, "correlation type '" + t + "' needs a 'condition' such as {gte: 10}");
    } else if (!cond.IsMap()) {
      error(cond, "correlation 'condition' must be a mapping such as {gte: 10}");
    } else {
      int comparisons = 0;
      for (const auto& kv : cond) {
        const std::string& k = kv.first.Scalar();
        if (!kv.second.IsScalar()) {
          error(kv.second, "correlation condition values must be scalars");
          continue;
        }
        r.condition.emplace_back(k, kv.second.Scalar());
        if (k == "field") {
          r.field = kv.second.Scalar();
          continue;
        }
        std::optional<double>* slot = k == "gt"    ? &r.threshold.gt
                                      : k == "gte" ? &r.threshold.gte
                                      : k == "lt"  ? &r.threshold.lt
                                      : k == "lte" ? &r.threshold.lte
                                      : k == "eq"  ? &r.threshold.eq
                                      : k == "neq" ? &r.threshold.neq
                                                   : nullptr;
        if (slot == nullptr) {
          error(kv.first,
                "unknown condition key '" + k + "' (expected gt, gte, lt, lte, eq, neq or field)");
          continue;
        }
        ++comparisons;
        *slot = number(kv.second, "condition." + k);
      }
      if (comparisons > 2)
        error(cond, "a correlation condition takes at most two comparisons");
      else if (comparisons == 0 && needs)
        error(cond, "correlation condition needs one or two of gt, gte, lt, lte, eq, neq");
      else if (comparisons > 0 && one_of(t, {"event_count", "value_count"}) && !count_can_meet(r.threshold))
        warn(cond, "this condition never holds: a group's window counts 1 to " +
                       std::to_string(max_window_matches) + " matches (the newest are kept)");
    }
    if (const YAML::Node f = c["field"]; f.IsDefined()) {
      if (!f.IsScalar() || f.Scalar().empty())
        error(f, "'field' must be a field name");
      else if (r.field && *r.field != f.Scalar())
        error(f, "'field' differs from the condition's field '" + *r.field + "'");
      else
        r.field = f.Scalar();
    }
    if (!r.field &&
        one_of(t, {"value_count", "value_sum", "value_avg", "value_percentile", "first_seen"}))
      error(cond.IsDefined() ? cond : c,
            "correlation type '" + t + "' needs a 'field' in its condition");
  }

  void read_extensions(const YAML::Node& c, correlation_rule& r) {
    if (const YAML::Node n = c["direction"]; n.IsDefined()) {
      if (n.IsScalar() && one_of(n.Scalar(), {"after", "before", "either"}))
        r.direction = n.Scalar();
      else
        error(n, "'direction' must be after, before or either");
    }
    if (const YAML::Node n = c["lookback"]; n.IsDefined()) r.lookback_ns = timespan(n, "lookback");
    if (const YAML::Node n = c["max_values"]; n.IsDefined()) {
      r.max_values = whole(n, "max_values", 1);
      // Only first_seen reads it, and its window holds no more than the cap.
      if (r.max_values && r.type != "first_seen")
        warn(n, "'max_values' has no effect on " + r.type + " (it bounds first_seen's remembered values)");
      else if (r.max_values && *r.max_values > static_cast<std::int64_t>(max_window_matches))
        warn(n, "first_seen remembers at most " + std::to_string(max_window_matches) +
                    " values per group; 'max_values' above that has no effect");
    }
    if (const YAML::Node n = c["min_count"]; n.IsDefined()) r.min_count = whole(n, "min_count", 0);
    if (const YAML::Node n = c["baseline_buckets"]; n.IsDefined())
      r.baseline_buckets = whole(n, "baseline_buckets", 1);
    if (const YAML::Node n = c["max_kmh"]; n.IsDefined()) r.max_kmh = number(n, "max_kmh");
    if (const YAML::Node n = c["factor"]; n.IsDefined()) r.factor = number(n, "factor");
    if (const YAML::Node n = c["min_denominator"]; n.IsDefined())
      r.min_denominator = number(n, "min_denominator");
    if (const YAML::Node n = c["percentile"]; n.IsDefined()) {
      r.percentile = number(n, "percentile");
      if (r.percentile && (*r.percentile < 0 || *r.percentile > 100)) {
        error(n, "'percentile' must be between 0 and 100");
        r.percentile.reset();
      }
    }
    for (auto [key, slot] : {std::pair{"lat_field", &r.lat_field},
                             {"lon_field", &r.lon_field},
                             {"location_table", &r.location_table},
                             {"location_key", &r.location_key},
                             {"min_history", nullptr}}) {
      const YAML::Node n = c[key];
      if (!n.IsDefined()) continue;
      if (!n.IsScalar() || n.Scalar().empty())
        error(n, std::string("'") + key + "' must be a non-empty scalar");
      else if (slot != nullptr)
        *slot = n.Scalar();
    }
    if (const YAML::Node n = c["scores"]; n.IsDefined()) {
      if (!n.IsMap()) {
        error(n, "'scores' must map rule ids or names to numbers");
      } else {
        for (const auto& kv : n)
          if (auto v = number(kv.second, "scores." + kv.first.Scalar()))
            r.scores.emplace_back(kv.first.Scalar(), *v);
      }
    }
    read_suppress(c["suppress"], r.suppress, r.suppress_ns);
  }

  void read_aliases(const YAML::Node& aliases, correlation_rule& r) {
    if (!aliases.IsDefined() || aliases.IsNull()) return;
    if (!aliases.IsMap()) {
      error(aliases, "'aliases' must map alias names to {rule: field} mappings");
      return;
    }
    for (const auto& a : aliases) {
      std::vector<std::pair<std::string, std::string>> per_rule;
      if (!a.second.IsMap()) {
        error(a.second, "alias '" + a.first.Scalar() + "' must map rule ids or names to fields");
        continue;
      }
      for (const auto& kv : a.second) {
        if (kv.second.IsScalar())
          per_rule.emplace_back(kv.first.Scalar(), kv.second.Scalar());
        else
          error(kv.second, "alias fields must be field names");
      }
      r.aliases.emplace_back(a.first.Scalar(), std::move(per_rule));
    }
  }

  /// After every file: resolve `rules` references, refuse cycles, normalise
  /// aliases to both id and name, and add the correlations that survive.
  void finish_correlations() {
    const std::size_t n = pending_.size();
    auto fail = [&](const where& w, std::string message) {
      out_.diagnostics.push_back({severity::error, w.file, w.line, w.column, std::move(message)});
    };
    auto find_pending = [&](const std::string& ref) -> std::optional<std::size_t> {
      for (std::size_t i = 0; i < n; ++i)
        if (pending_[i].rule.id == ref) return i;
      for (std::size_t i = 0; i < n; ++i)
        if (!pending_[i].rule.name.empty() && pending_[i].rule.name == ref) return i;
      return std::nullopt;
    };
    std::vector<std::vector<std::pair<std::size_t, std::size_t>>> edges(n);  // (rule ref, target)
    std::vector<bool> dead(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& p = pending_[i];
      for (std::size_t j = 0; j < p.rule.rules.size(); ++j) {
        const std::string& ref = p.rule.rules[j];
        const where& w = j < p.refs.size() ? p.refs[j] : p.at;
        if (out_.rules.find(ref) != nullptr) continue;
        if (auto k = find_pending(ref)) {
          edges[i].emplace_back(j, *k);
          continue;
        }
        fail(w, "correlation refers to '" + ref + "', which no loaded rule has as id or name");
        dead[i] = true;
      }
    }
    // Cycles: depth-first search; a grey target closes a cycle.
    std::vector<int> colour(n, 0);
    std::vector<std::size_t> stack;
    auto label = [&](std::size_t i) {
      const auto& r = pending_[i].rule;
      return !r.id.empty() ? r.id : !r.name.empty() ? r.name : r.title;
    };
    auto visit = [&](auto&& self, std::size_t u) -> void {
      colour[u] = 1;
      stack.push_back(u);
      for (auto [j, v] : edges[u]) {
        if (colour[v] == 0) {
          self(self, v);
        } else if (colour[v] == 1) {
          auto from = std::find(stack.begin(), stack.end(), v);
          std::string path;
          for (auto it = from; it != stack.end(); ++it) path += label(*it) + " -> ";
          path += label(v);
          fail(pending_[v].at, "correlation rules reference each other in a cycle: " + path);
          for (auto it = from; it != stack.end(); ++it) dead[*it] = true;
        }
      }
      stack.pop_back();
      colour[u] = 2;
    };
    for (std::size_t i = 0; i < n; ++i)
      if (colour[i] == 0) visit(visit, i);
    // A correlation built on one that was refused is refused too.
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (dead[i]) continue;
        for (auto [j, k] : edges[i]) {
          if (!dead[k]) continue;
          const auto& p = pending_[i];
          fail(j < p.refs.size() ? p.refs[j] : p.at,
               "correlation refers to '" + p.rule.rules[j] + "', which was refused");
          dead[i] = changed = true;
          break;
        }
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (dead[i]) continue;
      correlation_rule& r = pending_[i].rule;
      for (auto& [alias, per_rule] : r.aliases) {
        const std::size_t written = per_rule.size();
        for (std::size_t k = 0; k < written; ++k) {
          const std::string ref = per_rule[k].first, field = per_rule[k].second;
          std::string id, name;
          if (const detection_rule* d = out_.rules.find(ref)) {
            id = d->info().id;
            name = d->info().name;
          } else if (auto c = find_pending(ref)) {
            id = pending_[*c].rule.id;
            name = pending_[*c].rule.name;
          }
          for (const std::string& other : {id, name}) {
            if (other.empty() || other == ref) continue;
            bool listed = std::any_of(per_rule.begin(), per_rule.end(),
                                      [&](const auto& e) { return e.first == other; });
            if (!listed) per_rule.emplace_back(other, field);
          }
        }
      }
    }
    for (std::size_t i = 0; i < n; ++i)
      if (!dead[i]) out_.rules.add(std::move(pending_[i].rule));
    pending_.clear();
  }

  void load_detection(const YAML::Node& root) {
    rule_info info;
    info.id = scalar(root, "id");
    info.name = scalar(root, "name");
    info.title = scalar(root, "title");
    info.status = scalar(root, "status");
    info.description = scalar(root, "description");
    info.author = scalar(root, "author");
    info.level = scalar(root, "level");
    info.date = scalar(root, "date");
    info.modified = scalar(root, "modified");
    info.tags = list(root, "tags");
    info.falsepositives = list(root, "falsepositives");
    info.references = list(root, "references");
    info.file = file_;
    info.line = line_offset_ + 1 + std::max(0, doc_mark_.line);
    if (info.title.empty()) error(root, "rule has no 'title'");
    read_loss_exposure(root, info.loss_exposure);
    if (const YAML::Node n = root["risk_score"]; n.IsDefined() && !n.IsNull())
      info.risk_score = number(n, "risk_score");
    read_suppress(root["suppress"], info.suppress, info.suppress_ns);
    read_tests(root["tests"], info.tests);
    static const std::vector<std::string> levels = {"informational", "low", "medium", "high",
                                                    "critical"};
    if (!info.level.empty() && std::find(levels.begin(), levels.end(), info.level) == levels.end())
      warn(root["level"], "unknown level '" + info.level +
                              "' (expected informational, low, medium, high or critical)");

    const YAML::Node ls = root["logsource"];
    if (ls.IsDefined() && !ls.IsNull()) {
      if (!ls.IsMap()) {
        error(ls, "'logsource' must be a mapping");
      } else {
        info.product = scalar(ls, "product");
        info.service = scalar(ls, "service");
        info.category = scalar(ls, "category");
      }
    }

    auto compiled = std::make_unique<detail::compiled>();
    const YAML::Node det = root["detection"];
    if (!det.IsDefined() || det.IsNull()) {
      error(root, "rule has no 'detection'");
    } else if (!det.IsMap()) {
      error(det, "'detection' must be a mapping of selections and a condition");
    } else {
      compile_detection(det, *compiled);
    }
    if (failed_) return;
    assign_channels(info, root);
    if (!claim_id(root, info.id)) return;
    compiled->optimise();
    out_.rules.add(std::make_unique<detection_rule>(std::move(info), std::move(compiled)));
  }

  void assign_channels(rule_info& info, const YAML::Node& root) {
    if (info.product == "retail") {
      if (info.service.empty())
        info.all_channels = true;
      else
        info.channels.push_back(info.service);
      return;
    }
    for (const auto& m : options_.mappings) {
      if (!m.product.empty() && m.product != info.product) continue;
      if (!m.service.empty() && m.service != info.service) continue;
      if (!m.category.empty() && m.category != info.category) continue;
      if (std::find(info.channels.begin(), info.channels.end(), m.channel) == info.channels.end())
        info.channels.push_back(m.channel);
    }
    if (info.channels.empty()) {
      std::string what = "logsource";
      if (!info.product.empty()) what += " product=" + info.product;
      if (!info.service.empty()) what += " service=" + info.service;
      if (!info.category.empty()) what += " category=" + info.category;
      if (what == "logsource") what = "an empty logsource";
      const YAML::Node ls = root["logsource"];
      warn(ls.IsDefined() ? ls : root, what + " maps to no channel; the rule will never match");
    }
  }

  // ---- detection -----------------------------------------------------------
  void compile_detection(const YAML::Node& det, detail::compiled& out) {
    std::vector<std::string> names;
    YAML::Node condition;
    for (const auto& kv : det) {
      const std::string& name = kv.first.Scalar();
      if (name == "condition") {
        condition = kv.second;
        continue;
      }
      if (name == "timeframe") continue;  // legacy aggregation window; correlations replace it
      detail::selection sel;
      sel.name = name;
      compile_selection(kv.first, kv.second, sel);
      names.push_back(name);
      out.selections.push_back(std::move(sel));
    }
    if (!condition.IsDefined() || condition.IsNull()) {
      error(det, "detection has no 'condition'");
      return;
    }
    std::vector<int> roots;
    auto parse_one = [&](const YAML::Node& c) {
      if (!c.IsScalar()) {
        error(c, "'condition' must be a string or a list of strings");
        return;
      }
      int root = -1;
      const std::string& text = c.Scalar();
      if (auto err = detail::parse_condition(text, names, out.nodes, root)) {
        YAML::Mark m = mark_of(c);
        if (text.find('\n') == std::string::npos) {
          // Point at the offending token; quoted scalars start one column early.
          m.column += static_cast<int>(err->offset) + (is_plain(c) ? 0 : 1);
        }
        error_at(m, err->message);
        return;
      }
      roots.push_back(root);
    };
    if (condition.IsSequence()) {
      for (const auto& c : condition) parse_one(c);
    } else {
      parse_one(condition);
    }
    if (roots.empty()) return;
    if (roots.size() == 1) {
      out.root = roots[0];
    } else {
      out.nodes.push_back({detail::node_kind::any, roots});
      out.root = static_cast<int>(out.nodes.size() - 1);
    }
  }

  void compile_selection(const YAML::Node& key, const YAML::Node& body, detail::selection& sel) {
    if (!body.IsDefined() || body.IsNull()) {
      error(key, "selection '" + sel.name + "' is empty");
      return;
    }
    if (body.IsMap()) {
      if (body.size() == 0) error(key, "selection '" + sel.name + "' is empty");
      sel.alternatives.push_back(compile_map(body));
      return;
    }
    if (body.IsScalar()) {
      sel.alternatives.emplace_back().push_back(keywords(body));
      return;
    }
    bool maps = false, scalars = false;
    for (const auto& item : body) {
      if (item.IsMap())
        maps = true;
      else if (item.IsScalar())
        scalars = true;
      else
        error(item, "selection '" + sel.name + "' mixes lists into a list");
    }
    if (maps && scalars) {
      error(body, "selection '" + sel.name + "' mixes field maps and keywords");
      return;
    }
    if (scalars) {
      sel.alternatives.emplace_back().push_back(keywords(body));
      return;
    }
    if (body.size() == 0) error(key, "selection '" + sel.name + "' is empty");
    for (const auto& item : body) {
      if (item.size() == 0) error(item, "selection '" + sel.name + "' has an empty map");
      sel.alternatives.push_back(compile_map(item));
    }
  }

  detail::field_matcher keywords(const YAML::Node& body) {
    detail::field_matcher f;
    f.any_field = true;
    f.name = "keywords";
    modifiers mods;
    mods.contains = true;
    std::vector<YAML::Node> items;
    if (body.IsScalar())
      items.push_back(body);
    else
      for (const auto& item : body) items.push_back(item);
    for (const auto& item : items) add_values(item, mods, f);
    return f;
  }

  std::vector<detail::field_matcher> compile_map(const YAML::Node& map) {
    std::vector<detail::field_matcher> out;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      detail::field_matcher f;
      modifiers mods;
      std::size_t bar = key.find('|');
      f.name = key.substr(0, bar);
      bool ok = true;
      while (bar != std::string::npos) {
        std::size_t next = key.find('|', bar + 1);
        std::string m =
            key.substr(bar + 1, next == std::string::npos ? std::string::npos : next - bar - 1);
        ok = mods.add(m) && ok;
        if (!mods.problem.empty()) {
          error(kv.first, mods.problem);
          mods.problem.clear();
        }
        bar = next;
      }
      if (!ok) continue;
      if ((mods.i || mods.m || mods.s) && !mods.re) {
        error(kv.first, "modifiers 'i', 'm' and 's' only apply after 're'");
        continue;
      }
      if ((mods.neq || mods.part != detail::time_part::none) && f.name.empty()) {
        error(kv.first, "'neq' and time modifiers need a field name");
        continue;
      }
      if (mods.neq && mods.all) {
        error(kv.first, "'neq' cannot be combined with 'all'");
        continue;
      }
      if (mods.part != detail::time_part::none &&
          (mods.contains || mods.startswith || mods.endswith || mods.re || mods.cidr ||
           mods.exists || mods.windash || mods.base64 || mods.fieldref || mods.expand)) {
        error(kv.first, "time modifiers compare numbers: only gt, gte, lt, lte and neq may follow");
        continue;
      }
      f.all = mods.all;
      f.negate = mods.neq;
      f.part = mods.part;
      if (f.name.empty()) {
        f.any_field = true;
        f.name = "keywords";
      } else {
        f.id = ingest::field_table::global().intern(f.name);
      }
      const YAML::Node v = kv.second;
      if (v.IsMap()) {
        error(v, "value of '" + key + "' must be a scalar or a list of scalars");
        continue;
      }
      if (v.IsSequence()) {
        if (v.size() == 0) error(v, "value list of '" + key + "' is empty");
        for (const auto& item : v) add_values(item, mods, f);
      } else {
        add_values(v, mods, f);
      }
      out.push_back(std::move(f));
    }
    return out;
  }

  struct modifiers {
    bool contains = false, startswith = false, endswith = false, all = false, re = false, i = false,
         m = false, s = false, cidr = false, exists = false, cased = false, windash = false,
         fieldref = false, neq = false, expand = false;
    detail::time_part part = detail::time_part::none;
    int base64 = 0;           // 1: base64, 2: base64offset
    std::string encoding;     // utf16le, utf16be or utf16 (with BOM); empty: the UTF-8 as written
    op compare = op::equals;  // gt/gte/lt/lte when set
    std::string problem;

    bool add(const std::string& name) {
      int position = contains + startswith + endswith;
      if (name == "contains")
        contains = true;
      else if (name == "startswith")
        startswith = true;
      else if (name == "endswith")
        endswith = true;
      else if (name == "all")
        all = true;
      else if (name == "re")
        re = true;
      else if (name == "i")
        i = true;
      else if (name == "m")
        m = true;
      else if (name == "s")
        s = true;
      else if (name == "cidr")
        cidr = true;
      else if (name == "exists")
        exists = true;
      else if (name == "cased")
        cased = true;
      else if (name == "windash")
        windash = true;
      else if (name == "fieldref")
        fieldref = true;
      else if (name == "neq")
        neq = true;
      else if (name == "expand")
        expand = true;
      else if (name == "minute")
        part = detail::time_part::minute;
      else if (name == "hour")
        part = detail::time_part::hour;
      else if (name == "day")
        part = detail::time_part::day;
      else if (name == "week")
        part = detail::time_part::week;
      else if (name == "month")
        part = detail::time_part::month;
      else if (name == "year")
        part = detail::time_part::year;
      else if (name == "base64")
        base64 = 1;
      else if (name == "base64offset")
        base64 = 2;
      else if (name == "wide" || name == "utf16le")
        encoding = "utf16le";
      else if (name == "utf16be" || name == "utf16")
        encoding = name;
      else if (name == "gt")
        compare = op::gt;
      else if (name == "gte")
        compare = op::gte;
      else if (name == "lt")
        compare = op::lt;
      else if (name == "lte")
        compare = op::lte;
      else {
        problem = "unknown modifier '" + name + "'";
        return false;
      }
      if (position > 0 && contains + startswith + endswith > 1) {
        problem = "only one of 'contains', 'startswith' and 'endswith' may be used";
        return false;
      }
      return true;
    }
  };

  void add_values(const YAML::Node& v, const modifiers& mods, detail::field_matcher& f) {
    if (!v.IsNull() && !v.IsScalar()) {
      error(v, "value of '" + f.name + "' must be a scalar");
      return;
    }
    value_matcher m;
    m.cased = mods.cased;
    if (mods.exists) {
      if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) {
        error(v, "'exists' needs true or false");
        return;
      }
      m.kind = op::exists;
      m.flag = v.Scalar() == "true";
      f.values.push_back(std::move(m));
      return;
    }
    if (v.IsNull()) {
      m.kind = op::is_null;
      f.values.push_back(std::move(m));
      return;
    }
    if (mods.part != detail::time_part::none) {
      if (!parse_number(v.Scalar(), m.number)) {
        error(v, "time modifiers need a number, got '" + v.Scalar() + "'");
        return;
      }
      m.kind = mods.compare == op::equals ? op::number_eq : mods.compare;
      f.values.push_back(std::move(m));
      return;
    }
    if (!mods.expand) {
      add_text(v, v.Scalar(), is_plain(v), mods, f);
      return;
    }
    // `expand`: every %name% becomes each of the placeholder's values (all
    // combinations when there are several); the results are strings.
    std::vector<std::string> texts = {""};
    const std::string& raw = v.Scalar();
    for (std::size_t i = 0; i < raw.size();) {
      std::size_t open = raw.find('%', i);
      std::size_t close = open == std::string::npos ? open : raw.find('%', open + 1);
      if (close == std::string::npos) {
        for (auto& t : texts) t += raw.substr(i);
        break;
      }
      std::string name = raw.substr(open + 1, close - open - 1);
      auto it = options_.placeholders.find(name);
      if (it == options_.placeholders.end()) {
        error(v, "unknown placeholder '%" + name + "%' (give its values in the placeholders)");
        return;
      }
      std::vector<std::string> next;
      for (const auto& t : texts)
        for (const auto& value : it->second) next.push_back(t + raw.substr(i, open - i) + value);
      texts = std::move(next);
      i = close + 1;
    }
    for (const auto& t : texts) add_text(v, t, false, mods, f);
  }

  void add_text(const YAML::Node& v, const std::string& text, bool plain, const modifiers& mods,
                detail::field_matcher& f) {
    value_matcher m;
    m.cased = mods.cased;
    if (mods.re) {
      std::string flags;
      if (mods.i) flags += 'i';
      if (mods.m) flags += 'm';
      if (mods.s) flags += 's';
      std::string pattern = flags.empty() ? text : "(?" + flags + ")" + text;
      RE2::Options opts;
      opts.set_log_errors(false);
      auto re = std::unique_ptr<re2::RE2, detail::re2_deleter>(new re2::RE2(pattern, opts));
      if (!re->ok()) {
        error(v, "invalid regular expression '" + text + "': " + re->error());
        return;
      }
      m.kind = op::regex;
      m.re = std::move(re);
      f.values.push_back(std::move(m));
      return;
    }
    if (mods.cidr) {
      if (!parse_cidr(text, m)) {
        error(v, "invalid CIDR '" + text + "'");
        return;
      }
      m.kind = op::cidr;
      f.values.push_back(std::move(m));
      return;
    }
    if (mods.compare != op::equals) {
      if (!parse_number(text, m.number)) {
        error(v, "'" + std::string(compare_name(mods.compare)) + "' needs a number, got '" + text +
                     "'");
        return;
      }
      m.kind = mods.compare;
      f.values.push_back(std::move(m));
      return;
    }
    if (!mods.contains && !mods.startswith && !mods.endswith && !mods.windash && plain &&
        parse_number(text, m.number)) {
      m.kind = op::number_eq;
      m.text = lowered(text, false);
      f.values.push_back(std::move(m));
      return;
    }
    if (mods.fieldref) {
      if (mods.contains || mods.startswith || mods.endswith || mods.windash || mods.base64) {
        error(v, "'fieldref' cannot be combined with other value modifiers yet");
        return;
      }
      m.kind = op::fieldref;
      m.ref = ingest::field_table::global().intern(text);
      m.text = text;
      f.values.push_back(std::move(m));
      return;
    }
    if (!mods.encoding.empty() && !mods.base64) {
      error(v, "'" + mods.encoding + "' only makes sense before 'base64' or 'base64offset'");
      return;
    }
    std::vector<std::string> variants =
        mods.windash ? windash_variants(text) : std::vector<std::string>{text};
    if (mods.base64) {
      // Encoded bytes are literal and case matters in base64.
      modifiers literal = mods;
      literal.cased = true;
      std::vector<std::string> encoded;
      for (const auto& t : variants) {
        std::string bytes = encode_text(t, mods.encoding);
        if (mods.base64 == 1) {
          encoded.push_back(escape_wildcards(base64(bytes)));
        } else {
          for (auto& b : base64_offsets(bytes)) encoded.push_back(escape_wildcards(b));
        }
      }
      for (const auto& t : encoded) f.values.push_back(string_matcher(t, literal));
      return;
    }
    for (const auto& t : variants) f.values.push_back(string_matcher(t, mods));
  }

  /// `windash`: every `-` or `/` that starts a word (a command-line flag) may be
  /// written with any of -, /, en dash, em dash or horizontal bar. All
  /// permutations for up to three flags; beyond that, one dash style per variant.
  static std::vector<std::string> windash_variants(const std::string& text) {
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < text.size(); ++i)
      if ((text[i] == '-' || text[i] == '/') && (i == 0 || !word(text[i - 1])) &&
          i + 1 < text.size() && word(text[i + 1]))
        at.push_back(i);
    static const std::string_view dashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94",
                                              "\xE2\x80\x95"};
    std::vector<std::string> out;
    if (at.empty()) return {text};
    const bool permute = at.size() <= 3;
    std::size_t combos = 1;
    for (std::size_t k = 0; k < (permute ? at.size() : 1); ++k) combos *= 5;
    for (std::size_t n = 0; n < combos; ++n) {
      std::string v;
      std::size_t code = n, next = 0;
      for (std::size_t i = 0; i < text.size(); ++i) {
        if (next < at.size() && at[next] == i) {
          v += dashes[code % 5];
          if (permute) code /= 5;
          ++next;
        } else {
          v += text[i];
        }
      }
      out.push_back(std::move(v));
    }
    return out;
  }

  static std::string escape_wildcards(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '*' || c == '?' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  }

  static std::string base64(std::string_view in) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                   (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
      out += alphabet[(n >> 18) & 63];
      out += alphabet[(n >> 12) & 63];
      out += alphabet[(n >> 6) & 63];
      out += alphabet[n & 63];
    }
    if (i + 1 == in.size()) {
      unsigned n = static_cast<unsigned char>(in[i]) << 16;
      out += alphabet[(n >> 18) & 63];
      out += alphabet[(n >> 12) & 63];
      out += "==";
    } else if (i + 2 == in.size()) {
      unsigned n =
          (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
      out += alphabet[(n >> 18) & 63];
      out += alphabet[(n >> 12) & 63];
      out += alphabet[(n >> 6) & 63];
      out += '=';
    }
    return out;
  }

  /// The three base64 forms of `bytes` at offsets 0, 1 and 2 inside a longer
  /// encoded text, trimmed to the characters that do not depend on neighbours
  /// (the same expansion pySigma uses).
  static std::vector<std::string> base64_offsets(const std::string& bytes) {
    static const std::size_t start[] = {0, 2, 3};
    static const int end[] = {0, -3, -2};  // 0: keep to the end
    std::vector<std::string> out;
    for (std::size_t i = 0; i < 3; ++i) {
      std::string enc = base64(std::string(i, ' ') + bytes);
      int cut = end[(bytes.size() + i) % 3];
      std::size_t stop = cut == 0 ? enc.size() : enc.size() - static_cast<std::size_t>(-cut);
      out.push_back(stop > start[i] ? enc.substr(start[i], stop - start[i]) : std::string{});
    }
    return out;
  }

  /// UTF-8 text re-encoded as UTF-16 (`wide`, `utf16le`, `utf16be`, `utf16` with a BOM).
  static std::string encode_text(const std::string& text, const std::string& encoding) {
    if (encoding.empty()) return text;
    std::string out;
    const bool be = encoding == "utf16be";
    if (encoding == "utf16") out += "\xFF\xFE";
    auto unit = [&](unsigned u) {
      char lo = static_cast<char>(u & 0xff), hi = static_cast<char>(u >> 8);
      out += be ? hi : lo;
      out += be ? lo : hi;
    };
    for (std::size_t i = 0; i < text.size();) {
      unsigned char c = static_cast<unsigned char>(text[i]);
      unsigned cp = c;
      std::size_t len = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 1;
      if (len > 1 && i + len <= text.size()) {
        cp = c & (0x7f >> len);
        for (std::size_t k = 1; k < len; ++k)
          cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
      } else {
        len = 1;
      }
      i += len;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        unit(0xD800 + (cp >> 10));
        unit(0xDC00 + (cp & 0x3ff));
      } else {
        unit(cp);
      }
    }
    return out;
  }

  static const char* compare_name(op o) {
    switch (o) {
      case op::gt:
        return "gt";
      case op::gte:
        return "gte";
      case op::lt:
        return "lt";
      default:
        return "lte";
    }
  }

  static std::string lowered(std::string_view s, bool cased) {
    std::string out(s);
    if (!cased)
      for (char& c : out) c = detail::lower(c);
    return out;
  }

  /// Sigma string value: `*` and `?` are wildcards, `\*`, `\?` and `\\` escape them.
  static value_matcher string_matcher(std::string_view raw, const modifiers& mods) {
    value_matcher m;
    m.cased = mods.cased;
    std::string bytes;
    std::vector<glob_byte> kinds;
    if (mods.contains || mods.endswith) {
      bytes += '*';
      kinds.push_back(glob_byte::star);
    }
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '\\' && i + 1 < raw.size() &&
          (raw[i + 1] == '*' || raw[i + 1] == '?' || raw[i + 1] == '\\')) {
        bytes += raw[++i];
        kinds.push_back(glob_byte::literal);
      } else if (c == '*') {
        if (kinds.empty() || kinds.back() != glob_byte::star) {
          bytes += '*';
          kinds.push_back(glob_byte::star);
        }
      } else if (c == '?') {
        bytes += '?';
        kinds.push_back(glob_byte::any);
      } else {
        bytes += m.cased ? c : detail::lower(c);
        kinds.push_back(glob_byte::literal);
      }
    }
    if ((mods.contains || mods.startswith) && (kinds.empty() || kinds.back() != glob_byte::star)) {
      bytes += '*';
      kinds.push_back(glob_byte::star);
    }
    // Specialise: wildcards only at the ends become equals/contains/startswith/endswith.
    bool lead = !kinds.empty() && kinds.front() == glob_byte::star;
    bool trail = kinds.size() > (lead ? 1u : 0u) && kinds.back() == glob_byte::star;
    std::size_t from = lead ? 1 : 0, to = kinds.size() - (trail ? 1 : 0);
    bool inner_wild = false;
    for (std::size_t i = from; i < to; ++i) inner_wild |= kinds[i] != glob_byte::literal;
    if (inner_wild) {
      m.kind = op::glob;
      m.text = std::move(bytes);
      m.glob = std::move(kinds);
      return m;
    }
    m.text = bytes.substr(from, to - from);
    m.kind = lead && trail ? op::contains
             : lead        ? op::endswith
             : trail       ? op::startswith
                           : op::equals;
    return m;
  }

  static bool parse_cidr(const std::string& text, value_matcher& m) {
    std::size_t slash = text.find('/');
    std::string addr = text.substr(0, slash);
    bool v6 = addr.find(':') != std::string::npos;
    int max_prefix = v6 ? 128 : 32;
    int prefix = max_prefix;
    if (slash != std::string::npos) {
      std::string_view p = std::string_view(text).substr(slash + 1);
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
      if (p.empty() || ec != std::errc{} || ptr != p.data() + p.size() || prefix < 0 ||
          prefix > max_prefix)
        return false;
    }
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), m.net.data()) != 1) return false;
    m.family = v6 ? 6 : 4;
    m.prefix = static_cast<std::uint8_t>(prefix);
    return true;
  }

  /// A correlation that passed its own checks, waiting for every file to load.
  struct pending {
    correlation_rule rule;
    std::vector<where> refs;  // where each `rules` entry is written
    where at;                 // the document
  };

  const load_options& options_;
  load_result out_;
  std::vector<pending> pending_;
  std::map<std::string, std::string> ids_;
  std::string file_;
  int line_offset_ = 0;
  bool failed_ = false;
  YAML::Mark doc_mark_;
};

}  // namespace

bool load_result::has_errors() const { return error_count() > 0; }

std::size_t load_result::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(diagnostics.begin(), diagnostics.end(),
                    [](const diagnostic& d) { return d.sev == severity::error; }));
}

std::size_t load_result::warning_count() const { return diagnostics.size() - error_count(); }

load_result parse_rules(std::string_view yaml_text, std::string_view file_name,
                        const load_options& options) {
  loader l(options);
  l.load_text(yaml_text, std::string(file_name));
  return l.take();
}

result<std::vector<logsource_mapping>> parse_logsource_mappings(std::string_view yaml_text,
                                                                std::string_view file_name) {
  auto fail = [&](const YAML::Mark& m, std::string message) -> error {
    diagnostic d{severity::error, std::string(file_name), m.line >= 0 ? m.line + 1 : 1,
                 m.column >= 0 ? m.column + 1 : 1, std::move(message)};
    return {d.to_string()};
  };
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return fail(e.mark, "invalid YAML: " + e.msg);
  }
  std::vector<logsource_mapping> out;
  if (!root.IsDefined() || root.IsNull()) return out;
  if (!root.IsMap()) return fail(root.Mark(), "expected a mapping with 'logsources'");
  const YAML::Node list = root["logsources"];
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence())
    return fail(list.Mark(),
                "'logsources' must be a list of {product, service, category, channel}");
  for (const auto& item : list) {
    if (!item.IsMap())
      return fail(item.Mark(),
                  "a logsource mapping must be a mapping such as "
                  "{product: windows, service: security, channel: winsec}");
    logsource_mapping m;
    for (const auto& kv : item) {
      const std::string k = kv.first.Scalar();
      std::string* slot = k == "product"    ? &m.product
                          : k == "service"  ? &m.service
                          : k == "category" ? &m.category
                          : k == "channel"  ? &m.channel
                                            : nullptr;
      if (slot == nullptr)
        return fail(kv.first.Mark(), "unknown logsource key '" + k +
                                         "' (expected product, service, category, channel)");
      if (!kv.second.IsScalar()) return fail(kv.second.Mark(), "'" + k + "' must be a string");
      *slot = kv.second.Scalar();
    }
    if (m.channel.empty()) return fail(item.Mark(), "logsource mapping has no 'channel'");
    out.push_back(std::move(m));
  }
  return out;
}

load_result load_rules(const std::filesystem::path& file_or_dir, const load_options& options) {
  namespace fs = std::filesystem;
  loader l(options);
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(file_or_dir, ec)) {
    for (fs::recursive_directory_iterator
             it(file_or_dir, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto ext = it->path().extension();
      if (ext == ".yml" || ext == ".yaml") files.push_back(it->path());
    }
    if (ec) l.fail_file(file_or_dir.string(), "cannot read folder: " + ec.message());
    std::sort(files.begin(), files.end());
  } else if (fs::exists(file_or_dir, ec)) {
    files.push_back(file_or_dir);
  } else {
    l.fail_file(file_or_dir.string(), "no such rule file or folder");
  }
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      l.fail_file(path.string(), "cannot open rule file");
      continue;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    l.load_text(buffer.str(), path.string());
  }
  return l.take();
}

}  // namespace sentrail::rules
