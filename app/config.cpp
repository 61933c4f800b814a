#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iterator>
#include <set>
#include <typeinfo>

#include "rules/timespan.h"

namespace sentrail::app {
namespace {

std::string where(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1);
}

status check_keys(const std::string& file, const YAML::Node& map, const std::set<std::string>& known) {
  for (const auto& kv : map) {
    auto key = kv.first.as<std::string>();
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return error{where(file, kv.first) + ": unknown key '" + key + "' (expected one of " + list + ")"};
    }
  }
  return {};
}

// One entry of `sinks:` (docs/sinks.md).
result<alert::sink_config> load_sink(const std::string& file, const YAML::Node& n) {
  if (!n.IsMap()) return error{where(file, n) + ": a sink must be a map with name and type"};
  if (auto s = check_keys(file, n, {"name", "type", "match", "url", "headers", "timeout", "console_url", "path",
                                    "max_attempts", "initial_backoff", "max_backoff"}); !s)
    return error{s.message()};
  alert::sink_config c;
  if (!n["name"] || !alert::valid_sink_name(n["name"].as<std::string>()))
    return error{where(file, n["name"] ? n["name"] : n) + ": a sink needs a name of letters, digits, '_', '-' or '.'"};
  c.name = n["name"].as<std::string>();
  auto type = n["type"] ? n["type"].as<std::string>() : "";
  if (type == "webhook") c.type = alert::sink_type::webhook;
  else if (type == "alertmanager") c.type = alert::sink_type::alertmanager;
  else if (type == "jsonl") c.type = alert::sink_type::jsonl;
  else return error{where(file, n["type"] ? n["type"] : n) + ": sink type must be webhook, alertmanager or jsonl"};
  // Each type takes its own settings; another type's are refused rather than ignored.
  std::set<std::string> own = c.type == alert::sink_type::jsonl     ? std::set<std::string>{"path"}
                              : c.type == alert::sink_type::webhook ? std::set<std::string>{"url", "headers", "timeout"}
                                                                    : std::set<std::string>{"url", "timeout", "console_url"};
  for (const char* key : {"url", "headers", "timeout", "console_url", "path"})
    if (n[key] && !own.count(key))
      return error{where(file, n[key]) + ": '" + key + "' does not apply to a " + type + " sink"};
  if (c.type == alert::sink_type::jsonl) {
    if (!n["path"]) return error{where(file, n) + ": a jsonl sink needs a path"};
    c.path = n["path"].as<std::string>();
  } else {
    if (!n["url"]) return error{where(file, n) + ": a " + type + " sink needs a url"};
    c.url = n["url"].as<std::string>();
    if (!c.url.starts_with("http://") && !c.url.starts_with("https://"))
      return error{where(file, n["url"]) + ": url must start with http:// or https://"};
  }
  if (auto h = n["headers"]) {
    if (!h.IsMap()) return error{where(file, h) + ": headers must map header names to values"};
    for (const auto& kv : h) c.headers[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  if (n["console_url"]) c.console_url = n["console_url"].as<std::string>();
  for (auto [name, slot] : {std::pair{"timeout", &c.timeout}, std::pair{"initial_backoff", &c.retry.initial},
                            std::pair{"max_backoff", &c.retry.max}}) {
    if (!n[name]) continue;
    auto span = rules::parse_timespan_ns(n[name].as<std::string>());
    if (!span || *span <= 0) return error{where(file, n[name]) + ": " + name + " must be a timespan such as 500ms, 5s or 1m"};
    *slot = std::chrono::nanoseconds(*span);
  }
  if (c.retry.initial > c.retry.max)
    return error{where(file, n) + ": initial_backoff must not exceed max_backoff"};
  if (auto a = n["max_attempts"]) {
    c.retry.max_attempts = a.as<int>();
    if (c.retry.max_attempts < 1) return error{where(file, a) + ": max_attempts must be at least 1"};
  }
  if (auto m = n["match"]) {
    if (!m.IsMap()) return error{where(file, m) + ": match must be a map"};
    if (auto s = check_keys(file, m, {"min_level", "levels", "tags", "rules"}); !s) return error{s.message()};
    auto level = [&](const YAML::Node& v) -> result<std::string> {
      auto text = v.as<std::string>();
      if (!alert::level_rank(text))
        return error{where(file, v) + ": unknown level '" + text + "' (informational, low, medium, high or critical)"};
      return text;
    };
    if (auto v = m["min_level"]) {
      auto l = level(v);
      if (!l) return error{l.message()};
      c.match.min_level = alert::level_rank(*l);
    }
    for (auto [name, list] : {std::pair{"levels", &c.match.levels}, std::pair{"tags", &c.match.tags},
                              std::pair{"rules", &c.match.rules}}) {
      auto v = m[name];
      if (!v) continue;
      if (!v.IsSequence()) return error{where(file, v) + ": match." + name + " must be a list"};
      for (const auto& item : v) {
        if (std::string_view(name) == "levels") {
          auto l = level(item);
          if (!l) return error{l.message()};
        }
        list->push_back(item.as<std::string>());
      }
    }
  }
  return c;
}

bool at_mark(const YAML::Node& n, const YAML::Mark& mark) {
  return n.Mark().line == mark.line && n.Mark().column == mark.column;
}

// The dotted path of the value at `mark` ("kafka.batch_max_messages",
// "sinks[0].max_attempts"), or "" when no value starts there: yaml-cpp's
// conversion error knows where the value is, not what it was for.
std::string key_at(const YAML::Node& n, const YAML::Mark& mark, const std::string& path = "") {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string here = path.empty() ? key : path + "." + key;
      if (at_mark(kv.second, mark)) return here;
      if (auto inner = key_at(kv.second, mark, here); !inner.empty()) return inner;
    }
  } else if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      const std::string here = path + "[" + std::to_string(i) + "]";
      if (at_mark(n[i], mark)) return here;
      if (auto inner = key_at(n[i], mark, here); !inner.empty()) return inner;
    }
  }
  return "";
}
}  // namespace

