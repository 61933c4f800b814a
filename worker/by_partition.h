#pragma once
// A value per input partition, looked up for every record read. There are tens
// of partitions, and records come in runs from one: a scan that starts from the
// last hit beats a map keyed by a built (topic, partition) string.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sentrail::worker {

template <class V>
class by_partition {
 public:
  struct slot {
    std::string topic;
    std::int32_t partition;
    V value;
  };

  const V* find(std::string_view topic, std::int32_t partition) const {
    if (last_ < slots_.size() && matches(slots_[last_], topic, partition)) return &slots_[last_].value;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (matches(slots_[i], topic, partition)) {
        last_ = i;
        return &slots_[i].value;
      }
    }
    return nullptr;
  }
  V* find(std::string_view topic, std::int32_t partition) {
    return const_cast<V*>(std::as_const(*this).find(topic, partition));
  }
  /// The partition's value, added as `initial` if it has none.
  V& find_or_add(std::string_view topic, std::int32_t partition, V initial = {}) {
    if (V* v = find(topic, partition)) return *v;
    slots_.push_back({std::string(topic), partition, std::move(initial)});
    last_ = slots_.size() - 1;
    return slots_.back().value;
  }
  void erase(std::string_view topic, std::int32_t partition) {
    std::erase_if(slots_, [&](const slot& s) { return matches(s, topic, partition); });
    last_ = 0;
  }
  std::vector<slot>& all() { return slots_; }
  const std::vector<slot>& all() const { return slots_; }

 private:
  static bool matches(const slot& s, std::string_view topic, std::int32_t partition) {
    return s.partition == partition && s.topic == topic;
  }
  std::vector<slot> slots_;
  mutable std::size_t last_ = 0;  // where the last lookup hit: a cache, not state
};

}  // namespace sentrail::worker
