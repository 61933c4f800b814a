#include "worker/partition_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sentrail::worker {

lane_choice choose_lane(std::span<const lane_view> lanes, std::int64_t window_ms) {
  const lane_view* behind_with_records = nullptr;
  const lane_view* lagging = nullptr;
  std::int64_t newest = INT64_MIN;
  for (const auto& l : lanes) {
    newest = std::max(newest, l.last_time);
    if (l.has_records) {
      if (!behind_with_records || l.last_time < behind_with_records->last_time) behind_with_records = &l;
    } else if (l.lagging) {
      if (!lagging || l.last_time < lagging->last_time) lagging = &l;
    }
  }
  auto at = [&](const lane_view* l) { return static_cast<std::size_t>(l - lanes.data()); };
  // Lagging is learnt only after a read, so a lagging lane's time is never
  // INT64_MIN, and adding the window cannot overflow.
  const bool lag_binds = lagging && newest > lagging->last_time + window_ms;
  if (behind_with_records && (!lag_binds || behind_with_records->last_time <= lagging->last_time + window_ms))
    return {lane_choice::step::read, at(behind_with_records)};
  // Live traffic: every partition is within the window of the newest, and a
  // drained input ends the batch rather than wait for the next fetch.
  if (lag_binds) return {lane_choice::step::wait_for_lagging, at(lagging)};
  return {lane_choice::step::idle, 0};
}

partition_reader::partition_reader(rd_kafka_t* consumer, options o) : consumer_(consumer), options_(o) {
  main_ = rd_kafka_queue_get_consumer(consumer_);
  if (!aligned()) return;
  if (pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
    wake_[0] = wake_[1] = -1;
    return;
  }
  static constexpr char byte = 1;
  if (main_) rd_kafka_queue_io_event_enable(main_, wake_[1], &byte, 1);
}

partition_reader::~partition_reader() {
  close();
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

status partition_reader::ready() const {
  if (!main_) return error{"the Kafka consumer has no group queue to read"};
  if (aligned() && wake_[0] < 0)
    return error{std::string("cannot create the pipe that wakes the partition reader: ") + std::strerror(errno)};
  return {};
}

void partition_reader::close() {
  for (auto& s : lanes_.all()) {
    rd_kafka_queue_io_event_enable(s.value.queue, -1, nullptr, 0);
    rd_kafka_queue_destroy(s.value.queue);
  }
  lanes_.all().clear();
  if (main_) {
    if (aligned()) rd_kafka_queue_io_event_enable(main_, -1, nullptr, 0);
    rd_kafka_queue_destroy(main_);
    main_ = nullptr;
  }
}

void partition_reader::add(std::string_view topic, std::int32_t partition) {
  if (!aligned() || lanes_.find(topic, partition)) return;
  const std::string name(topic);
  rd_kafka_queue_t* q = rd_kafka_queue_get_partition(consumer_, name.c_str(), partition);
  if (!q) return;  // unknown to the client: its records stay on the consumer's queue
  // Forwarding switched off by the application is kept by librdkafka when the
  // partition's fetcher starts, so its records never reach the consumer's queue.
  rd_kafka_queue_forward(q, nullptr);
  static constexpr char byte = 1;
  rd_kafka_queue_io_event_enable(q, wake_[1], &byte, 1);
  lanes_.find_or_add(topic, partition, {.queue = q});
  views_.resize(lanes_.all().size());
}

void partition_reader::remove(std::string_view topic, std::int32_t partition) {
  lane* l = lanes_.find(topic, partition);
  if (!l) return;
  rd_kafka_queue_io_event_enable(l->queue, -1, nullptr, 0);
  rd_kafka_queue_destroy(l->queue);
  lanes_.erase(topic, partition);
  views_.resize(lanes_.all().size());
}

void partition_reader::note(const rd_kafka_message_t* m, lane* known) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR || !m->rkt) return;
  lane* l = known ? known : lanes_.find(rd_kafka_topic_name(m->rkt), m->partition);
  if (!l) return;
  l->next_offset = m->offset + 1;
  const std::int64_t t = rd_kafka_message_timestamp(m, nullptr);
  if (t < 0) {
    l->timed = false;
    return;
  }
  l->last_time = std::max(l->last_time, t);
}

