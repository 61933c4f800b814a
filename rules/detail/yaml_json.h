#pragma once
// Internal: YAML values of rule `tests:` as compact JSON. Not on the hot path.

#include <string>
#include <string_view>

namespace YAML {
class Node;
}

namespace sentrail::rules::detail {

/// Appends `n` as JSON to `out`. Plain scalars that read as JSON numbers,
/// booleans or null keep their type; everything else is a string, with every
/// "{i}" in string values replaced by `index`.
void append_json(const YAML::Node& n, std::string_view index, std::string& out);

/// Appends `text` as a quoted, escaped JSON string.
void append_json_string(std::string_view text, std::string& out);

}  // namespace sentrail::rules::detail
