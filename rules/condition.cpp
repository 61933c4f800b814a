// Sigma condition parser: identifiers, and/or/not, parentheses, `1 of X*`,
// `all of X*`, `1 of them`, `all of them`. Precedence: not > and > or.

#include <cctype>
#include <string>

#include "rules/detail/compiled.h"

namespace sentrail::rules::detail {
namespace {

struct token {
  enum kind_t { word, open, close, end } kind = end;
  std::string_view text;
  std::size_t offset = 0;
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

/// 'text', built without `"'" + std::string` (GCC 12 warns falsely on that: PR 105329).
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

/// `*` matches any run of characters; everything else literally.
bool name_matches(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
  while (s < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = s;
    } else if (p < pattern.size() && pattern[p] == name[s]) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

class parser {
 public:
  parser(std::string_view text, const std::vector<std::string>& names,
         std::vector<cond_node>& nodes)
      : text_(text), names_(names), nodes_(nodes) {
    advance();
  }

  std::optional<condition_error> run(int& root) {
    if (error_) return error_;
    if (cur_.kind == token::end) return condition_error{0, "condition is empty"};
    root = parse_or();
    if (error_) return error_;
    if (cur_.kind != token::end)
      return condition_error{cur_.offset,
                             "unexpected '" + std::string(cur_.text) + "' in condition"};
    return std::nullopt;
  }

 private:
  void advance() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ >= text_.size()) {
      cur_ = {token::end, {}, pos_};
      return;
    }
    char c = text_[pos_];
    if (c == '(' || c == ')') {
      cur_ = {c == '(' ? token::open : token::close, text_.substr(pos_, 1), pos_};
      ++pos_;
      return;
    }
    if (c == '|') {
      fail(pos_,
           "aggregation expressions ('| count() ...') are not supported; write a correlation rule");
      cur_ = {token::end, {}, pos_};
      return;
    }
    std::size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) &&
           text_[pos_] != '(' && text_[pos_] != ')' && text_[pos_] != '|')
      ++pos_;
    cur_ = {token::word, text_.substr(start, pos_ - start), start};
  }

  void fail(std::size_t offset, std::string message) {
    if (!error_) error_ = condition_error{offset, std::move(message)};
  }

  bool is_keyword(std::string_view kw) const {
    return cur_.kind == token::word && iequals(cur_.text, kw);
  }

  int add(node_kind kind, std::vector<int> items) {
    nodes_.push_back({kind, std::move(items)});
    return static_cast<int>(nodes_.size() - 1);
  }

  int parse_or() {
    std::vector<int> items{parse_and()};
    while (!error_ && is_keyword("or")) {
      advance();
      items.push_back(parse_and());
    }
    return items.size() == 1 ? items[0] : add(node_kind::any, std::move(items));
  }

  int parse_and() {
    std::vector<int> items{parse_unary()};
    while (!error_ && is_keyword("and")) {
      advance();
      items.push_back(parse_unary());
    }
    return items.size() == 1 ? items[0] : add(node_kind::all, std::move(items));
  }

  int parse_unary() {
    if (is_keyword("not")) {
      advance();
      int child = parse_unary();
      return add(node_kind::negate, {child});
    }
    return parse_primary();
  }

  int parse_primary() {
    if (error_) return -1;
    if (cur_.kind == token::open) {
      std::size_t open_at = cur_.offset;
      advance();
      int inner = parse_or();
      if (error_) return -1;
      if (cur_.kind != token::close) {
        fail(open_at, "unbalanced '(' in condition");
        return -1;
      }
      advance();
      return inner;
    }
    if (cur_.kind == token::close) {
      fail(cur_.offset, "unexpected ')' in condition");
      return -1;
    }
    if (cur_.kind == token::end) {
      fail(cur_.offset, "condition ends where a selection was expected");
      return -1;
    }
    if (is_keyword("and") || is_keyword("or")) {
      fail(cur_.offset, quoted(cur_.text) + " where a selection was expected");
      return -1;
    }
    token quantifier = cur_;
    advance();
    if (is_keyword("of")) {
      bool all = iequals(quantifier.text, "all");
      if (!all && quantifier.text != "1" && !iequals(quantifier.text, "any")) {
        fail(quantifier.offset, "only '1 of' and 'all of' are supported, not '" +
                                    std::string(quantifier.text) + " of'");
        return -1;
      }
      advance();
      if (cur_.kind != token::word) {
        fail(cur_.offset, "'of' must be followed by 'them' or a selection name pattern");
        return -1;
      }
      std::vector<int> selected;
      bool them = iequals(cur_.text, "them");
      for (std::size_t i = 0; i < names_.size(); ++i) {
        if (them ? !names_[i].starts_with('_') : name_matches(cur_.text, names_[i]))
          selected.push_back(static_cast<int>(i));
      }
      if (selected.empty()) {
        fail(cur_.offset, quoted(cur_.text) + " matches no selection");
        return -1;
      }
      advance();
      return add(all ? node_kind::all_of : node_kind::one_of, std::move(selected));
    }
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == quantifier.text) return add(node_kind::ref, {static_cast<int>(i)});
    fail(quantifier.offset,
         "unknown selection '" + std::string(quantifier.text) + "' in condition");
    return -1;
  }

  std::string_view text_;
  const std::vector<std::string>& names_;
  std::vector<cond_node>& nodes_;
  std::size_t pos_ = 0;
  token cur_;
  std::optional<condition_error> error_;
};

}  // namespace

std::optional<condition_error> parse_condition(std::string_view text,
                                               const std::vector<std::string>& names,
                                               std::vector<cond_node>& nodes, int& root) {
  parser p(text, names, nodes);
  return p.run(root);
}

}  // namespace sentrail::rules::detail
