// `sentrail broker`: librdkafka's mock cluster speaking the real Kafka protocol
// on loopback, with Sentrail's topics created, for demos and tests.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "app/commands.h"

namespace sentrail::app {
namespace {

std::atomic<bool> broker_stop{false};

struct broker_flags {
  int partitions = 4;
  int brokers = 1;
  std::vector<std::string> extra_topics;
};

int run_broker(const broker_flags& flags) {
  // Before the bootstrap line: whoever reads it may stop us at once.
  std::signal(SIGTERM, [](int) { broker_stop = true; });
  std::signal(SIGINT, [](int) { broker_stop = true; });
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // A producer handle only hosts the mock cluster; it never produces.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "sentrail broker: cannot start: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, flags.brokers);
  if (!cluster) {
    std::fprintf(stderr, "sentrail broker: cannot create the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  std::vector<std::string> topics = {"retail.web",       "retail.mobile",   "retail.pos",
                                     "retail.supplier",  "retail.badge",    "sentrail.alerts",
                                     "sentrail.deadletter"};
  topics.insert(topics.end(), flags.extra_topics.begin(), flags.extra_topics.end());
  for (const auto& t : topics) {
    if (rd_kafka_mock_topic_create(cluster, t.c_str(), flags.partitions, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "sentrail broker: cannot create topic %s\n", t.c_str());
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }
  std::printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  std::fprintf(stderr, "sentrail broker: %zu topics with %d partitions each; SIGTERM or Ctrl-C stops it\n",
               topics.size(), flags.partitions);
  while (!broker_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}

}  // namespace

void add_broker_command(CLI::App& app, command_result& out) {
  auto flags = std::make_shared<broker_flags>();
  CLI::App* cmd = app.add_subcommand(
      "broker",
      "Run an embedded Kafka-protocol broker on loopback (librdkafka's mock cluster) with the\n"
      "channel, alert and dead-letter topics created. Prints 'bootstrap=HOST:PORT' first;\n"
      "runs until SIGTERM. For demos and tests: it keeps about 5 MiB per partition.");
  cmd->add_option("--partitions", flags->partitions, "Partitions per topic")->default_val(4)->check(CLI::Range(1, 1000));
  cmd->add_option("--brokers", flags->brokers, "Mock brokers in the cluster")->default_val(1)->check(CLI::Range(1, 16));
  cmd->add_option("--topic", flags->extra_topics, "Another topic to create (repeatable)");
  cmd->callback([flags, &out] { out.exit_code = run_broker(*flags); });
}

}  // namespace sentrail::app