std::int64_t partition_reader::unread_on_broker(const lanes::slot& s) const {
  if (s.value.next_offset < 0) return 0;
  std::int64_t low = 0, high = -1;
  if (rd_kafka_get_watermark_offsets(consumer_, s.topic.c_str(), s.partition, &low, &high) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    return 0;
  return std::max<std::int64_t>(high - s.value.next_offset, 0);
}

std::uint64_t partition_reader::backlog() const {
  std::uint64_t behind = 0;
  for (const auto& s : lanes_.all()) behind += static_cast<std::uint64_t>(unread_on_broker(s));
  return behind;
}

std::size_t partition_reader::take(rd_kafka_queue_t* q, rd_kafka_message_t** out, std::size_t n, std::size_t max,
                                   lane* from) {
  if (max == 0) return 0;
  const ssize_t got = rd_kafka_consume_batch_queue(q, 0, out + n, max);
  if (got <= 0) return 0;
  for (ssize_t i = 0; i < got; ++i) note(out[n + static_cast<std::size_t>(i)], from);
  return static_cast<std::size_t>(got);
}

void partition_reader::wait_until(clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
  if (left <= 0) return;
  pollfd p{wake_[0], POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left)) > 0) {
    char sink[256];
    while (::read(wake_[0], sink, sizeof sink) > 0) {
    }
  }
}

std::size_t partition_reader::read(int timeout_ms, rd_kafka_message_t** out, std::size_t want) {
  if (!main_ || want == 0) return 0;
  if (!aligned()) {
    // One record waited for, then whatever is already here (asked for several
    // with a timeout, librdkafka waits to fill them all).
    const ssize_t first = rd_kafka_consume_batch_queue(main_, timeout_ms, out, 1);
    if (first <= 0) return 0;
    const ssize_t rest = want > 1 ? rd_kafka_consume_batch_queue(main_, 0, out + 1, want - 1) : 0;
    return 1 + static_cast<std::size_t>(std::max<ssize_t>(rest, 0));
  }
  const auto deadline = clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  auto lagging_deadline = clock::time_point::max();
  std::size_t n = 0;
  while (true) {
    // Callbacks, and records fetched before a partition's queue was split off
    // (older than any in its own queue, so taken first).
    n += take(main_, out, n, want - n, nullptr);
    if (n == want) return n;
    auto& all = lanes_.all();
    for (std::size_t i = 0; i < all.size(); ++i)
      views_[i] = {all[i].value.last_time, rd_kafka_queue_length(all[i].value.queue) > 0, all[i].value.lagging};
    const lane_choice next = choose_lane(views_, options_.window_ms);
    if (next.what == lane_choice::step::read) {
      lane& l = all[next.lane].value;
      n += take(l.queue, out, n, std::min(options_.turn, want - n), &l);
      // A partition without timestamps is never waited for.
      l.lagging = l.timed && rd_kafka_queue_length(l.queue) == 0 && unread_on_broker(all[next.lane]) > 0;
      lagging_deadline = clock::time_point::max();
      if (n == want) return n;
      continue;
    }
    if (n > 0) return n;  // the caller works through these; the wait comes on its next call
    if (next.what == lane_choice::step::wait_for_lagging) {
      const auto now = clock::now();
      if (lagging_deadline == clock::time_point::max()) lagging_deadline = now + options_.lagging_wait;
      if (now >= lagging_deadline) {
        // Nothing came: read the others, until this one's queue runs dry again.
        lanes_.all()[next.lane].value.lagging = false;
        lagging_deadline = clock::time_point::max();
        ++counts_.gave_up;
        continue;
      }
      wait_until(lagging_deadline);
      continue;
    }
    if (clock::now() >= deadline) return 0;
    wait_until(deadline);
  }
}

}  // namespace sentrail::worker
