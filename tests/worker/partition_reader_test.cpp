#include "worker/partition_reader.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sentrail::worker {
namespace {

using step = lane_choice::step;

TEST(ChooseLane, ReadsThePartitionFurthestBehindThatHasRecords) {
  std::vector<lane_view> lanes = {{5000, true, false}, {2000, true, false}, {9000, true, false}};
  auto c = choose_lane(lanes, 1000);
  EXPECT_EQ(c.what, step::read);
  EXPECT_EQ(c.lane, 1u);
}

TEST(ChooseLane, WaitsForALaggingPartitionFurtherBehindThanTheWindow) {
  // Lane 0 has nothing queued but more on the broker, 5 s behind lane 1.
  std::vector<lane_view> lanes = {{1000, false, true}, {6000, true, false}};
  auto c = choose_lane(lanes, 1000);
  EXPECT_EQ(c.what, step::wait_for_lagging);
  EXPECT_EQ(c.lane, 0u);
}

TEST(ChooseLane, ReadsAheadOfALaggingPartitionWithinTheWindow) {
  std::vector<lane_view> lanes = {{5500, false, true}, {6000, true, false}};
  auto c = choose_lane(lanes, 1000);
  EXPECT_EQ(c.what, step::read);
  EXPECT_EQ(c.lane, 1u);
}

TEST(ChooseLane, LiveInputWithNothingQueuedIsIdleNotAWait) {
  // Every partition within the window of the newest: a drained input, so the
  // batch may end instead of waiting for the next fetch.
  std::vector<lane_view> lanes = {{5500, false, true}, {6000, false, false}};
  EXPECT_EQ(choose_lane(lanes, 1000).what, step::idle);
}

TEST(ChooseLane, WithNothingQueuedABacklogBehindTheNewestIsWaitedFor) {
  std::vector<lane_view> lanes = {{1000, false, true}, {60000, false, false}};
  auto c = choose_lane(lanes, 1000);
  EXPECT_EQ(c.what, step::wait_for_lagging);
  EXPECT_EQ(c.lane, 0u);
}

TEST(ChooseLane, NothingAnywhereIsIdle) {
  std::vector<lane_view> lanes = {{INT64_MIN, false, false}, {3000, false, false}};
  EXPECT_EQ(choose_lane(lanes, 1000).what, step::idle);
  EXPECT_EQ(choose_lane({}, 1000).what, step::idle);
}

TEST(ChooseLane, APartitionNotReadYetComesFirst) {
  std::vector<lane_view> lanes = {{7000, true, false}, {INT64_MIN, true, false}};
  auto c = choose_lane(lanes, 1000);
  EXPECT_EQ(c.what, step::read);
  EXPECT_EQ(c.lane, 1u);
}

// Through librdkafka's mock cluster: the Kafka protocol over loopback, as the
// embedded broker (`sentrail broker`) serves it.
class PartitionReaderOnBroker : public ::testing::Test {
 protected:
  static constexpr int partitions = 2;
  static constexpr int per_partition = 1000;
  static constexpr int per_batch = 250;
  static constexpr std::int64_t base_ms = 1'700'000'000'000;
  static constexpr std::int64_t spacing_ms = 1000;

  void SetUp() override {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(host_, nullptr) << err;
    cluster_ = rd_kafka_mock_cluster_new(host_, 1);
    ASSERT_NE(cluster_, nullptr);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "t", partitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    produce();
  }
  void TearDown() override {
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    if (host_) rd_kafka_destroy(host_);
  }

  // Both partitions hold the same span of time, one record a second; each is
  // written in producer batches of 250, partition 0's batch before partition 1's,
  // so a fetch hands over 250 s of one partition at a time.
  void produce() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "1000", err, sizeof err);
    rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(p, nullptr) << err;
    for (int from = 0; from < per_partition; from += per_batch) {
      for (int partition = 0; partition < partitions; ++partition) {
        for (int i = from; i < from + per_batch; ++i) {
          std::string value = std::to_string(i);
          ASSERT_EQ(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(partition),
                                      RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_TIMESTAMP(base_ms + i * spacing_ms), RD_KAFKA_V_END),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
        }
        ASSERT_EQ(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
      }
    }
    rd_kafka_destroy(p);
  }

