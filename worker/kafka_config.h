#pragma once
// librdkafka configuration shared by the worker's clients (internal to worker/).

#include <librdkafka/rdkafkacpp.h>

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sentrail::worker {

inline status configure(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string err;
  if (conf.set(key, value, err) != RdKafka::Conf::CONF_OK)
    return error{"kafka property " + key + "=" + value + ": " + err};
  return {};
}

/// The user's pass-through properties for one kind of client: unprefixed ones
/// apply to both, `consumer.` and `producer.` ones to that kind only.
inline status configure_passthrough(RdKafka::Conf& conf,
                                    const std::vector<std::pair<std::string, std::string>>& properties,
                                    bool consumer) {
  const std::string mine = consumer ? "consumer." : "producer.";
  const std::string other = consumer ? "producer." : "consumer.";
  for (const auto& [k, v] : properties) {
    if (k.rfind(other, 0) == 0) continue;
    if (auto s = configure(conf, k.rfind(mine, 0) == 0 ? k.substr(mine.size()) : k, v); !s) return s;
  }
  return {};
}

}  // namespace sentrail::worker
