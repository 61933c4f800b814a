#include "worker/input_positions.h"

#include <algorithm>

namespace sentrail::worker {

input_positions::position* input_positions::find(std::string_view topic, std::int32_t partition) {
  if (last_ < positions_.size() && positions_[last_].partition == partition && positions_[last_].topic == topic)
    return &positions_[last_];
  for (std::size_t i = 0; i < positions_.size(); ++i) {
    if (positions_[i].partition == partition && positions_[i].topic == topic) {
      last_ = i;
      return &positions_[i];
    }
  }
  return nullptr;
}

void input_positions::expect(std::string_view topic, std::int32_t partition, std::int64_t next) {
  if (auto* p = find(topic, partition)) {
    p->next = next;
    return;
  }
  positions_.push_back({std::string(topic), partition, next});
}

void input_positions::forget(std::string_view topic, std::int32_t partition) {
  std::erase_if(positions_, [&](const position& p) { return p.partition == partition && p.topic == topic; });
  last_ = 0;
}

std::optional<std::int64_t> input_positions::read(std::string_view topic, std::int32_t partition,
                                                  std::int64_t offset) {
  position* p = find(topic, partition);
  if (!p) {
    positions_.push_back({std::string(topic), partition, offset + 1});
    last_ = positions_.size() - 1;
    return std::nullopt;
  }
  const std::int64_t expected = p->next;
  // Behind what was expected is a re-read (a rebalance resumed at the store's
  // position): nothing was skipped.
  p->next = std::max(expected, offset + 1);
  if (offset > expected) return expected;
  return std::nullopt;
}

}  // namespace sentrail::worker