result<engine_config> load_config(const std::string& file, engine_config c) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
    if (root.IsNull()) return c;
    if (!root.IsMap()) return error{where(file, root) + ": the configuration must be a YAML map"};
    if (auto s = check_keys(file, root, {"kafka", "topics", "rules", "state", "mappings", "privacy",
                                         "ingest", "metrics_port", "api_port", "api", "output", "correlation", "store", "sinks",
                                         "logsources", "placeholders"}); !s)
      return error{s.message()};
    if (auto k = root["kafka"]) {
      if (auto s = check_keys(file, k,
                              {"brokers", "group", "properties", "batch_max_messages", "batch_max_ms", "alignment"});
          !s)
        return error{s.message()};
      if (auto a = k["alignment"]) {
        const std::string text = a.IsScalar() ? a.Scalar() : "";
        auto span = rules::parse_timespan_ns(text);
        if (text == "off") c.worker.alignment_ms = -1;
        else if (span && *span >= 0) c.worker.alignment_ms = *span / 1'000'000;
        else return error{where(file, a) + ": kafka.alignment must be a timespan such as 1s or 500ms, or off"};
      }
      if (k["brokers"]) c.worker.brokers = k["brokers"].as<std::string>();
      if (k["group"]) c.worker.group = k["group"].as<std::string>();
      if (k["batch_max_messages"]) c.worker.batch_max_messages = k["batch_max_messages"].as<std::size_t>();
      if (k["batch_max_ms"]) c.worker.batch_max_ms = k["batch_max_ms"].as<int>();
      if (auto p = k["properties"]) {
        if (!p.IsMap()) return error{where(file, p) + ": kafka.properties must map librdkafka names to values"};
        for (const auto& kv : p)
          c.worker.kafka_properties.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
      }
    }
    if (auto t = root["topics"]) {
      if (auto s = check_keys(file, t, {"alerts", "deadletter"}); !s) return error{s.message()};
      if (t["alerts"]) c.worker.alerts_topic = t["alerts"].as<std::string>();
      if (t["deadletter"]) c.worker.deadletter_topic = t["deadletter"].as<std::string>();
    }
    if (root["rules"]) c.rules_path = root["rules"].as<std::string>();
    if (root["logsources"]) {
      std::ifstream in(file);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto mappings = rules::parse_logsource_mappings(text, file);
      if (!mappings) return error{mappings.message()};
      c.rule_loading.mappings = std::move(mappings).value();
    }
    if (auto p = root["placeholders"]) {
      if (!p.IsMap()) return error{where(file, p) + ": placeholders must map a name to a list of values"};
      for (const auto& kv : p) {
        const YAML::Node& values = kv.second;
        std::vector<std::string> list;
        if (values.IsScalar()) {
          list.push_back(values.Scalar());
        } else if (values.IsSequence()) {
          for (const auto& v : values) {
            if (!v.IsScalar()) return error{where(file, v) + ": a placeholder value must be a string"};
            list.push_back(v.Scalar());
          }
        } else {
          return error{where(file, kv.second) + ": placeholder '" + kv.first.Scalar() + "' must be a list of values"};
        }
        c.rule_loading.placeholders[kv.first.Scalar()] = std::move(list);
      }
    }
    if (root["state"]) c.state_dir = root["state"].as<std::string>();
    if (root["mappings"]) c.mappings_dir = root["mappings"].as<std::string>();
    if (auto p = root["privacy"]) {
      if (auto s = check_keys(file, p, {"hmac_key_file"}); !s) return error{s.message()};
      if (p["hmac_key_file"]) c.hmac_key_file = p["hmac_key_file"].as<std::string>();
    }
    if (auto i = root["ingest"]) {
      if (auto s = check_keys(file, i, {"max_message_bytes"}); !s) return error{s.message()};
      if (i["max_message_bytes"]) c.worker.decoding.max_message_bytes = i["max_message_bytes"].as<std::size_t>();
    }
    if (auto k = root["correlation"]) {
      if (auto s = check_keys(file, k,
                              {"allowed_lateness", "idle_timeout", "evidence_retention", "evidence", "evidence_memory_mb"});
          !s)
        return error{s.message()};
      if (auto m = k["evidence_memory_mb"]) {
        auto mb = m.as<std::size_t>();
        if (mb > 65536) return error{where(file, m) + ": evidence_memory_mb must be at most 65536 (64 GiB)"};
        c.evidence_memory_bytes = mb << 20;
      }
      if (auto ev = k["evidence"]) {
        std::string mode = ev.IsScalar() ? ev.as<std::string>() : "";
        if (mode != "stored" && mode != "reference")
          return error{where(file, ev) + ": evidence must be stored or reference"};
        c.evidence_by_reference = mode == "reference";
      }
      for (auto [name, slot] : {std::pair{"allowed_lateness", &c.correlation.allowed_lateness},
                                std::pair{"idle_timeout", &c.correlation.idle_timeout},
                                std::pair{"evidence_retention", &c.correlation.evidence_margin}}) {
        if (!k[name]) continue;
        auto span = rules::parse_timespan_ns(k[name].as<std::string>());
        if (!span) return error{where(file, k[name]) + ": " + name + " must be a timespan such as 5s, 1m or 1d"};
        *slot = *span;
      }
    }
    if (auto k = root["store"]) {
      if (auto s = check_keys(file, k, {"block_cache_mb", "write_buffer_mb", "cache_entries", "sync_writes", "rocksdb"});
          !s)
        return error{s.message()};
      if (auto r = k["rocksdb"]) {
        if (auto s = check_keys(file, r, {"db", "column_families"}); !s) return error{s.message()};
        for (auto [name, slot] : {std::pair{"db", &c.store.rocksdb_db_options},
                                  std::pair{"column_families", &c.store.rocksdb_column_family_options}}) {
          if (!r[name]) continue;
          if (!r[name].IsScalar())
            return error{where(file, r[name]) + ": store.rocksdb." + name +
                         " must be a RocksDB option string such as \"name=value;name=value\""};
          *slot = r[name].Scalar();
          store::store_options alone;  // this string only, so the error points at it
          (slot == &c.store.rocksdb_db_options ? alone.rocksdb_db_options : alone.rocksdb_column_family_options) = *slot;
          if (auto s = store::check_tuning(alone); !s) return error{where(file, r[name]) + ": " + s.message()};
        }
      }
      if (k["block_cache_mb"]) c.store.block_cache_bytes = k["block_cache_mb"].as<std::size_t>() << 20;
      if (k["write_buffer_mb"]) c.store.write_buffer_bytes = k["write_buffer_mb"].as<std::size_t>() << 20;
      if (k["cache_entries"]) c.worker.state_cache_entries = k["cache_entries"].as<std::size_t>();
      if (k["sync_writes"]) c.store.sync_writes = k["sync_writes"].as<bool>();
    }
    if (auto list = root["sinks"]) {
      if (!list.IsSequence()) return error{where(file, list) + ": sinks must be a list"};
      c.sinks.clear();
      for (const auto& n : list) {
        auto sink = load_sink(file, n);
        if (!sink) return error{sink.message()};
        for (const auto& other : c.sinks)
          if (other.name == sink->name) return error{where(file, n["name"]) + ": a second sink named " + sink->name};
        c.sinks.push_back(std::move(sink).value());
      }
    }
    if (root["metrics_port"]) c.metrics_port = root["metrics_port"].as<int>();
    if (root["api_port"]) c.api.port = root["api_port"].as<int>();
    if (auto a = root["api"]) {
      if (auto s = check_keys(file, a, {"port", "bind", "tokens_file", "incident_span", "max_body_bytes", "tls_cert",
                                        "tls_key"});
          !s)
        return error{s.message()};
      if (a["port"]) c.api.port = a["port"].as<int>();
      if (a["bind"]) c.api.bind = a["bind"].as<std::string>();
      if (a["tokens_file"]) c.api.tokens_file = a["tokens_file"].as<std::string>();
      if (a["max_body_bytes"]) c.api.max_body_bytes = a["max_body_bytes"].as<std::size_t>();
      if (a["tls_cert"]) c.api.tls_cert = a["tls_cert"].as<std::string>();
      if (a["tls_key"]) c.api.tls_key = a["tls_key"].as<std::string>();
      if (auto span = a["incident_span"]) {
        auto ns = rules::parse_timespan_ns(span.as<std::string>());
        if (!ns || *ns <= 0) return error{where(file, span) + ": incident_span must be a timespan such as 30m or 1h"};
        c.api.incident_span = *ns;
      }
      if (c.api.tls_cert.empty() != c.api.tls_key.empty())
        return error{where(file, a) + ": api.tls_cert and api.tls_key go together (both for HTTPS, neither for HTTP)"};
    }
    if (auto o = root["output"]) {
      auto f = o.as<std::string>();
      if (f == "json") c.worker.stdout_format = alert::console_format::json;
      else if (f == "text") c.worker.stdout_format = alert::console_format::text;
      else if (f == "none") c.worker.stdout_format = alert::console_format::none;
      else return error{where(file, o) + ": output must be json, text or none"};
    }
    return c;
  } catch (const YAML::BadFile&) {
    return error{file + ": cannot read the configuration file"};
  } catch (const YAML::BadConversion& e) {
    // yaml-cpp says only "bad conversion"; the type it was asked for says what was expected.
    const std::type_info& asked = typeid(e);
    const char* expected = asked == typeid(YAML::TypedBadConversion<bool>) ? "true or false"
                           : asked == typeid(YAML::TypedBadConversion<std::size_t>) ? "a whole number, 0 or more"
                           : asked == typeid(YAML::TypedBadConversion<int>)         ? "a whole number"
                           : asked == typeid(YAML::TypedBadConversion<std::string>) ? "a single value"
                                                                                     : nullptr;
    const std::string key = key_at(root, e.mark);
    return error{file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " +
                 (key.empty() ? "" : key + ": ") + (expected ? std::string("expected ") + expected + " here" : e.msg)};
  } catch (const YAML::Exception& e) {
    return error{file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                 ": " + e.msg};
  }
}

}  // namespace sentrail::app
