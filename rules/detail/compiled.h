#pragma once
// Internal: the compiled form of a detection. Not part of the public API; kept
// free of yaml-cpp and RE2 headers so it stays cheap to include.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/event.h"

namespace re2 {
class RE2;
}

namespace sentrail::rules::detail {

struct re2_deleter {
  void operator()(re2::RE2* re) const;
};

/// What one value of a field test checks.
enum class op : std::uint8_t {
  equals,      // text == pattern
  contains,    // pattern inside text
  startswith,  // text begins with pattern
  endswith,    // text ends with pattern
  glob,        // pattern with * and ? wildcards
  number_eq,   // numeric value: numbers numerically, other kinds textually
  regex,       // RE2 partial match
  cidr,        // IP address inside a network
  gt,
  gte,
  lt,
  lte,
  exists,    // field present (flag) or absent (!flag)
  is_null,   // field absent or null
  fieldref,  // equals the value of another field (`ref`)
};

/// Byte classes of a glob pattern.
enum class glob_byte : std::uint8_t { literal, star, any };

/// One compiled value of a field test.
struct value_matcher {
  op kind = op::equals;
  bool cased = false;       // compare case-sensitively (`cased` modifier)
  bool flag = false;        // exists: expected presence
  std::uint8_t family = 0;  // cidr: 4 or 6
  std::uint8_t prefix = 0;  // cidr: prefix length
  std::array<std::uint8_t, 16> net{};
  double number = 0;
  ingest::field_id ref = ingest::no_field;  // fieldref: the other field
  std::string text;  // fieldref: the other field's name  // lowercased unless cased
  std::vector<glob_byte> glob;
  std::unique_ptr<re2::RE2, re2_deleter> re;

  /// Rough relative cost, to try cheap tests first.
  int cost() const;
  /// Tests a present value `v` of event `e`.
  bool test(const ingest::field_value& v, const ingest::event& e) const;
};

/// Time modifiers: the part of a timestamp a field test compares.
enum class time_part : std::uint8_t { none, minute, hour, day, week, month, year };

/// `part` of UTC time `t`: minute 0-59, hour 0-23, day of month 1-31, ISO week
/// 1-53, month 1-12, year.
int time_part_of(timestamp_ns t, time_part part);

/// A field and the values it is tested against (OR, or AND with `all`).
struct field_matcher {
  ingest::field_id id = ingest::no_field;
  std::string name;
  bool any_field = false;  // keyword search: any string field
  bool all = false;
  bool negate = false;               // `neq`: present and matching none of the values
  time_part part = time_part::none;  // values compare this part of the field's time
  std::vector<value_matcher> values;

  int cost() const;
  bool test(const ingest::event& e) const;
};

/// A named selection: OR of alternatives, each an AND of field tests.
struct selection {
  std::string name;
  std::vector<std::vector<field_matcher>> alternatives;

  int cost() const;
  bool test(const ingest::event& e) const;
};

enum class node_kind : std::uint8_t { ref, all, any, negate, one_of, all_of };

/// A condition node. ref: items[0] is a selection; all/any/negate: child
/// nodes; one_of/all_of: selections.
struct cond_node {
  node_kind kind = node_kind::ref;
  std::vector<int> items;
};

struct compiled {
  std::vector<selection> selections;
  std::vector<cond_node> nodes;
  int root = -1;

  bool eval(const ingest::event& e, int node) const;
  /// Reorders AND/OR children so cheap tests run first.
  void optimise();
};

/// A condition syntax or reference error at a byte offset of the condition.
struct condition_error {
  std::size_t offset = 0;
  std::string message;
};

/// Parses a Sigma condition over `names` (selection names, index = selection
/// index) into `out.nodes`; returns the root node index or an error.
std::optional<condition_error> parse_condition(std::string_view text,
                                               const std::vector<std::string>& names,
                                               std::vector<cond_node>& nodes, int& root);

/// Lowercase ASCII, the only case folding Sigma matching needs on the hot path.
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace sentrail::rules::detail
