// The shipped foundation pack: every rule loads, fires on its threat and not on a near miss.

#include <gtest/gtest.h>

#include "rules/loader.h"
#include "tests/rules/test_util.h"

namespace sentrail::rules {
namespace {

using testing::dump;
using testing::event_builder;

class foundation_pack : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    result_ = new load_result(load_rules(SENTRAIL_SOURCE_DIR "/rules/pack/foundation.yml"));
  }
  static void TearDownTestSuite() {
    delete result_;
    result_ = nullptr;
  }
  const detection_rule& rule(std::string_view id) {
    const detection_rule* r = result_->rules.find(id);
    EXPECT_NE(r, nullptr) << id;
    return *r;
  }
  static load_result* result_;
};
load_result* foundation_pack::result_ = nullptr;

TEST_F(foundation_pack, loads_six_rules_without_diagnostics) {
  EXPECT_TRUE(result_->diagnostics.empty()) << dump(*result_);
  ASSERT_EQ(result_->rules.detections().size(), 6u);
  for (const auto& r : result_->rules.detections()) {
    EXPECT_FALSE(r->info().title.empty());
    EXPECT_FALSE(r->info().description.empty());
    EXPECT_FALSE(r->info().level.empty());
    EXPECT_EQ(r->info().product, "retail");
    EXPECT_EQ(r->info().channels.size(), 1u);
  }
  EXPECT_EQ(result_->rules.for_channel("supplier").size(), 2u);
}

TEST_F(foundation_pack, badge_door_forced) {
  const auto& r = rule("sentrail-badge-door-forced");
  EXPECT_EQ(r.info().level, "high");
  EXPECT_TRUE(r.applies_to("badge"));
  event_builder yes, no;
  yes.str("event.action", "door_forced");
  no.str("event.action", "door_opened");
  EXPECT_TRUE(r.matches(yes.e));
  EXPECT_FALSE(r.matches(no.e));
}

TEST_F(foundation_pack, supplier_bank_details_change) {
  const auto& r = rule("sentrail-supplier-bank-details-change");
  EXPECT_EQ(r.info().level, "medium");
  event_builder yes, no;
  yes.str("event.action", "bank_details_change");
  no.str("event.action", "address_change");
  EXPECT_TRUE(r.matches(yes.e));
  EXPECT_FALSE(r.matches(no.e));
}

TEST_F(foundation_pack, pos_manual_entry_high_value) {
  const auto& r = rule("sentrail-pos-manual-entry-high-value");
  EXPECT_EQ(r.info().level, "medium");
  event_builder yes, raw, cheap, chip;
  yes.str("event.action", "sale").str("card_entry", "manual").num("retail.amount", "500", 500);
  raw.str("event.action", "sale")
      .extra("card_entry", "manual")
      .num("retail.amount", "912.5", 912.5);
  cheap.str("event.action", "sale")
      .str("card_entry", "manual")
      .num("retail.amount", "499.99", 499.99);
  chip.str("event.action", "sale").str("card_entry", "chip").num("retail.amount", "900", 900);
  EXPECT_TRUE(r.matches(yes.e));
  EXPECT_TRUE(r.matches(raw.e));
  EXPECT_FALSE(r.matches(cheap.e));
  EXPECT_FALSE(r.matches(chip.e));
}

TEST_F(foundation_pack, supplier_bulk_export_large) {
  const auto& r = rule("sentrail-supplier-bulk-export-large");
  EXPECT_EQ(r.info().level, "high");
  event_builder yes, edge;
  yes.str("event.action", "bulk_export").num("records", "25000", 25000);
  edge.str("event.action", "bulk_export").num("records", "10000", 10000);
  EXPECT_TRUE(r.matches(yes.e));
  EXPECT_FALSE(r.matches(edge.e));
}

TEST_F(foundation_pack, web_sensitive_path_probe) {
  const auto& r = rule("sentrail-web-sensitive-path-probe");
  EXPECT_EQ(r.info().level, "low");
  for (const char* path : {"/.env", "/shop/wp-login.php", "/img/../../x", "/a?f=/etc/passwd",
                           "/.git/config", "/.ENV.bak"}) {
    event_builder e;
    e.str("url.path", path);
    EXPECT_TRUE(r.matches(e.e)) << path;
  }
  event_builder normal;
  normal.str("url.path", "/products/environment-friendly-bag");
  EXPECT_FALSE(r.matches(normal.e));
}

TEST_F(foundation_pack, mobile_login_from_tor_exit) {
  const auto& r = rule("sentrail-mobile-login-from-tor-exit");
  EXPECT_EQ(r.info().level, "medium");
  event_builder yes, outside, other_action;
  yes.str("event.action", "login").str("source.ip", "185.220.101.42");
  outside.str("event.action", "login").str("source.ip", "185.220.104.1");
  other_action.str("event.action", "logout").str("source.ip", "185.220.101.42");
  EXPECT_TRUE(r.matches(yes.e));
  EXPECT_FALSE(r.matches(outside.e));
  EXPECT_FALSE(r.matches(other_action.e));
}

}  // namespace
}  // namespace sentrail::rules
