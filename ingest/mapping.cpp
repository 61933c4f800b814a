#include "ingest/mapping.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "ingest/default_mappings.h"

namespace sentrail::ingest {
namespace {

std::string where(std::string_view file, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return std::string(file) + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

error fail(std::string_view file, const YAML::Node& node, const std::string& cause) {
  return error{where(file, node) + ": " + cause};
}

std::optional<field_type> type_named(const std::string& s) {
  if (s == "any") return field_type::any;
  if (s == "string") return field_type::string;
  if (s == "number") return field_type::number;
  if (s == "boolean") return field_type::boolean;
  if (s == "card") return field_type::card;
  return std::nullopt;
}

std::optional<field_policy> policy_named(const std::string& s) {
  if (s == "keep") return field_policy::keep;
  if (s == "hash") return field_policy::hash;
  if (s == "mask") return field_policy::mask;
  if (s == "drop") return field_policy::drop;
  return std::nullopt;
}

result<channel_mapping> parse_node(const YAML::Node& root, std::string_view file) {
  if (!root.IsMap()) return fail(file, root, "a mapping file must be a YAML map");
  static const std::set<std::string> known_keys = {"channel", "topic",   "formats", "timestamp",
                                                   "required", "fields", "outcome", "privacy"};
  channel_mapping m;
  m.source_file = file;
  for (const auto& kv : root) {
    auto key = kv.first.as<std::string>();
    if (!known_keys.count(key))
      return fail(file, kv.first, "unknown key '" + key + "' (expected one of channel, topic, "
                                  "formats, timestamp, required, fields, outcome, privacy)");
  }
  if (!root["channel"] || !root["channel"].IsScalar())
    return fail(file, root, "missing 'channel' (the channel's name, e.g. web)");
  m.name = root["channel"].as<std::string>();
  if (m.name.empty()) return fail(file, root["channel"], "'channel' is empty");
  m.topic = root["topic"] ? root["topic"].as<std::string>() : "retail." + m.name;
  if (auto f = root["formats"]) {
    if (!f.IsSequence()) return fail(file, f, "'formats' must be a list (json, access_log)");
    m.formats.clear();
    for (const auto& item : f) {
      auto s = item.as<std::string>();
      if (s == "json") m.formats.push_back(input_format::json);
      else if (s == "access_log") m.formats.push_back(input_format::access_log);
      else return fail(file, item, "unknown format '" + s + "' (expected json or access_log)");
    }
  }
  if (auto t = root["timestamp"]) m.timestamp_field = t.as<std::string>();
  if (auto r = root["required"]) {
    if (!r.IsSequence()) return fail(file, r, "'required' must be a list of raw field names");
    for (const auto& item : r) m.required.push_back(item.as<std::string>());
  }
  auto& names = field_table::global();
  if (auto fields = root["fields"]) {
    if (!fields.IsMap()) return fail(file, fields, "'fields' must map raw names to normalised names");
    for (const auto& kv : fields) {
      mapped_field mf;
      auto raw = kv.first.as<std::string>();
      const YAML::Node& spec = kv.second;
      if (spec.IsScalar()) {
        mf.target_name = spec.as<std::string>();
      } else if (spec.IsMap()) {
        if (!spec["to"]) return fail(file, spec, "field '" + raw + "' needs 'to: <normalised name>'");
        mf.target_name = spec["to"].as<std::string>();
        if (auto t = spec["type"]) {
          auto type = type_named(t.as<std::string>());
          if (!type)
            return fail(file, t, "unknown type '" + t.as<std::string>() +
                                     "' (expected any, string, number, boolean, card)");
          mf.type = *type;
        }
      } else {
        return fail(file, spec, "field '" + raw + "' must be a name or {to, type}");
      }
      if (mf.target_name.empty()) return fail(file, spec, "field '" + raw + "' maps to an empty name");
      mf.target = names.intern(mf.target_name);
      mf.interned_name = names.name(mf.target);
      m.fields.emplace(std::move(raw), std::move(mf));
    }
  }
  if (auto outcome = root["outcome"]) {
    if (!outcome.IsMap()) return fail(file, outcome, "'outcome' must map an outcome to actions");
    for (const auto& kv : outcome) {
      auto result_name = kv.first.as<std::string>();
      if (result_name != "success" && result_name != "failure" && result_name != "unknown")
        return fail(file, kv.first, "unknown outcome '" + result_name +
                                        "' (expected success, failure or unknown)");
      if (!kv.second.IsSequence())
        return fail(file, kv.second, "outcome '" + result_name + "' must list event actions");
      for (const auto& action : kv.second) m.outcomes[action.as<std::string>()] = result_name;
    }
  }
  if (auto privacy = root["privacy"]) {
    if (!privacy.IsMap()) return fail(file, privacy, "'privacy' must map normalised fields to a policy");
    for (const auto& kv : privacy) {
      auto policy = policy_named(kv.second.as<std::string>());
      if (!policy)
        return fail(file, kv.second, "unknown policy '" + kv.second.as<std::string>() +
                                         "' (expected keep, hash, mask or drop)");
      m.policies.emplace_back(names.intern(kv.first.as<std::string>()), *policy);
    }
  }
  return m;
}

}  // namespace

bool channel_mapping::accepts(input_format f) const {
  return std::find(formats.begin(), formats.end(), f) != formats.end();
}

const mapped_field* channel_mapping::find(std::string_view raw) const {
  auto it = fields.find(raw);
  return it == fields.end() ? nullptr : &it->second;
}

void channel_catalog::add(channel_mapping m) {
  for (auto& existing : channels_) {
    if (existing.name == m.name) {
      existing = std::move(m);
      return;
    }
  }
  channels_.push_back(std::move(m));
}

const channel_mapping* channel_catalog::by_name(std::string_view name) const {
  for (const auto& c : channels_)
    if (c.name == name) return &c;
  return nullptr;
}

const channel_mapping* channel_catalog::by_topic(std::string_view topic) const {
  for (const auto& c : channels_)
    if (c.topic == topic) return &c;
  return nullptr;
}

std::vector<std::string> channel_catalog::topics() const {
  std::vector<std::string> out;
  for (const auto& c : channels_) out.push_back(c.topic);
  return out;
}

result<channel_mapping> parse_mapping(std::string_view yaml_text, std::string_view file_name) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    return parse_node(root, file_name);
  } catch (const YAML::Exception& e) {
    return error{std::string(file_name) + ":" + std::to_string(e.mark.line + 1) + ":" +
                 std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
}

result<channel_catalog> default_catalog() {
  channel_catalog catalog;
  for (const auto& [name, text] : default_mapping_files()) {
    auto m = parse_mapping(text, std::string("<built-in>/") + std::string(name));
    if (!m) return m.err();
    catalog.add(std::move(m).value());
  }
  return catalog;
}

result<channel_catalog> load_catalog(const std::filesystem::path& dir) {
  auto catalog = default_catalog();
  if (!catalog) return catalog;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return error{dir.string() + ": not a directory of channel mappings"};
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return error{path.string() + ": cannot read"};
    auto m = parse_mapping(text.str(), path.string());
    if (!m) return m.err();
    catalog->add(std::move(m).value());
  }
  return catalog;
}

}  // namespace sentrail::ingest
