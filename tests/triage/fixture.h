#pragma once
// A real durable_store in a temp dir, alerts raised into it the way the worker
// does (store + incident grouper in one batch), and a service over it.

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "correlate/alert.h"
#include "store/store.h"
#include "triage/incidents.h"
#include "triage/service.h"

namespace sentrail::triage::testing {

inline constexpr timestamp_ns base_time = 1'795'000'000'000'000'000;  // 2026-11-18
inline constexpr timestamp_ns minute = 60 * ns_per_second;

inline correlate::alert make_alert(std::string id, std::string rule, std::string level, std::string field,
                                   std::string value, timestamp_ns last_seen, std::string channel = "web") {
  correlate::alert a;
  a.id = std::move(id);
  a.rule_id = rule;
  a.rule_title = "Title of " + rule;
  a.level = std::move(level);
  a.type = "detection";
  if (!field.empty()) a.group = {{std::move(field), std::move(value)}};
  a.first_seen = last_seen;
  a.last_seen = last_seen;
  a.emitted_at = last_seen;
  a.count = 1;
  correlate::evidence e;
  e.channel = channel;
  e.topic = "retail." + channel;
  e.partition = 0;
  e.offset = 7;
  e.time = last_seen;
  e.fields.push_back({"event.action", "login", ingest::value_kind::string});
  a.events.push_back(std::move(e));
  return a;
}

class triage_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("sentrail-triage-") + info->test_suite_name() + "-" + info->name() + "-" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    auto opened = store::durable_store::open(dir_, {false, 8 << 20, 4 << 20});
    ASSERT_TRUE(opened) << opened.message();
    db_ = std::move(opened).value();
    grouper_ = std::make_unique<incident_grouper>(*db_, incident_options{span_});
    service_ = std::make_unique<service>(*db_);
  }
  void TearDown() override {
    service_.reset();
    grouper_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  /// Raises alerts in one batch, as the worker does.
  void raise(std::initializer_list<correlate::alert> alerts) {
    store::batch b;
    for (const auto& a : alerts) {
      std::string json = correlate::to_json(a);
      ASSERT_TRUE(db_->add_alert(b, a, json));
      grouper_->on_alert(b, a, json);
    }
    grouper_->on_sealed();
    ASSERT_TRUE(db_->commit(b).ok());
    grouper_->on_committed();
  }

  alert_summary summary(const std::string& id) {
    auto d = service_->alert(id);
    EXPECT_TRUE(d) << (d ? "" : d.why().message);
    return d ? d->summary : alert_summary{};
  }

  timestamp_ns span_ = 60 * minute;
  std::filesystem::path dir_;
  std::unique_ptr<store::durable_store> db_;
  std::unique_ptr<incident_grouper> grouper_;
  std::unique_ptr<service> service_;
  actor alice_{"alice", role::analyst};
};

/// Parses JSON text for assertions (throws on bad JSON: a test failure).
inline simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& json) { return p.parse(json); }

}  // namespace sentrail::triage::testing
