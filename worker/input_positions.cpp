#include "worker/input_positions.h"

#include <algorithm>

namespace sentrail::worker {

void input_positions::expect(std::string_view topic, std::int32_t partition, std::int64_t next) {
  next_.find_or_add(topic, partition) = next;
}

void input_positions::forget(std::string_view topic, std::int32_t partition) { next_.erase(topic, partition); }

std::optional<std::int64_t> input_positions::read(std::string_view topic, std::int32_t partition,
                                                  std::int64_t offset) {
  std::int64_t* next = next_.find(topic, partition);
  if (!next) {
    next_.find_or_add(topic, partition, offset + 1);
    return std::nullopt;
  }
  const std::int64_t expected = *next;
  // Behind what was expected is a re-read (a rebalance resumed at the store's
  // position): nothing was skipped.
  *next = std::max(expected, offset + 1);
  if (offset > expected) return expected;
  return std::nullopt;
}

}  // namespace sentrail::worker
