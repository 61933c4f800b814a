#include "worker/kafka_rereader.h"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <future>
#include <thread>
#include <cstdio>
#include <set>
#include <system_error>

#include "worker/kafka_config.h"
#include "worker/recent_records.h"
#include "worker/worker.h"

namespace sentrail::worker {
namespace {

// Records further apart than this in one partition are reached by a new
// assignment at the later one rather than by reading every record between.
constexpr std::int64_t max_read_ahead = 100;
// Records not read within this, plus a little per record, are waited for with a
// note on stderr this often. (A restart or rule reload during a backlog rereads
// the whole reorder buffer, 100k+ records, which a live broker serves in a
// second or two.)
constexpr auto patience = std::chrono::seconds(15);
constexpr auto per_record = std::chrono::microseconds(200);

}  // namespace

result<std::unique_ptr<kafka_rereader>> kafka_rereader::open(const worker_options& options,
                                                             const ingest::channel_catalog& channels,
                                                             const ingest::minimiser& privacy,
                                                             const std::atomic<bool>& stop,
                                                             const recent_records* recent,
                                                             metrics::engine_metrics* metrics) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  // The worker's consumer properties first (security, client settings), then what
  // this reader needs: its own group that never commits, and small fetches,
  // since it wants a few records, not the partition's next megabyte.
  if (auto s = configure_passthrough(*conf, options.kafka_properties, /*consumer=*/true); !s) return error{s.message()};
  for (auto [k, v] : std::initializer_list<std::pair<std::string, std::string>>{
           {"bootstrap.servers", options.brokers},
           {"group.id", options.group + ".evidence"},
           {"enable.auto.commit", "false"},
           {"enable.partition.eof", "false"},
           {"auto.offset.reset", "error"},  // a record retention removed is gone, not a reason to read elsewhere
           // The records wanted are there already: a fetch need not wait for more
           // (a broker that holds fetches for the full wait would add it to every alert).
           {"fetch.wait.max.ms", "0"},
           {"max.partition.fetch.bytes", "65536"},
           {"queued.max.messages.kbytes", "4096"},
           {"fetch.error.backoff.ms", "0"},
           {"socket.nagle.disable", "true"}}) {
    if (auto s = configure(*conf, k, v); !s) return error{s.message()};
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return error{"cannot create a Kafka consumer to read evidence back: " + err};
  // Without this the first read began by learning the topics and connecting, and
  // the first batch with alerts waited 0.9 s for it in a drain.
  auto topics = learn_topics(*consumer, channels.topics());
  return std::unique_ptr<kafka_rereader>(
      new kafka_rereader(std::move(consumer), std::move(topics), channels, privacy, options.decoding, stop, recent,
                         metrics));
}

kafka_rereader::kafka_rereader(std::unique_ptr<RdKafka::KafkaConsumer> consumer,
                               std::vector<std::unique_ptr<RdKafka::Topic>> topics,
                               const ingest::channel_catalog& channels, const ingest::minimiser& privacy,
                               ingest::decoder_options decoding, const std::atomic<bool>& stop,
                               const recent_records* recent, metrics::engine_metrics* metrics)
    : consumer_(std::move(consumer)),
      topics_(std::move(topics)),
      channels_(channels),
      decoder_(privacy, decoding),
      stop_(stop),
      recent_(recent),
      metrics_(metrics) {
  if (metrics_) {
    metrics_->evidence_reads("memory", 0);
    metrics_->evidence_reads("kafka", 0);
  }
}

kafka_rereader::~kafka_rereader() {
  finish_early();  // its thread uses the consumer
  // close() talks to the broker, which may be gone by shutdown, and then waits
  // for ever; this consumer has no group to leave and nothing to commit, so it
  // gets a few seconds and the process goes on without it.
  topics_.clear();  // before the consumer they belong to goes
  auto closed = std::make_shared<std::promise<void>>();
  auto closing = closed->get_future();
  std::thread([c = consumer_.release(), closed] {
    c->close();
    delete c;
    closed->set_value();
  }).detach();
  if (closing.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    std::fprintf(stderr, "sentrail: the evidence reader did not close within 5 s (is the broker gone?); leaving anyway\n");
}

void kafka_rereader::prefetch_early(const std::vector<ingest::source_position>& positions) {
  if (positions.empty()) return;
  std::lock_guard lock(early_mutex_);
  if (!early_round_) {
    // A new round: the reads of the last one have been used (prefetch() ended
    // it), and no thread reads now, so fetched_ is this thread's to reset.
    fetched_.clear();
    early_round_ = true;
  }
  for (const auto& p : positions) early_queue_.push_back({std::string(p.topic), p.partition, p.offset});
  if (reading_) return;  // the running thread takes these in its next turn
  reading_ = true;
  try {
    early_done_ = std::async(std::launch::async, [this] {
      std::vector<owned_position> turn;
      std::vector<ingest::source_position> at;
      while (true) {
        {
          std::lock_guard lock(early_mutex_);
          turn.clear();
          turn.swap(early_queue_);
          if (turn.empty()) {
            reading_ = false;
            return;
          }
        }
        at.clear();
        for (const auto& p : turn) at.push_back({p.topic, p.partition, p.offset});
        fetch(at);
      }
    });
  } catch (const std::system_error&) {
    reading_ = false;  // no thread to be had: prefetch() reads all of it, as before
  }
}

void kafka_rereader::finish_early() {
  if (early_done_.valid()) early_done_.get();
}

void kafka_rereader::prefetch(const std::vector<ingest::source_position>& positions) {
  finish_early();
  bool early;
  {
    std::lock_guard lock(early_mutex_);
    early = early_round_;
    early_round_ = false;  // this call ends the round: its reads are used next
    early_queue_.clear();  // empty unless no thread could be started
  }
  if (!early) fetched_.clear();
  fetch(positions);
}

void kafka_rereader::fetch(const std::vector<ingest::source_position>& positions) {
  using partition_key = std::pair<std::string, std::int32_t>;
  std::map<partition_key, std::set<std::int64_t>> wanted;
  for (const auto& p : positions) {
    if (recent_ && recent_->find(p.topic, p.partition, p.offset)) continue;  // read from memory by reread()
    if (fetched_.count({std::string(p.topic), {p.partition, p.offset}})) continue;  // read early
    wanted[{std::string(p.topic), p.partition}].insert(p.offset);
  }
  if (wanted.empty()) return;
  auto forget = [&](const partition_key& tp, std::int64_t offset) {
    fetched_[{tp.first, {tp.second, offset}}] = std::nullopt;
  };
  if (cut_short_) {  // stopping: the batch in hand is dropped anyway, so do not wait again
    for (const auto& p : positions) forget({std::string(p.topic), p.partition}, p.offset);
    return;
  }
  // What retention removed (below the low mark) is gone before anything is read,
  // as far as this consumer has heard from its fetches: asking the broker here
  // (query_watermark_offsets) waited far past its timeout once the broker was
  // gone. A record retention removed since then is reported by the fetch instead
  // (auto.offset.reset is error).
  for (auto it = wanted.begin(); it != wanted.end();) {
    std::int64_t low = -1, high = -1;
    if (consumer_->get_watermark_offsets(it->first.first, it->first.second, &low, &high) == RdKafka::ERR_NO_ERROR &&
        low >= 0) {
      while (!it->second.empty() && *it->second.begin() < low) {
        forget(it->first, *it->second.begin());
        it->second.erase(it->second.begin());
      }
    }
    it = it->second.empty() ? wanted.erase(it) : std::next(it);
  }
  auto deadline = std::chrono::steady_clock::now() + patience + per_record * static_cast<std::int64_t>(positions.size());
  // Every partition reads from its first wanted record. One that has what it
  // wants leaves the assignment, so it stops streaming records nobody asked for;
  // one whose next wanted record lies far ahead is assigned again there rather
  // than read up to it. (Pausing and seeking instead stalled the next call's
  // first fetch for a second on librdkafka 2.0.2; a fresh assignment does not.)
  auto reassign = [&](const partition_key& tp, std::optional<std::int64_t> from) {
    std::vector<RdKafka::TopicPartition*> one{RdKafka::TopicPartition::create(tp.first, tp.second)};
    delete consumer_->incremental_unassign(one);
    if (from) {
      one[0]->set_offset(*from);
      delete consumer_->incremental_assign(one);
    }
    RdKafka::TopicPartition::destroy(one);
  };
  std::vector<RdKafka::TopicPartition*> starts;
  for (const auto& [tp, offsets] : wanted)
    starts.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, *offsets.begin()));
  consumer_->assign(starts);
  RdKafka::TopicPartition::destroy(starts);
  std::size_t reading = wanted.size();
  bool outage = false;
  while (reading > 0) {
    // An alert must not lose its evidence to an outage, so a read waits for the
    // broker, unless the engine is asked to stop.
    if (outage && stop_.load()) {
      cut_short_ = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      // Not served in time. A record retention removed, or one past the end of a
      // recreated topic, comes back as a fetch error (auto.offset.reset is error)
      // and is given up where that error is read, below; what is still wanted is
      // in the log, and the broker is down or unreachable. (The high mark this
      // consumer last heard cannot tell: it may be from an earlier read, older
      // than the records wanted now.)
      outage = true;
      std::size_t waiting = 0;
      for (const auto& [tp, offsets] : wanted) waiting += offsets.size();
      std::fprintf(stderr, "sentrail: waiting for the broker to read back %zu evidence records (still in their topics)\n",
                   waiting);
      deadline = std::chrono::steady_clock::now() + patience;
    }
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
    if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
    partition_key tp{m->topic_name(), m->partition()};
    auto w = wanted.find(tp);
    if (w == wanted.end() || w->second.empty()) continue;  // done already
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      // Most likely the offset is out of range (retention ran between the
      // watermark check and the fetch): what this partition still wants is gone.
      std::fprintf(stderr, "sentrail: reading evidence from %s/%d: %s\n", tp.first.c_str(), tp.second,
                   m->errstr().c_str());
      for (auto offset : w->second) forget(tp, offset);
      w->second.clear();
    } else {
      std::int64_t at = m->offset();
      if (w->second.erase(at))
        fetched_[{tp.first, {tp.second, at}}] = std::string(static_cast<const char*>(m->payload()), m->len());
      // Offsets a compacted or transactional topic skipped are not there to read.
      while (!w->second.empty() && *w->second.begin() < at) {
        forget(tp, *w->second.begin());
        w->second.erase(w->second.begin());
      }
      if (!w->second.empty()) {
        if (*w->second.begin() > at + max_read_ahead) reassign(tp, *w->second.begin());
        continue;
      }
    }
    reassign(tp, std::nullopt);
    --reading;
  }
  for (auto it = wanted.begin(); it != wanted.end();) it = it->second.empty() ? wanted.erase(it) : std::next(it);
  consumer_->unassign();
  for (const auto& [tp, offsets] : wanted) {
    std::fprintf(stderr, "sentrail: %zu evidence records of %s/%d were not read back: stopping\n", offsets.size(),
                 tp.first.c_str(), tp.second);
    for (auto offset : offsets) forget(tp, offset);
  }
}

bool kafka_rereader::decode(std::string_view payload, const ingest::source_position& from, ingest::event& out) {
  const ingest::channel_mapping* channel = channels_.by_topic(from.topic);
  if (!channel) return false;
  return !decoder_.decode(payload, *channel, from, out);
}

bool kafka_rereader::reread(const ingest::source_position& from, ingest::event& out) {
  finish_early();  // fetched_ is the reading thread's while it runs
  if (recent_) {
    if (auto payload = recent_->find(from.topic, from.partition, from.offset)) {
      if (metrics_) metrics_->evidence_reads("memory", 1);
      return decode(*payload, from, out);
    }
  }
  position_key key{std::string(from.topic), {from.partition, from.offset}};
  auto it = fetched_.find(key);
  if (it == fetched_.end()) {
    prefetch({from});
    it = fetched_.find(key);
  }
  if (it == fetched_.end() || !it->second) return false;
  if (metrics_) metrics_->evidence_reads("kafka", 1);
  return decode(*it->second, from, out);
}

}  // namespace sentrail::worker
