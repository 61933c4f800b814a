#pragma once
// Evidence by reference for the streaming engine: instead of a copy of every
// correlated event in RocksDB (kept for the longest window plus a margin, and
// three quarters of what a drain writes), the engine keeps where each event came
// from and reads the few that alerts cite, or that a restart must buffer again,
// back from their topics. The topics' retention must then cover the longest
// correlation window plus the evidence margin (Kafka's default is 7 days).

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "ingest/decoder.h"
#include "ingest/event.h"
#include "ingest/mapping.h"
#include "ingest/minimise.h"
#include "metrics/metrics.h"

namespace RdKafka {
class KafkaConsumer;
class Topic;
}

namespace sentrail::worker {

struct worker_options;
class recent_records;

class kafka_rereader {
 public:
  /// Reads with its own consumer (group `<group>.evidence`, nothing committed),
  /// configured like the worker's: brokers and the consumer's Kafka properties.
  /// While the broker does not serve records that are still in their topics,
  /// reads wait for it (evidence is not given up for an outage) until `stop`.
  /// Records still in `recent` (the worker's latest input; optional, not owned)
  /// are read from there instead. Reads are counted by source in `metrics`.
  static result<std::unique_ptr<kafka_rereader>> open(const worker_options& options,
                                                     const ingest::channel_catalog& channels,
                                                     const ingest::minimiser& privacy,
                                                     const std::atomic<bool>& stop,
                                                     const recent_records* recent = nullptr,
                                                     metrics::engine_metrics* metrics = nullptr);
  ~kafka_rereader();

  /// Fetches these records together (one pass per partition, not a round trip
  /// each), for the reread() calls that follow. Records no longer in their
  /// topic (retention) are remembered as gone.
  void prefetch(const std::vector<ingest::source_position>& positions);
  /// The record at `from`, decoded and minimised again as ingest did; false when
  /// it is gone or no longer decodes. Fetches it first unless prefetched.
  bool reread(const ingest::source_position& from, ingest::event& out);
  /// A read gave up waiting for the broker because `stop` was asked for: what it
  /// did not read is missing from the alerts or buffer that asked (stays true).
  bool cut_short() const { return cut_short_; }

 private:
  kafka_rereader(std::unique_ptr<RdKafka::KafkaConsumer> consumer, std::vector<std::unique_ptr<RdKafka::Topic>> topics,
                 const ingest::channel_catalog& channels,
                 const ingest::minimiser& privacy, ingest::decoder_options decoding, const std::atomic<bool>& stop,
                 const recent_records* recent, metrics::engine_metrics* metrics);
  bool decode(std::string_view payload, const ingest::source_position& from, ingest::event& out);
  using position_key = std::pair<std::string, std::pair<std::int32_t, std::int64_t>>;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::vector<std::unique_ptr<RdKafka::Topic>> topics_;  // keeps their metadata known (learn_topics)
  const ingest::channel_catalog& channels_;
  ingest::decoder decoder_;
  // Payloads fetched by the last prefetch (empty optional: gone). Replaced by the
  // next one, so memory is bounded by what one alert or one restore asks for.
  std::map<position_key, std::optional<std::string>> fetched_;
  const std::atomic<bool>& stop_;
  const recent_records* recent_;
  metrics::engine_metrics* metrics_;
  bool cut_short_ = false;
};

}  // namespace sentrail::worker
