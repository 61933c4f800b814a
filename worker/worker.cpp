#include "worker/worker.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "ingest/dead_letter.h"
#include "store/state.h"
#include "worker/input_positions.h"
#include "worker/kafka_config.h"
#include "worker/partition_reader.h"
#include "worker/recent_records.h"

namespace sentrail::worker {
namespace {

using clock = std::chrono::steady_clock;

// Collects what one batch raises, in the batch that will make it durable.
class batch_collector : public correlate::alert_sink, public correlate::rejection_sink {
 public:
  batch_collector(store::durable_store& db, store::batch& b, const worker_options& o,
                  std::vector<correlate::alert>& fresh, std::uint64_t& duplicates,
                  const std::vector<alert_observer*>& observers)
      : db_(db), batch_(b), options_(o), fresh_(fresh), duplicates_(duplicates), observers_(observers) {}

  void emit(const correlate::alert& a) override {
    std::string json = correlate::to_json(a);
    if (!db_.add_alert(batch_, a, json)) {
      ++duplicates_;
      return;
    }
    batch_.add_outbox(options_.alerts_topic, a.id, json);
    for (auto* o : observers_) o->on_alert(batch_, a, json);
    fresh_.push_back(a);
  }

  void reject(const ingest::rejection& why, std::string_view raw, std::string_view channel,
              const ingest::source_position& from) override {
    std::string key = fmt::format("{}/{}/{}", from.topic, from.partition, from.offset);
    batch_.add_outbox(options_.deadletter_topic, key,
                      ingest::dead_letter_json(why, raw, channel, from, wall_clock_now()));
  }

 private:
  store::durable_store& db_;
  store::batch& batch_;
  const worker_options& options_;
  std::vector<correlate::alert>& fresh_;
  std::uint64_t& duplicates_;
  const std::vector<alert_observer*>& observers_;
};

// Delivery reports tell which outbox records Kafka has acknowledged.
class delivery_tracker : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    auto seq = reinterpret_cast<std::uintptr_t>(m.msg_opaque());
    if (m.err() == RdKafka::ERR_NO_ERROR) acked.push_back(seq);
    else fail(seq, m.err(), m.errstr());
  }
  void fail(std::uint64_t seq, RdKafka::ErrorCode code, std::string why) {
    failed.insert_or_assign(seq, std::make_pair(code, why));
    last_error = std::move(why);
  }
  std::vector<std::uint64_t> acked;
  std::unordered_map<std::uint64_t, std::pair<RdKafka::ErrorCode, std::string>> failed;
  std::string last_error;
};