  rd_kafka_t* consumer() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (auto [k, v] : {std::pair{"bootstrap.servers", bootstrap_.c_str()}, {"group.id", "reader-test"},
                        {"enable.auto.commit", "false"}, {"fetch.wait.max.ms", "10"},
                        {"queued.max.messages.kbytes", "1024"}}) {
      EXPECT_EQ(rd_kafka_conf_set(conf, k, v, err, sizeof err), RD_KAFKA_CONF_OK) << err;
    }
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    EXPECT_NE(c, nullptr) << err;
    return c;
  }

  static void assign(rd_kafka_t* c, partition_reader& reader, const std::map<int, std::int64_t>& from) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (auto [partition, offset] : from) {
      reader.add("t", partition);  // before assign(), as the worker's rebalance callback does
      rd_kafka_topic_partition_list_add(list, "t", partition)->offset = offset;
    }
    ASSERT_EQ(rd_kafka_assign(c, list), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(list);
  }

  struct read_record {
    int partition;
    std::int64_t offset;
    std::int64_t time;
  };
  // Reads until `count` records came or 20 s passed.
  static std::vector<read_record> read_all(partition_reader& reader, std::size_t count) {
    std::vector<read_record> got;
    std::vector<rd_kafka_message_t*> buffer(100);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (got.size() < count && std::chrono::steady_clock::now() < give_up) {
      std::size_t n = reader.read(100, buffer.data(), buffer.size());
      for (std::size_t i = 0; i < n; ++i) {
        rd_kafka_message_t* m = buffer[i];
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
          got.push_back({m->partition, m->offset, rd_kafka_message_timestamp(m, nullptr)});
        rd_kafka_message_destroy(m);
      }
    }
    return got;
  }

  // How far (ms) a record was read ahead of the next unread record of another
  // partition, at worst: of one read from already, or with `unread_too` of any
  // (a partition not read from yet has its first record, at base_ms, unread).
  static std::int64_t worst_lead(const std::vector<read_record>& records, bool unread_too = false) {
    std::map<int, std::int64_t> next_unread_time;  // partitions read from so far
    if (unread_too)
      for (int partition = 0; partition < partitions; ++partition) next_unread_time[partition] = base_ms;
    std::int64_t worst = 0;
    for (const auto& r : records) {
      for (auto [partition, next] : next_unread_time)
        if (partition != r.partition && next <= base_ms + (per_partition - 1) * spacing_ms)
          worst = std::max(worst, r.time - next);
      next_unread_time[r.partition] = r.time + spacing_ms;
    }
    return worst;
  }

  static void expect_each_record_once_in_order(const std::vector<read_record>& records, int per) {
    std::map<int, std::vector<std::int64_t>> offsets;
    for (const auto& r : records) offsets[r.partition].push_back(r.offset);
    ASSERT_EQ(offsets.size(), static_cast<std::size_t>(partitions));
    for (const auto& [partition, list] : offsets) {
      ASSERT_EQ(list.size(), static_cast<std::size_t>(per)) << "partition " << partition;
      for (std::size_t i = 0; i < list.size(); ++i) EXPECT_EQ(list[i], static_cast<std::int64_t>(i));
    }
  }

  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

