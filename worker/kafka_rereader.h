#pragma once
// Evidence by reference for the streaming engine: instead of a copy of every
// correlated event in RocksDB (kept for the longest window plus a margin, and
// three quarters of what a drain writes), the engine keeps where each event came
// from and reads the few that alerts cite, or that a restart must buffer again,
// back from their topics. The topics' retention must then cover the longest
// correlation window plus the evidence margin (Kafka's default is 7 days).

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
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
  /// topic (retention) are remembered as gone. After prefetch_early() calls,
  /// waits for their reads and fetches only what they did not ask for.
  void prefetch(const std::vector<ingest::source_position>& positions);
  /// Starts fetching these records on a thread of its own and returns at once,
  /// so the reads overlap the caller's work; calls until the next prefetch()
  /// add up, and that prefetch() waits for them. Meanwhile the caller must not
  /// add to the recent records this reader looks in (the worker adds only while
  /// it reads input, never inside the engine's advance, where alerts are raised).
  void prefetch_early(const std::vector<ingest::source_position>& positions);
  /// The record at `from`, decoded and minimised again as ingest did; false when
  /// it is gone or no longer decodes. Fetches it first unless prefetched.
  bool reread(const ingest::source_position& from, ingest::event& out);
  /// A read gave up waiting for the broker because `stop` was asked for: what it
  /// did not read is missing from the alerts or buffer that asked (stays true).
  bool cut_short() const { return cut_short_.load(); }

 private:
  kafka_rereader(std::unique_ptr<RdKafka::KafkaConsumer> consumer, std::vector<std::unique_ptr<RdKafka::Topic>> topics,
                 const ingest::channel_catalog& channels,
                 const ingest::minimiser& privacy, ingest::decoder_options decoding, const std::atomic<bool>& stop,
                 const recent_records* recent, metrics::engine_metrics* metrics);
  bool decode(std::string_view payload, const ingest::source_position& from, ingest::event& out);
  /// Reads what `positions` name into fetched_, beside what it holds.
  void fetch(const std::vector<ingest::source_position>& positions);
  /// Waits for the early reads started so far.
  void finish_early();
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
  std::atomic<bool> cut_short_ = false;
  // Early reads: positions (topics owned) waiting for the reading thread, which
  // runs while `reading_` and takes them in turns; fetched_ is the thread's
  // while it runs. `early_round_`: fetched_ holds this round's early reads.
  struct owned_position {
    std::string topic;
    std::int32_t partition;
    std::int64_t offset;
  };
  std::mutex early_mutex_;
  std::vector<owned_position> early_queue_;
  bool reading_ = false;
  bool early_round_ = false;
  std::future<void> early_done_;
};

}  // namespace sentrail::worker
