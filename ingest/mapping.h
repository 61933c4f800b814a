#pragma once
// Declarative per-channel mappings from raw fields to the event model. One YAML
// file per channel (see ingest/mappings/ for the shipped defaults and
// docs/mappings.md for the format); a new channel needs only a new file.

#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/string_hash.h"
#include "ingest/event.h"

namespace sentrail::ingest {

/// The type a raw field must have; a different type sends the event to the dead letters.
enum class field_type { any, string, number, boolean, card };

/// What minimisation does with a normalised field before anything stores it.
enum class field_policy { keep, hash, mask, drop };

enum class input_format { json, access_log };

struct mapped_field {
  field_id target = no_field;
  std::string target_name;
  std::string_view interned_name;  // the field table's copy of target_name, stable for the process
  field_type type = field_type::any;
};

struct channel_mapping {
  std::string name;   // event.channel
  std::string topic;  // Kafka topic it is read from
  std::vector<input_format> formats{input_format::json};
  std::string timestamp_field = "ts";
  std::vector<std::string> required;
  /// Raw field (dotted path for nested JSON objects) → normalised field.
  string_map<mapped_field> fields;
  /// event.action value → event.outcome value.
  string_map<std::string> outcomes;
  std::vector<std::pair<field_id, field_policy>> policies;
  std::string source_file;  // where it was loaded from, for messages

  bool accepts(input_format f) const;
  const mapped_field* find(std::string_view raw) const;
};

/// All channels known to a running engine, findable by name and by topic.
class channel_catalog {
 public:
  /// Adds or replaces (by channel name) a mapping.
  void add(channel_mapping m);
  const channel_mapping* by_name(std::string_view name) const;
  const channel_mapping* by_topic(std::string_view topic) const;
  const std::vector<channel_mapping>& all() const { return channels_; }
  std::vector<std::string> topics() const;

 private:
  std::vector<channel_mapping> channels_;
};

/// Parses one mapping document; errors read "file:line:col: cause".
result<channel_mapping> parse_mapping(std::string_view yaml_text, std::string_view file_name);

/// The five reference channels, compiled into the binary.
result<channel_catalog> default_catalog();

/// The defaults plus every *.yaml/*.yml in `dir` (which add channels or replace defaults).
result<channel_catalog> load_catalog(const std::filesystem::path& dir);

}  // namespace sentrail::ingest
