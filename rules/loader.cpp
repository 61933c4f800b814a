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
#include <map>
#include <sstream>
#include <system_error>

#include "rules/detail/compiled.h"

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

const std::vector<std::string_view> known_unsupported = {"expand", "neq",  "minute", "hour",
                                                         "day",    "week", "month",  "year"};

class loader {
 public:
  explicit loader(const load_options& options) : options_(options) {}

  void load_text(std::string_view text, const std::string& file) {
    for (const auto& doc : split_documents(text)) load_document(doc, file);
  }

  void fail_file(const std::string& file, std::string message) {
    out_.diagnostics.push_back({severity::error, file, 0, 0, std::move(message)});
  }

  load_result take() { return std::move(out_); }

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
    const YAML::Node c = root["correlation"];
    if (!c.IsMap()) {
      error(c, "'correlation' must be a mapping");
      return;
    }
    r.type = scalar(c, "type");
    if (r.type.empty()) error(c, "correlation has no 'type'");
    r.rules = list(c, "rules");
    if (r.rules.empty()) error(c, "correlation has no 'rules'");
    r.group_by = list(c, "group-by");
    r.timespan = scalar(c, "timespan");
    if (c["generate"].IsDefined()) {
      const YAML::Node g = c["generate"];
      if (g.IsScalar() && (g.Scalar() == "true" || g.Scalar() == "false"))
        r.generate = g.Scalar() == "true";
      else
        error(g, "'generate' must be true or false");
    }
    const YAML::Node cond = c["condition"];
    if (cond.IsDefined()) {
      if (cond.IsMap()) {
        for (const auto& kv : cond)
          if (kv.second.IsScalar())
            r.condition.emplace_back(kv.first.Scalar(), kv.second.Scalar());
          else
            error(kv.second, "correlation condition values must be scalars");
      } else {
        error(cond, "correlation 'condition' must be a mapping such as {gte: 10}");
      }
    }
    const YAML::Node aliases = c["aliases"];
    if (aliases.IsDefined() && aliases.IsMap()) {
      for (const auto& a : aliases) {
        std::vector<std::pair<std::string, std::string>> per_rule;
        if (a.second.IsMap())
          for (const auto& kv : a.second)
            if (kv.second.IsScalar()) per_rule.emplace_back(kv.first.Scalar(), kv.second.Scalar());
        r.aliases.emplace_back(a.first.Scalar(), std::move(per_rule));
      }
    }
    for (const auto& kv : c) {
      const std::string& k = kv.first.Scalar();
      if (k == "type" || k == "rules" || k == "group-by" || k == "timespan" || k == "generate" ||
          k == "condition" || k == "aliases")
        continue;
      if (kv.second.IsScalar()) r.options.emplace_back(k, kv.second.Scalar());
    }
    if (failed_ || !claim_id(root, r.id)) return;
    out_.rules.add(std::move(r));
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
      f.all = mods.all;
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
         fieldref = false;
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
        if (std::find(known_unsupported.begin(), known_unsupported.end(), name) !=
            known_unsupported.end())
          problem = "modifier '" + name + "' is not supported yet";
        else
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
    const std::string& text = v.Scalar();
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
    if (!mods.contains && !mods.startswith && !mods.endswith && !mods.windash && is_plain(v) &&
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

  const load_options& options_;
  load_result out_;
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