TEST_F(PartitionReaderOnBroker, ReadsThePartitionsInStepByTimestamp) {
  constexpr std::int64_t window_ms = 10'000;
  constexpr std::size_t turn = 8;
  rd_kafka_t* c = consumer();
  ASSERT_NE(c, nullptr);
  std::vector<read_record> records;
  {
    partition_reader reader(c, {.window_ms = window_ms, .lagging_wait = std::chrono::milliseconds(2000), .turn = turn});
    ASSERT_TRUE(reader.ready());
    assign(c, reader, {{0, RD_KAFKA_OFFSET_BEGINNING}, {1, RD_KAFKA_OFFSET_BEGINNING}});
    records = read_all(reader, partitions * per_partition);
    EXPECT_EQ(reader.stats().gave_up, 0u);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  expect_each_record_once_in_order(records, per_partition);
  // One turn past the window, at one record a second.
  EXPECT_LE(worst_lead(records), window_ms + static_cast<std::int64_t>(turn) * spacing_ms);
}

TEST_F(PartitionReaderOnBroker, InFetchOrderAPartitionRunsABatchAhead) {
  // What the reader is for: the same records in fetch order are a producer
  // batch (250 s) apart. Were they not, the test above would prove nothing.
  rd_kafka_t* c = consumer();
  ASSERT_NE(c, nullptr);
  std::vector<read_record> records;
  {
    partition_reader reader(c, {.window_ms = -1});
    ASSERT_TRUE(reader.ready());
    assign(c, reader, {{0, RD_KAFKA_OFFSET_BEGINNING}, {1, RD_KAFKA_OFFSET_BEGINNING}});
    records = read_all(reader, partitions * per_partition);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  expect_each_record_once_in_order(records, per_partition);
  // Counting partitions not read from yet: on a busy machine the first fetch may
  // bring all of one partition before the other's arrives, which is a lead too.
  EXPECT_GE(worst_lead(records, true), 100 * spacing_ms);
}

TEST_F(PartitionReaderOnBroker, AReassignmentResumesWhereReadingStopped) {
  rd_kafka_t* c = consumer();
  ASSERT_NE(c, nullptr);
  std::vector<read_record> records;
  {
    partition_reader reader(c, {.window_ms = 10'000});
    ASSERT_TRUE(reader.ready());
    assign(c, reader, {{0, RD_KAFKA_OFFSET_BEGINNING}, {1, RD_KAFKA_OFFSET_BEGINNING}});
    records = read_all(reader, 600);
    // Revoked: the partitions' queues go, and whatever they still held with them.
    ASSERT_EQ(rd_kafka_assign(c, nullptr), RD_KAFKA_RESP_ERR_NO_ERROR);
    reader.remove("t", 0);
    reader.remove("t", 1);
    std::map<int, std::int64_t> next = {{0, 0}, {1, 0}};
    for (const auto& r : records) next[r.partition] = std::max(next[r.partition], r.offset + 1);
    assign(c, reader, next);
    auto rest = read_all(reader, partitions * per_partition - records.size());
    records.insert(records.end(), rest.begin(), rest.end());
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  expect_each_record_once_in_order(records, per_partition);
}

TEST_F(PartitionReaderOnBroker, TheBacklogIsWhatTheBrokerHoldsPastWhatWasRead) {
  rd_kafka_t* c = consumer();
  ASSERT_NE(c, nullptr);
  {
    partition_reader reader(c, {.window_ms = 10'000});
    ASSERT_TRUE(reader.ready());
    EXPECT_EQ(reader.backlog(), 0u);  // nothing read yet: nothing known
    assign(c, reader, {{0, RD_KAFKA_OFFSET_BEGINNING}, {1, RD_KAFKA_OFFSET_BEGINNING}});
    // Until both partitions' fetches came: before its first fetch, a partition's
    // high mark is not known (on a busy machine one partition's may come first).
    std::vector<read_record> records;
    std::map<int, std::int64_t> read_per_partition;
    while (read_per_partition.size() < 2 && records.size() < partitions * per_partition) {
      auto more = read_all(reader, 100);
      if (more.empty()) break;
      for (const auto& r : more) read_per_partition[r.partition] = r.offset + 1;
      records.insert(records.end(), more.begin(), more.end());
    }
    ASSERT_EQ(read_per_partition.size(), 2u);
    ASSERT_LT(records.size(), static_cast<std::size_t>(partitions * per_partition)) << "nothing left to be a backlog";
    // Both partitions' high marks (1000) came with their fetches.
    EXPECT_EQ(reader.backlog(), static_cast<std::uint64_t>(partitions * per_partition - records.size()));
    read_all(reader, partitions * per_partition - records.size());
    EXPECT_EQ(reader.backlog(), 0u);
  }
  {
    partition_reader in_fetch_order(c, {.window_ms = -1});
    EXPECT_EQ(in_fetch_order.backlog(), 0u);  // no partition queues: not tracked
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
}

}  // namespace
}  // namespace sentrail::worker
