#pragma once
// Where each partition's next record should be, so that records the broker
// deleted before the engine read them are noticed. Kafka's retention can pass a
// consumer that lags or is stopped; librdkafka then restarts the partition at its
// log start (auto.offset.reset) and says nothing the application sees.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worker/by_partition.h"

namespace sentrail::worker {

class input_positions {
 public:
  /// The partition resumes at `next` (the store's position): a first record
  /// beyond it means records in between were skipped.
  void expect(std::string_view topic, std::int32_t partition, std::int64_t next);
  /// The partition is no longer read, or resumes where nothing says it should.
  void forget(std::string_view topic, std::int32_t partition);
  /// The record at `offset` was read. Returns the offset that was expected
  /// instead when records before `offset` were skipped, else nothing. A gap is not
  /// yet a loss: transaction markers and compaction leave gaps too (the caller
  /// asks the broker where the log now starts).
  std::optional<std::int64_t> read(std::string_view topic, std::int32_t partition, std::int64_t offset);

 private:
  by_partition<std::int64_t> next_;  // where each partition's next record should be
};

}  // namespace sentrail::worker
