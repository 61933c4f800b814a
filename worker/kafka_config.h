#pragma once
// librdkafka configuration shared by the worker's clients (internal to worker/).

#include <librdkafka/rdkafkacpp.h>

#include <memory>
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

/// Asks the broker about these topics now, so that a client's first read of or
/// write to them does not wait for their metadata first. librdkafka keeps what it
/// learns while a handle to the topic lives, so the handles are returned. Stops at
/// the first topic the broker does not answer for within 2 s: with the broker
/// down, start-up waits 2 s, not 2 s a topic, and the client asks again later.
inline std::vector<std::unique_ptr<RdKafka::Topic>> learn_topics(RdKafka::Handle& client,
                                                                 const std::vector<std::string>& names) {
  std::vector<std::unique_ptr<RdKafka::Topic>> handles;
  std::string err;
  for (const auto& name : names) {
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(&client, name, nullptr, err));
    if (!topic) continue;  // the client names the topic again when it uses it, and reports what is wrong
    RdKafka::Metadata* md = nullptr;
    const bool answered = client.metadata(false, topic.get(), &md, 2000) == RdKafka::ERR_NO_ERROR;
    delete md;
    handles.push_back(std::move(topic));
    if (!answered) break;
  }
  return handles;
}

}  // namespace sentrail::worker