// Errors no retry can mend: the record itself is what Kafka refuses. (An
// authorisation error is not among them: an operator can fix the ACL, and then
// the outbox drains as after an outage.)
bool refused_for_good(RdKafka::ErrorCode e) {
  switch (e) {
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
    case RdKafka::ERR_INVALID_MSG_SIZE:
    case RdKafka::ERR_RECORD_LIST_TOO_LARGE:
    case RdKafka::ERR_INVALID_RECORD:
    case RdKafka::ERR_TOPIC_EXCEPTION:
    case RdKafka::ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

// The thread that writes batches to the store while the loop builds the next one:
// one for the worker's life, not one per batch (a backlog writes a batch every
// few tens of milliseconds). One write at a time; on destruction it finishes the
// write it was given before it goes.
class store_writer {
 public:
  store_writer() : thread_([this] { run(); }) {}
  ~store_writer() {
    {
      std::lock_guard l(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  std::future<status> write(std::function<status()> job) {
    std::packaged_task<status()> task(std::move(job));
    auto done = task.get_future();
    {
      std::lock_guard l(mutex_);
      next_ = std::move(task);
    }
    wake_.notify_one();
    return done;
  }

 private:
  void run() {
    // Named so an operator's `top -H` (and scripts/bench-cpu.sh) tells it from the loop.
    pthread_setname_np(pthread_self(), "sentrail:store");
    while (true) {
      std::packaged_task<status()> task;
      {
        std::unique_lock l(mutex_);
        wake_.wait(l, [&] { return stopping_ || next_.valid(); });
        if (!next_.valid()) return;
        task = std::move(next_);
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::packaged_task<status()> next_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members it uses exist
};

// On assignment, resume each partition where durable state ends: the store's
// offset wins over the group's committed one, which may lag behind it.
class resume_from_store : public RdKafka::RebalanceCb {
 public:
  explicit resume_from_store(store::durable_store& db) : db_(db) {}
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (before_reading_offsets) before_reading_offsets();
      std::vector<RdKafka::TopicPartition*> from_group;
      for (auto* tp : partitions) {
        if (auto next = db_.next_offset(tp->topic(), tp->partition())) {
          tp->set_offset(*next);
          positions.expect(tp->topic(), tp->partition(), *next);
        } else {
          positions.forget(tp->topic(), tp->partition());
          from_group.push_back(RdKafka::TopicPartition::create(tp->topic(), tp->partition()));
        }
        assigned.push_back(tp->topic() + "/" + std::to_string(tp->partition()));
      }
      // Partitions the store has not seen resume at the group's committed offset
      // (a new state directory on an existing group): that is where reading should
      // go on, so a restart past it is a loss too. One request for all of them.
      if (!from_group.empty() && consumer->committed(from_group, 5000) == RdKafka::ERR_NO_ERROR)
        for (const auto* tp : from_group)
          if (tp->offset() >= 0) positions.expect(tp->topic(), tp->partition(), tp->offset());
      RdKafka::TopicPartition::destroy(from_group);
      // Each partition's queue is split off before the fetcher starts, so none
      // of its records goes to the consumer's queue.
      if (reader)
        for (const auto* tp : partitions) reader->add(tp->topic(), tp->partition());
      consumer->assign(partitions);
    } else {
      for (auto* tp : partitions) {
        revoked.push_back(tp->topic() + "/" + std::to_string(tp->partition()));
        positions.forget(tp->topic(), tp->partition());
      }
      consumer->unassign();
      if (reader)
        for (const auto* tp : partitions) reader->remove(tp->topic(), tp->partition());
    }
  }
  /// Where each assigned partition's next record should be (read on the loop
  /// thread, which is also where this callback runs).
  input_positions positions;
  /// Partitions assigned or revoked since the loop last looked (the engine must know
  /// every input it reads, or an unread partition would not hold event time back).
  std::vector<std::string> assigned, revoked;
  /// Makes the batch being written durable first: its offsets are where to resume.
  std::function<void()> before_reading_offsets;
  /// Reads the partitions in step; it hears of every assignment first.
  partition_reader* reader = nullptr;

 private:
  store::durable_store& db_;
};

}  // namespace

status worker::drop_already_published(std::vector<store::outbox_record>& pending) {
  // A crash after Kafka acknowledged a record but before the store forgot it
  // leaves it pending; publishing it again would put its id on the topic twice.
  // Such records sit at the tail of their topic, so read the tails and drop them.
  if (pending.empty()) return {};
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  if (auto s = configure(*conf, "bootstrap.servers", options_.brokers); !s) return s;
  if (auto s = configure(*conf, "group.id", options_.group + ".outbox-check"); !s) return s;
  if (auto s = configure(*conf, "enable.auto.commit", "false"); !s) return s;
  std::unique_ptr<RdKafka::KafkaConsumer> reader(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!reader) return error{"cannot create a Kafka consumer to check the outbox: " + err};
  std::unordered_set<std::string> topics;
  for (const auto& r : pending) topics.insert(r.topic);
  std::unordered_set<std::string> seen;  // topic + '\0' + key
  const std::int64_t window = std::max<std::int64_t>(10000, 2 * static_cast<std::int64_t>(pending.size()));
  for (const auto& topic : topics) {
    std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(reader.get(), topic, nullptr, err));
    RdKafka::Metadata* meta = nullptr;
    if (reader->metadata(false, handle.get(), &meta, 10000) != RdKafka::ERR_NO_ERROR || !meta) continue;
    std::unique_ptr<RdKafka::Metadata> owned(meta);
    for (const auto* t : *meta->topics()) {
      for (const auto* p : *t->partitions()) {
        std::int64_t low = 0, high = 0;
        if (reader->query_watermark_offsets(topic, p->id(), &low, &high, 10000) != RdKafka::ERR_NO_ERROR) continue;
        if (high <= low) continue;
        std::vector<RdKafka::TopicPartition*> one{
            RdKafka::TopicPartition::create(topic, p->id(), std::max(low, high - window))};
        reader->assign(one);
        RdKafka::TopicPartition::destroy(one);
        std::int64_t next = 0;
        auto deadline = clock::now() + std::chrono::seconds(20);
        while (next < high && clock::now() < deadline) {
          std::unique_ptr<RdKafka::Message> m(reader->consume(500));
          if (m->err() != RdKafka::ERR_NO_ERROR) continue;
          next = m->offset() + 1;
          if (m->key()) seen.insert(topic + '\0' + *m->key());
        }
        reader->unassign();
      }
    }
  }
  reader->close();
  std::vector<std::uint64_t> done;
  std::erase_if(pending, [&](const store::outbox_record& r) {
    if (!seen.count(r.topic + '\0' + r.key)) return false;
    done.push_back(r.sequence);
    return true;
  });
  if (!done.empty())
    std::fprintf(stderr, "sentrail: %zu records of the last run were already published; not sending them again\n",
                 done.size());
  return db_.mark_published(done);
}

worker::worker(worker_options options, const ingest::channel_catalog& channels,
               rules_provider& rules, const ingest::minimiser& privacy,
               store::durable_store& db, metrics::engine_metrics* metrics)
    : options_(std::move(options)),
      channels_(channels),
      rules_(rules),
      privacy_(privacy),
      db_(db),
      metrics_(metrics) {}

status worker::run(const std::atomic<bool>& stop) {
  std::string err;
  // Producer for alerts and dead letters: idempotent, so retries never duplicate.
  delivery_tracker deliveries;
  std::unique_ptr<RdKafka::Conf> pconf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (auto [k, v] : std::initializer_list<std::pair<std::string, std::string>>{
           {"bootstrap.servers", options_.brokers},
           {"enable.idempotence", "true"},
           // Alerts are few and each is waited for: lingering 5 ms to fill a batch
           // added that to every alert's arrival (median 21-26 ms -> 16-20 ms at
           // 5 k events/s without it).
           {"linger.ms", "0"},
           {"message.timeout.ms", "30000"}}) {
    if (auto s = configure(*pconf, k, v); !s) return s;
  }
  if (auto s = configure_passthrough(*pconf, options_.kafka_properties, /*consumer=*/false); !s) return s;
  pconf->set("dr_cb", &deliveries, err);
  // A refusal notice quotes the head of the record it stands in for, small
  // enough to be published under the same size limit even when escaped.
  std::size_t refused_head_bytes = 4096;
  if (std::string max; pconf->get("message.max.bytes", max) == RdKafka::Conf::CONF_OK)
    refused_head_bytes = std::min<std::size_t>(refused_head_bytes, std::stoull(max) / 4);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(pconf.get(), err));
  if (!producer) return error{"cannot create the Kafka producer: " + err};
  // librdkafka learns a topic's partitions only when something is first produced
  // to it, and then waits for its once-a-second scan to ask for them: the first
  // alerts of a run reached the topic up to a second late. Asking now, and
  // keeping the handles so the answer is kept, takes that off the first alert.
  const auto output_topics = learn_topics(*producer, {options_.alerts_topic, options_.deadletter_topic});

  std::vector<store::outbox_record> unpublished = db_.pending_outbox();
  if (auto s = drop_already_published(unpublished); !s) return s;
  // Publishing does not hold the loop up: records are durable in the outbox
  // before they are produced, the next batches are processed while Kafka
  // acknowledges them, and each acknowledgement removes its record from the
  // outbox. (Waiting for the acknowledgements of every batch before reading the
  // next one cost a tenth to a third of a broker drain.) A record whose delivery
  // fails is sent again; a crash before its acknowledgement is recorded sends it
  // again on restart, after drop_already_published.
  std::vector<store::outbox_record> to_send = std::move(unpublished);
  std::map<std::uint64_t, store::outbox_record> awaiting;  // produced, not yet acknowledged
  std::size_t resending = to_send.size();  // left over from the last run, or failed: retries
  // A failed record goes out again after this pause, whether or not input comes:
  // a quiet stream has no next batch to carry it (an alert raised as the input
  // went idle would wait for unrelated traffic or a shutdown).
  constexpr auto retry_pause = std::chrono::seconds(1);
  auto retry_after = clock::time_point{};
  // Alerts whose publication is timed for the latency histogram: sequence → kind, last event time.
  std::map<std::uint64_t, std::pair<std::string_view, timestamp_ns>> timed;
  auto send = [&] {
    if (to_send.empty()) return;
    for (auto& r : to_send) {
      RdKafka::ErrorCode e;
      do {
        e = producer->produce(r.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                              const_cast<char*>(r.payload.data()), r.payload.size(), r.key.data(),
                              r.key.size(), 0, reinterpret_cast<void*>(static_cast<std::uintptr_t>(r.sequence)));
        if (e == RdKafka::ERR__QUEUE_FULL) producer->poll(10);
      } while (e == RdKafka::ERR__QUEUE_FULL);
      if (e != RdKafka::ERR_NO_ERROR) deliveries.fail(r.sequence, e, RdKafka::err2str(e));
      std::uint64_t seq = r.sequence;
      awaiting.emplace(seq, std::move(r));
    }
    to_send.clear();
    if (metrics_ && resending) metrics_->publish_attempt(0, awaiting.size(), resending);
    resending = 0;
  };
  // A record Kafka refuses for good is replaced, in one durable write, by a small
  // record on the dead-letter topic that says so; the alert itself stays in the
  // store (the triage API serves it). Retrying it would fail once a second
  // forever. A replacement that is refused in turn is given up.
  auto refuse = [&](store::outbox_record r, const std::string& why) -> result<std::optional<store::outbox_record>> {
    if (metrics_) metrics_->publication_refused(r.topic);
    store::batch swap;
    swap.retired_outbox.push_back(r.sequence);
    const bool give_up = r.topic == options_.deadletter_topic && ingest::is_publication_refused(r.payload);
    if (!give_up)
      swap.add_outbox(options_.deadletter_topic, r.key,
                      ingest::publication_refused_json(r.topic, r.key, r.payload, why, wall_clock_now(),
                                                      refused_head_bytes));
    if (auto s = db_.commit(swap); !s) return error{s.message()};
    std::fprintf(stderr, "sentrail: Kafka refused a %zu-byte record for %s (key %s) for good: %s; %s\n",
                 r.payload.size(), r.topic.c_str(), r.key.c_str(), why.c_str(),
                 give_up ? "it was itself such a notice, so it is dropped"
                         : ("a notice goes to " + options_.deadletter_topic + " instead").c_str());
    if (give_up) return std::optional<store::outbox_record>{};
    return std::optional<store::outbox_record>(std::move(swap.outbox.front()));
  };
  // Takes the delivery reports that have arrived (waiting up to `wait_ms` for them).
  auto settle = [&](int wait_ms) -> status {
    if (awaiting.empty()) return {};
    if (wait_ms > 0) producer->flush(wait_ms);
    producer->poll(0);
    if (deliveries.acked.empty() && deliveries.failed.empty()) return {};
    if (auto s = db_.mark_published(deliveries.acked); !s) return s;
    counts_.published += deliveries.acked.size();
    const timestamp_ns now = wall_clock_now();
    for (auto seq : deliveries.acked) {
      awaiting.erase(seq);
      if (auto t = timed.find(seq); t != timed.end()) {
        if (metrics_)
          metrics_->alert_latency(t->second.first, static_cast<double>(now - t->second.second) / ns_per_second);
        timed.erase(t);
      }
    }
    std::size_t failed = 0;
    for (auto& [seq, why] : deliveries.failed) {
      auto it = awaiting.find(seq);
      if (it == awaiting.end()) continue;
      store::outbox_record r = std::move(it->second);
      awaiting.erase(it);
      if (!refused_for_good(why.first)) {
        to_send.push_back(std::move(r));
        ++failed;
        continue;
      }
      timed.erase(seq);
      auto replacement = refuse(std::move(r), why.second);
      if (!replacement) return replacement.err();
      if (*replacement) to_send.push_back(std::move(**replacement));
    }
    if (failed) {
      std::fprintf(stderr, "sentrail: %zu records not yet published (%s); will retry\n", failed,
                   deliveries.last_error.c_str());
      retry_after = clock::now() + retry_pause;
    }
    if (metrics_) metrics_->publish_attempt(failed, awaiting.size() + to_send.size(), 0);
    resending += failed;
    deliveries.acked.clear();
    deliveries.failed.clear();
    return {};
  };
  send();

  // Shared with the thread that closes the consumer, which may outlive this call.
  auto rebalance_owner = std::make_shared<resume_from_store>(db_);
  resume_from_store& rebalance = *rebalance_owner;
  std::unique_ptr<RdKafka::Conf> cconf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (auto [k, v] : std::initializer_list<std::pair<std::string, std::string>>{
           {"bootstrap.servers", options_.brokers},
           {"group.id", options_.group},
           {"enable.auto.commit", "false"},
           {"auto.offset.reset", "earliest"},
           {"enable.partition.eof", "false"},
           // How long a fetch may wait for data. librdkafka's 500 ms default is
           // harmless against a broker that answers as soon as data arrives, but a
           // broker that holds every fetch for the full wait (the embedded one does)
           // adds it to every alert's latency: measured p50 0.45 s at 500, 19 ms at 5.
           {"fetch.wait.max.ms", "10"},
           // In fetch order librdkafka (2.0) counts this against the whole consumer queue,
           // which every partition's fetch queue forwards to; a partition found over
           // it stops fetching for fetch.error.backoff.ms (500 ms). Under a backlog
           // the default 100 k was reached, every partition backed off together,
           // and the loop ran dry: 24 empty polls in a 500 k drain, 115 k -> 144 k
           // events/s without them. Memory stays bounded by
           // queued.max.messages.kbytes, now the limit that binds (below).
           {"queued.min.messages", "1000000"},
           // Read in step, each partition's records wait in a queue of their own,
           // and this limit applies to each: the read-ahead of a partition that is
           // ahead of the others (up to twice this, with the fetch in flight).
           // Over 80 partitions the 64 MiB default would allow 5 GiB.
           {"queued.max.messages.kbytes", options_.alignment_ms >= 0 ? "1024" : "65536"}}) {
    if (auto s = configure(*cconf, k, v); !s) return s;
  }
  if (auto s = configure_passthrough(*cconf, options_.kafka_properties, /*consumer=*/true); !s) return s;
  // Where a partition with no stored and no committed offset starts: an input is
  // caught up only once its position is known, and before the first message that
  // is this policy's end of the partition.
  bool starts_at_end = false;
  if (std::string reset; cconf->get("auto.offset.reset", reset) == RdKafka::Conf::CONF_OK)
    starts_at_end = reset == "latest" || reset == "largest" || reset == "end";
  cconf->set("rebalance_cb", &rebalance, err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(cconf.get(), err));
  if (!consumer) return error{"cannot create the Kafka consumer: " + err};
  if (auto e = consumer->subscribe(channels_.topics()); e != RdKafka::ERR_NO_ERROR)
    return error{"cannot subscribe to the channel topics: " + RdKafka::err2str(e)};
  if (metrics_)
    for (const auto& topic : channels_.topics()) metrics_->input_records_lost(topic, 0);

  // Correlation state, restored from the store: what a restart resumes with.
  store::cached_state state(db_, options_.state_cache_entries);
  // Restoring events kept by reference reads them from their topics; one that is
  // gone cannot be correlated, and the operator must hear of it.
  auto restore = [&] {
    auto before = rules_.current().counts().unreadable;
    auto reread_before = rules_.current().counts().restored_by_reference;
    rules_.current().restore(state);
    if (auto reread = rules_.current().counts().restored_by_reference - reread_before)
      std::fprintf(stderr, "sentrail: read %llu buffered events back from their topics\n",
                   static_cast<unsigned long long>(reread));
    if (auto lost = rules_.current().counts().unreadable - before)
      std::fprintf(stderr, "sentrail: %llu buffered events are gone from their topics and were not restored\n",
                   static_cast<unsigned long long>(lost));
  };
  restore();
  correlate::pipeline pipe(channels_, rules_.current(), privacy_, state, options_.decoding);
  alert::console_sink console(stdout, options_.stdout_format, options_.colour);
  store::batch batch;
  std::vector<correlate::alert> fresh;
  // Under a backlog a batch is written to the store on another thread while the
  // next one is read and correlated: the write (its memtable inserts and the
  // fsync) was a third of the loop thread's time in a broker drain. Nothing of
  // it is published, and no offset committed, before it is durable.
  store::batch committing;
  std::vector<correlate::alert> committing_fresh;
  double write_seconds = 0;  // how long the write took; read once commit_done is ready
  std::future<status> commit_done;  // valid while `committing` is being written
  // Declared after what the write touches: if the loop returns while a write is in
  // flight, the writer finishes it before those are gone.
  store_writer writer;
  std::vector<std::unique_ptr<RdKafka::Message>> held;
  auto last_status = clock::now();
  std::uint64_t events_at_last_status = 0;
  const ingest::channel_mapping* last_channel = nullptr;
  // Per-channel event counts of the batch in hand, pushed to metrics per batch.
  std::vector<std::uint64_t> channel_events(channels_.all().size(), 0);
  pipe.set_observer([&](const ingest::event& e) {
    if (last_channel) ++channel_events[static_cast<std::size_t>(last_channel - channels_.all().data())];
    (void)e;
  });
  correlate::pipeline_counts reported{};
  std::uint64_t duplicates_reported = 0, published_reported = 0;
  // The running engine's counts already in metrics (a reloaded engine starts from zero).
  correlate::engine_counts engine_reported{};
  std::vector<std::uint64_t> matches_reported, pushed_out_reported;
  auto gauges_reported = clock::time_point{};
  std::uint64_t buffered_peak = 0;  // the reorder buffer's, across rule reloads
  // Where each partition started when nothing was stored for it (asked once).
  std::map<std::string, std::int64_t, std::less<>> start_offsets;

  // Waits for the batch being written; once it is durable: the cache may drop
  // it, its records go out, its alerts are shown, its offsets committed.
  auto finish_commit = [&]() -> status {
    if (!commit_done.valid()) return {};
    auto wait_started = clock::now();
    if (auto s = commit_done.get(); !s) return s;
    if (metrics_)
      metrics_->state_write(write_seconds, std::chrono::duration<double>(clock::now() - wait_started).count());
    state.trim();
    ++counts_.batches;
    for (auto* o : observers_) o->on_committed();
    if (metrics_) {
      for (const auto& a : committing_fresh)
        for (const auto& r : committing.outbox)
          if (r.topic == options_.alerts_topic && r.key == a.id)
            timed.emplace(r.sequence, std::make_pair(a.type == "detection" ? "detection" : "correlation", a.last_seen));
    }
    to_send.insert(to_send.end(), std::make_move_iterator(committing.outbox.begin()),
                   std::make_move_iterator(committing.outbox.end()));
    send();
    for (const auto& a : committing_fresh) console.emit(a);
    std::vector<RdKafka::TopicPartition*> offsets;
    for (const auto& o : committing.offsets)
      offsets.push_back(RdKafka::TopicPartition::create(o.topic, o.partition, o.next));
    consumer->commitAsync(offsets);
    RdKafka::TopicPartition::destroy(offsets);
    return {};
  };
  rebalance.before_reading_offsets = [&] {
    if (commit_done.valid()) commit_done.wait();
  };
  // The hook reads this function's locals, so it goes before they do, however the loop ends.
  struct hook_reset {
    resume_from_store& r;
    ~hook_reset() { r.before_reading_offsets = nullptr; }
  } reset_hook{rebalance};
  // The consumer's records, partition by partition in step by time (see partition_reader.h).
  partition_reader input(consumer->c_ptr(), {.window_ms = options_.alignment_ms});
  if (auto s = input.ready(); !s) return s;
  rebalance.reader = &input;
  struct reader_hook_reset {
    resume_from_store& r;
    ~reader_hook_reset() { r.reader = nullptr; }
  } reset_reader_hook{rebalance};
  std::vector<rd_kafka_message_t*> fetched(1024);
  // Records behind on the broker past which a batch is a backlog's (10 batches).
  const std::uint64_t backlog_batches_after = 10 * static_cast<std::uint64_t>(options_.batch_max_messages);
  // Records the broker deleted before they were read can be neither correlated nor
  // dead-lettered: the operator hears how many were lost, and where.
  auto account_for_gap = [&](std::string_view topic, std::int32_t partition, std::int64_t expected,
                             std::int64_t offset) {
    std::string name(topic);
    std::int64_t low = -1, high = -1;
    // librdkafka keeps the log start from its last fetch, which is the one that
    // restarted the partition; ask the broker only when it knows none.
    if (consumer->get_watermark_offsets(name, partition, &low, &high) != RdKafka::ERR_NO_ERROR || low < 0)
      if (consumer->query_watermark_offsets(name, partition, &low, &high, 2000) != RdKafka::ERR_NO_ERROR) return;
    if (low <= expected) return;  // a transaction marker or compaction: nothing unread was deleted
    // Retention passed the position, so the consumer restarted where
    // auto.offset.reset points: the log start (earliest), or the end (latest),
    // past records still there. Either way, nothing from `expected` to here was read.
    const auto lost = static_cast<std::uint64_t>(offset - expected);
    counts_.input_records_lost += lost;
    std::fprintf(stderr,
                 "sentrail: kafka: %s/%d: %llu records (offsets %lld to %lld) were never read: the broker's retention "
                 "deleted the partition up to offset %lld before the engine got there, and it resumed at %lld "
                 "(auto.offset.reset); their events are lost\n",
                 name.c_str(), partition, static_cast<unsigned long long>(lost), static_cast<long long>(expected),
                 static_cast<long long>(offset - 1), static_cast<long long>(low - 1), static_cast<long long>(offset));
    if (metrics_) metrics_->input_records_lost(topic, lost);
  };
  while (!stop.load()) {
    // Acknowledgements that arrived while the last batch was processed.
    if (auto s = settle(0); !s) return s;
    if (!to_send.empty() && clock::now() >= retry_after) send();
    batch.clear();
    batch.after = commit_done.valid() ? &committing : nullptr;
    fresh.clear();
    batch_collector collect(db_, batch, options_, fresh, counts_.duplicate_alerts, observers_);
    auto batch_started = clock::now();
    // Far behind, an alert waits for the backlog more than for any batch: batches
    // grow, so fewer commits and state writes carry it (a 1M-event drain ran
    // 12-16% faster at four times the size). Near the end of the topics, and live,
    // they are their configured size again.
    const int scale = input.backlog() > backlog_batches_after ? 4 : 1;
    const std::size_t batch_max_messages = options_.batch_max_messages * scale;
    auto deadline = batch_started + std::chrono::milliseconds(options_.batch_max_ms * scale);
    std::size_t taken = 0;
    bool drained = false;  // the batch ended because no message was waiting
    while (taken < batch_max_messages && !stop.load()) {
      // A full batch written while this one reads goes out as soon as it is
      // durable, not after this batch's read and advance (30-60 ms each at 143 k
      // events/s).
      if (commit_done.valid() && commit_done.wait_for(std::chrono::seconds(0)) == std::future_status::ready)
        if (auto s = finish_commit(); !s) return s;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) break;
      // The first message may be waited for; after it the batch takes only what is
      // already here and ends when the input is drained. Under a backlog batches
      // still fill up (librdkafka prefetches), and live traffic is not held back
      // for the rest of batch_max_ms before it is correlated and alerted on.
      // While records await acknowledgement, wait briefly, so their publication is
      // recorded (and retried) promptly when no input comes.
      // Buffered events the last advance left for this one are not waited behind.
      // With a write in flight, a millisecond at a time, to see it end.
      int wait = taken == 0 && !pipe.correlations().release_pending()
                     ? static_cast<int>(std::min<long>(left, commit_done.valid() ? 1 : awaiting.empty() ? left : 5))
                     : 0;
      // Many per call, the first waited for: no C++ message object per message,
      // and the poll bookkeeping once a call.
      const std::size_t want = std::min<std::size_t>(fetched.size(), batch_max_messages - taken);
      const auto got = static_cast<ssize_t>(input.read(wait, fetched.data(), want));
      if (got <= 0) {
        drained = true;
        break;
      }
      for (ssize_t i = 0; i < got; ++i) {
        rd_kafka_message_t* m = fetched[static_cast<std::size_t>(i)];
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            std::fprintf(stderr, "sentrail: kafka: %s\n", rd_kafka_message_errstr(m));
          rd_kafka_message_destroy(m);
          continue;
        }
        ++taken;
        std::string_view topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
        if (auto expected = rebalance.positions.read(topic, m->partition, m->offset))
          account_for_gap(topic, m->partition, *expected, m->offset);
        if (!last_channel || last_channel->topic != topic) last_channel = channels_.by_topic(topic);
        ingest::source_position from{topic, m->partition, m->offset};
        std::string_view raw(static_cast<const char*>(m->payload), m->len);
        if (last_channel) {
          const std::uint64_t buffered_before = pipe.correlations().counts().buffered_total;
          pipe.process(raw, *last_channel, from, collect, collect);
          // Only an event the engine buffered is ever read back (for the alerts
          // that cite it, or a restart): the memory keeps those alone, and so
          // reaches further back.
          if (options_.recent && pipe.correlations().counts().buffered_total != buffered_before)
            options_.recent->keep(topic, m->partition, m->offset, raw);
        } else {
          collect.reject({ingest::rejection_reason::unknown_channel,
                          "no channel mapping reads topic " + std::string(topic)},
                         raw, "", from);
        }
        batch.set_next_offset(topic, m->partition, m->offset + 1);
        rd_kafka_message_destroy(m);
      }
    }
    // Event time moved on: correlate what the watermark releases, fire due timers.
    // An input counts as idle only once the consumer has read all it holds.
    if (!rebalance.assigned.empty() || !rebalance.revoked.empty()) start_offsets.clear();
    for (const auto& p : rebalance.assigned) pipe.correlations().expect_partition(p);
    for (const auto& p : rebalance.revoked) pipe.correlations().forget_partition(p, state);
    rebalance.assigned.clear();
    rebalance.revoked.clear();
    auto caught_up = [&](std::string_view partition) {
      auto slash = partition.rfind('/');
      if (slash == std::string_view::npos) return true;
      std::string topic(partition.substr(0, slash));
      auto id = static_cast<std::int32_t>(std::strtol(std::string(partition.substr(slash + 1)).c_str(), nullptr, 10));
      std::int64_t low = 0, high = 0;
      if (consumer->get_watermark_offsets(topic, id, &low, &high) != RdKafka::ERR_NO_ERROR || high < 0) {
        if (consumer->query_watermark_offsets(topic, id, &low, &high, 500) != RdKafka::ERR_NO_ERROR) return false;
      }
      if (high <= low) return true;  // an empty partition
      std::vector<RdKafka::TopicPartition*> one{RdKafka::TopicPartition::create(topic, id)};
      std::int64_t position = RdKafka::Topic::OFFSET_INVALID;
      if (consumer->position(one) == RdKafka::ERR_NO_ERROR) position = one[0]->offset();
      RdKafka::TopicPartition::destroy(one);
      // Nothing consumed yet in this run: it starts where the store says, else where
      // the group last committed, else where auto.offset.reset points. (Taking the
      // low mark for a group that starts at the end would count a partition that
      // gets no new traffic as slow forever, and hold every correlation back.)
      if (position < 0) {
        if (auto stored = db_.next_offset(topic, id)) {
          position = *stored;
        } else if (auto c = start_offsets.find(partition); c != start_offsets.end()) {
          position = c->second;
        } else {
          std::vector<RdKafka::TopicPartition*> ask{RdKafka::TopicPartition::create(topic, id)};
          std::int64_t from_group = RdKafka::Topic::OFFSET_INVALID;
          if (consumer->committed(ask, 2000) == RdKafka::ERR_NO_ERROR) from_group = ask[0]->offset();
          RdKafka::TopicPartition::destroy(ask);
          if (from_group < 0) from_group = starts_at_end ? high : low;
          start_offsets.emplace(std::string(partition), from_group);
          position = from_group;
        }
      }
      return position >= high;
    };
    // A jump of the watermark (at start, until every partition has spoken; when
    // one goes idle) released seconds of buffered traffic in one batch: 200 k
    // events and 0.36 s at 143 k events/s, while every alert behind them waited.
    // Twice what came in keeps up with the input and drains a jump over batches.
    pipe.advance(wall_clock_now(), collect, caught_up, std::max<std::size_t>(batch_max_messages, 2 * taken));
    if (options_.evidence_cut_short && options_.evidence_cut_short()) {
      std::fprintf(stderr, "sentrail: stopped while reading evidence back from Kafka; the batch in hand is not "
                           "committed and is redone on restart\n");
      break;
    }
    // The batch before this one must be durable before this one is flushed (the
    // cache drops what that one wrote only then).
    if (auto s = finish_commit(); !s) return s;
    state.flush_into(batch);
    const bool built = !batch.empty();
    if (built) {
      // Durable first: state, alerts, outbox and offsets in one atomic write.
      std::swap(batch, committing);
      std::swap(fresh, committing_fresh);
      committing.after = nullptr;
      for (auto* o : observers_) o->on_sealed();
      commit_done = writer.write([this, &committing, &write_seconds] {
        auto started = clock::now();
        auto written = db_.commit(committing);
        write_seconds = std::chrono::duration<double>(clock::now() - started).count();
        return written;
      });
      // Live traffic the loop keeps up with gets its alerts out as soon as the
      // write ends: little is waiting to be read meanwhile, and the next
      // batch's advance would hold them back. A full batch's write overlaps the
      // next read, which checks for its end between reads.
      if (drained || stop.load())
        if (auto s = finish_commit(); !s) return s;
    }
    counts_.pipeline = pipe.counts();
    counts_.alerts_raised = counts_.alerts_before_reloads + pipe.correlations().counts().detection_alerts +
                            pipe.correlations().counts().correlation_alerts;
    if (metrics_ && built) {
      metrics_->batch(std::chrono::duration<double>(clock::now() - batch_started).count(), taken);
      for (std::size_t i = 0; i < channel_events.size(); ++i) {
        if (channel_events[i] == 0) continue;
        metrics_->events(channels_.all()[i].name, channels_.all()[i].topic, channel_events[i]);
        channel_events[i] = 0;
      }
      for (std::size_t r = 0; r < ingest::rejection_reason_count; ++r) {
        auto delta = counts_.pipeline.rejected_by_reason[r] - reported.rejected_by_reason[r];
        if (delta) metrics_->dead_letters(ingest::reason_name(static_cast<ingest::rejection_reason>(r)), delta);
      }
      for (const auto& a : committing_fresh) {
        std::string_view channel = a.events.empty() ? "none" : std::string_view(a.events.front().channel);
        for (const auto& ev : a.events)
          if (ev.channel != channel) channel = "multiple";
        metrics_->alert(a.rule_id, a.level, channel);
        if (a.loss_exposure) metrics_->loss_exposure(a.rule_id, a.loss_exposure->currency, a.loss_exposure->low,
                                                     a.loss_exposure->high);
      }
      const auto& ec = pipe.correlations().counts();
      // Per rule: the engine keeps a fixed order, so deltas are by position.
      auto per_rule = pipe.correlations().rule_matches();
      matches_reported.resize(per_rule.size(), 0);
      pushed_out_reported.resize(per_rule.size(), 0);
      for (std::size_t r = 0; r < per_rule.size(); ++r) {
        if (auto delta = per_rule[r].matches - matches_reported[r])
          metrics_->rule_matches(per_rule[r].rule_id, per_rule[r].kind, delta);
        matches_reported[r] = per_rule[r].matches;
        if (auto delta = per_rule[r].pushed_out - pushed_out_reported[r])
          metrics_->window_overflow(per_rule[r].rule_id, delta);
        pushed_out_reported[r] = per_rule[r].pushed_out;
      }
      metrics_->suppressed_alerts(ec.suppressed - engine_reported.suppressed);
      metrics_->late_events(counts_.pipeline.late - reported.late);
      engine_reported = ec;
      metrics_->duplicate_alerts(counts_.duplicate_alerts - duplicates_reported);
      metrics_->published(counts_.published - published_reported);
      reported = counts_.pipeline;
      duplicates_reported = counts_.duplicate_alerts;
      published_reported = counts_.published;
    }
    if (metrics_ && clock::now() - gauges_reported >= std::chrono::seconds(1)) {
      // Gauges once a second, busy or idle: lag, watermark, reorder buffer, state size.
      gauges_reported = clock::now();
      std::vector<RdKafka::TopicPartition*> assigned;
      if (consumer->assignment(assigned) == RdKafka::ERR_NO_ERROR) {
        consumer->position(assigned);
        std::vector<metrics::partition_lag> lags;
        for (const auto* tp : assigned) {
          std::int64_t low = 0, high = 0;
          if (consumer->get_watermark_offsets(tp->topic(), tp->partition(), &low, &high) != RdKafka::ERR_NO_ERROR ||
              high < 0)
            continue;
          // No position yet (nothing fetched since assignment): everything from the low mark waits.
          std::int64_t position = tp->offset() >= 0 ? tp->offset() : low;
          lags.push_back({tp->topic(), tp->partition(), std::max<std::int64_t>(0, high - position)});
        }
        metrics_->consumer_lag(lags);
      }
      RdKafka::TopicPartition::destroy(assigned);
      auto& engine = pipe.correlations();
      if (engine.watermark() != INT64_MIN)
        metrics_->watermark_lag(static_cast<double>(wall_clock_now() - engine.watermark()) / ns_per_second);
      // A reload starts a new engine and its counts: the peak is the worker's.
      buffered_peak = std::max(buffered_peak, engine.counts().buffered_peak);
      metrics_->reorder_buffered(engine.counts().buffered, buffered_peak);
      metrics_->state(db_.state_bytes(), state.cached(), db_.evidence_files_dropped());
    }
    // Between batches: a new rule set takes over the state where the old one left it.
    if (rules_.poll_reload()) {
      // restore() scans the store, which must hold every batch by then.
      if (auto s = finish_commit(); !s) return s;
      counts_.alerts_before_reloads = counts_.alerts_raised;
      restore();
      pipe.set_engine(rules_.current());
      engine_reported = {};
      matches_reported.clear();
      pushed_out_reported.clear();
    }
    if (options_.status_interval_seconds > 0 &&
        clock::now() - last_status > std::chrono::duration<double>(options_.status_interval_seconds)) {
      double secs = std::chrono::duration<double>(clock::now() - last_status).count();
      const auto& c = counts_.pipeline;
      std::fprintf(stderr, "sentrail: events %llu (%.0f/s)  alerts %llu  dead letters %llu  reorder buffer %llu\n",
                   static_cast<unsigned long long>(c.events),
                   static_cast<double>(c.events - events_at_last_status) / secs,
                   static_cast<unsigned long long>(counts_.alerts_raised - counts_.duplicate_alerts),
                   static_cast<unsigned long long>(c.rejected),
                   static_cast<unsigned long long>(pipe.correlations().counts().buffered));
      events_at_last_status = c.events;
      last_status = clock::now();
    }
  }
  if (auto s = finish_commit(); !s) return s;
  rebalance.before_reading_offsets = nullptr;
  rebalance.reader = nullptr;
  input.close();  // before the consumer closes
  // Leaving the group needs the broker; if it is gone, close() can wait forever.
  // Everything is durable already, so give it a while and then go regardless.
  auto closed = std::make_shared<std::promise<void>>();
  auto closing = closed->get_future();
  std::thread([c = consumer.release(), closed, rebalance_owner] {
    c->close();
    delete c;
    closed->set_value();
  }).detach();
  if (closing.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
    std::fprintf(stderr, "sentrail: the Kafka consumer did not close within 10 s (is the broker gone?); "
                         "state and offsets are durable, leaving anyway\n");
  send();
  if (auto s = settle(10000); !s) return s;
  if (!awaiting.empty() || !to_send.empty())
    std::fprintf(stderr, "sentrail: %zu records stay in the outbox for the next run\n", awaiting.size() + to_send.size());
  return {};
}

}  // namespace sentrail::worker
