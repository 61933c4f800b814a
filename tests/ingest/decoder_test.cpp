#include "ingest/decoder.h"

#include <gtest/gtest.h>

#include "test_support.h"

using namespace sentrail;
using namespace sentrail::ingest;
using sentrail::ingest::testing::fixture;

TEST(decoder, normalises_a_web_login_failure_to_ecs_names) {
  fixture f;
  auto r = f.decode("web", R"({"ts":"2026-11-23T10:00:00Z","client_ip":"203.0.113.7","method":"POST",
    "path":"/login","status":401,"bytes":512,"user_agent":"curl/8","session_id":"s-1","user":"alice@example.com",
    "event":"login_failed"})");
  ASSERT_FALSE(r) << r->detail;
  EXPECT_EQ(f.e.time, *parse_rfc3339("2026-11-23T10:00:00Z"));
  EXPECT_EQ(f.text("event.action"), "login_failed");
  EXPECT_EQ(f.text("event.outcome"), "failure");
  EXPECT_EQ(f.text("event.channel"), "web");
  EXPECT_EQ(f.text("source.ip"), "203.0.113.7");
  EXPECT_EQ(f.text("user.name"), "alice@example.com");
  EXPECT_EQ(f.text("url.path"), "/login");
  ASSERT_NE(f.e.get("http.response.status_code"), nullptr);
  EXPECT_EQ(f.e.get("http.response.status_code")->kind, value_kind::number);
  EXPECT_EQ(f.e.get("http.response.status_code")->number, 401);
  // The session id is a bearer secret: hashed by the shipped web policy.
  EXPECT_EQ(f.text("session.id").substr(0, 2), "h_");
  EXPECT_EQ(f.e.get("session_id"), nullptr);
}

TEST(decoder, flattens_nested_mobile_geo_and_keeps_unknown_fields) {
  fixture f;
  auto r = f.decode("mobile", R"({"ts":"2026-11-23T10:00:00.5Z","device_id":"d-9","app_version":"5.1",
    "os":"ios","customer_id":"c-42","ip":"198.51.100.2","geo":{"lat":51.5,"lon":-0.12,"country":"GB"},
    "event":"login","campaign":"black-friday","tags":["a","b"]})");
  ASSERT_FALSE(r) << r->detail;
  EXPECT_EQ(f.text("user.id"), "c-42");
  EXPECT_EQ(f.text("device.id"), "d-9");
  ASSERT_NE(f.e.get("source.geo.location.lat"), nullptr);
  EXPECT_DOUBLE_EQ(f.e.get("source.geo.location.lat")->number, 51.5);
  EXPECT_DOUBLE_EQ(f.e.get("source.geo.location.lon")->number, -0.12);
  EXPECT_EQ(f.text("source.geo.country_iso_code"), "GB");
  EXPECT_EQ(f.text("campaign"), "black-friday");
  EXPECT_EQ(f.text("tags"), R"(["a","b"])");
  EXPECT_EQ(f.text("event.outcome"), "success");
}

TEST(decoder, tokenises_the_pos_card_and_keeps_no_trace_of_the_pan) {
  fixture f;
  auto r = f.decode("pos", R"({"ts":"2026-11-23T10:00:00Z","store_id":"S001","register_id":"R1",
    "employee_id":"E7","txn_id":"T1","event":"sale","amount":19.99,"currency":"USD",
    "card_pan":"4111111111111111","card_entry":"chip","manager_override":false})");
  ASSERT_FALSE(r) << r->detail;
  EXPECT_EQ(f.text("retail.card.last4"), "1111");
  EXPECT_EQ(f.text("retail.card.token").substr(0, 4), "tok_");
  EXPECT_EQ(f.text("retail.card.token").size(), token_length);
  for (const auto& field : f.e.fields())
    EXPECT_EQ(field.value.text.find("4111111111111111"), std::string_view::npos) << field.name;
  EXPECT_EQ(f.e.get("card_pan"), nullptr);
  EXPECT_EQ(f.text("manager_override"), "false");
}

TEST(decoder, gives_the_same_card_the_same_token_across_channels) {
  fixture f;
  ASSERT_FALSE(f.decode("pos", R"({"ts":"2026-11-23T10:00:00Z","event":"sale","card_pan":4111111111111111})"));
  std::string pos_token = f.text("retail.card.token");
  ASSERT_FALSE(f.decode("web", R"({"ts":"2026-11-23T10:00:00Z","event":"payment_authorized","card_pan":"4111 1111 1111 1111"})"));
  EXPECT_EQ(f.text("retail.card.token"), pos_token);
}

TEST(decoder, masks_a_card_number_found_in_an_unexpected_field) {
  fixture f;
  ASSERT_FALSE(f.decode("supplier", R"({"ts":"2026-11-23T10:00:00Z","supplier_id":"SUP1","event":"invoice_submit",
    "note":"pay with card 5555-5555-5555-4444 please"})"));
  EXPECT_EQ(f.text("note"), "pay with card ****-****-****-4444 please");
  EXPECT_EQ(f.text("retail.card.last4"), "4444");
  EXPECT_EQ(f.text("retail.card.token").substr(0, 4), "tok_");
}

TEST(decoder, reads_epoch_timestamps_in_seconds_and_milliseconds) {
  fixture f;
  ASSERT_FALSE(f.decode("badge", R"({"ts":1795392000,"badge_id":"B1","event":"access_granted"})"));
  EXPECT_EQ(f.e.time, *parse_rfc3339("2026-11-23T00:00:00Z"));
  ASSERT_FALSE(f.decode("badge", R"({"ts":1795392000250,"badge_id":"B1","event":"access_granted"})"));
  EXPECT_EQ(f.e.time, *parse_rfc3339("2026-11-23T00:00:00.250Z"));
}

struct bad_case {
  const char* name;
  std::string raw;
  rejection_reason reason;
};

class decoder_rejects : public ::testing::TestWithParam<bad_case> {};

TEST_P(decoder_rejects, bad_input_with_the_right_reason) {
  fixture f;
  auto r = f.decode("pos", GetParam().raw);
  ASSERT_TRUE(r.has_value()) << "accepted: " << GetParam().raw;
  EXPECT_EQ(reason_name(r->reason), reason_name(GetParam().reason)) << r->detail;
  EXPECT_FALSE(r->detail.empty());
}

INSTANTIATE_TEST_SUITE_P(
    every_reason, decoder_rejects,
    ::testing::Values(
        bad_case{"empty", "  \n", rejection_reason::empty},
        bad_case{"truncated", R"({"ts":"2026-11-23T10:00:00Z","event":"sale")", rejection_reason::invalid_json},
        bad_case{"garbage", "this is not json", rejection_reason::invalid_json},
        bad_case{"trailing", R"({"ts":"2026-11-23T10:00:00Z","event":"sale"} x)", rejection_reason::invalid_json},
        bad_case{"array", R"([1,2,3])", rejection_reason::not_an_object},
        bad_case{"utf8", "{\"ts\":\"2026-11-23T10:00:00Z\",\"event\":\"s\xff\xfe\"}", rejection_reason::invalid_utf8},
        bad_case{"no_ts", R"({"event":"sale"})", rejection_reason::missing_timestamp},
        bad_case{"bad_ts", R"({"ts":"next tuesday","event":"sale"})", rejection_reason::bad_timestamp},
        bad_case{"ts_object", R"({"ts":{"a":1},"event":"sale"})", rejection_reason::bad_timestamp},
        bad_case{"amount_string", R"({"ts":"2026-11-23T10:00:00Z","event":"sale","amount":"12.5"})", rejection_reason::wrong_type},
        bad_case{"override_number", R"({"ts":"2026-11-23T10:00:00Z","event":"sale","manager_override":1})", rejection_reason::wrong_type},
        bad_case{"no_event", R"({"ts":"2026-11-23T10:00:00Z","amount":1})", rejection_reason::missing_field}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(decoder, refuses_a_message_over_the_size_limit) {
  ingest::testing::fixture f;
  decoder small(f.privacy, decoder_options{.max_message_bytes = 64});
  std::string raw = R"({"ts":"2026-11-23T10:00:00Z","event":"sale","pad":")" + std::string(100, 'x') + "\"}";
  auto r = small.decode(raw, *f.catalog.by_name("pos"), {}, f.e);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, rejection_reason::oversized);
}

TEST(decoder, reuses_the_event_without_leaking_fields_from_the_previous_one) {
  fixture f;
  ASSERT_FALSE(f.decode("web", R"({"ts":"2026-11-23T10:00:00Z","event":"login","user":"a","extra1":"x"})"));
  ASSERT_FALSE(f.decode("web", R"({"ts":"2026-11-23T10:00:01Z","event":"logout"})"));
  EXPECT_EQ(f.e.get("user.name"), nullptr);
  EXPECT_EQ(f.e.get("extra1"), nullptr);
  EXPECT_EQ(f.text("event.action"), "logout");
}

// The decoder remembers each channel's field names by position and recognises a
// repeated key by its raw bytes; these events change shape under it, so each
// field must still get the name its own event gives it.
TEST(decoder, names_every_field_by_its_own_event_when_the_shape_changes) {
  fixture f;
  const char* ts = R"("ts":"2026-11-23T10:00:00Z","event":"e")";
  // The same leaf at the same position under another object.
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"x":{"y":1}})"));
  EXPECT_EQ(f.text("x.y"), "1");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"z":{"y":2}})"));
  EXPECT_EQ(f.text("z.y"), "2");
  EXPECT_EQ(f.e.get("x.y"), nullptr);
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"z":{"y":3}})"));  // now predicted
  EXPECT_EQ(f.text("z.y"), "3");
  // A top-level field seen before at a position now held by a nested one.
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a":{"p":1},"q":2})"));
  EXPECT_EQ(f.text("q"), "2");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a":{"p":1,"q":3}})"));
  EXPECT_EQ(f.text("a.q"), "3");
  EXPECT_EQ(f.e.get("q"), nullptr);
  // And back: the nested one's position now holds the top-level field.
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a":{"p":1},"q":4})"));
  EXPECT_EQ(f.text("q"), "4");
  EXPECT_EQ(f.e.get("a.q"), nullptr);
  // Two levels deep, the middle object renamed.
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"o":{"m":{"k":5}}})"));
  EXPECT_EQ(f.text("o.m.k"), "5");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"o":{"n":{"k":6}}})"));
  EXPECT_EQ(f.text("o.n.k"), "6");
  EXPECT_EQ(f.e.get("o.m.k"), nullptr);
}

TEST(decoder, recognises_an_escaped_key_by_its_text_not_its_raw_bytes) {
  fixture f;
  const char* ts = R"("ts":"2026-11-23T10:00:00Z","event":"e")";
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"ab":1})"));
  EXPECT_EQ(f.text("ab"), "1");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a\u0062":2})"));  // "ab", escaped
  EXPECT_EQ(f.text("ab"), "2");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a\"b":3})"));  // a key holding a quote
  EXPECT_EQ(f.text("a\"b"), "3");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a\"b":4})"));
  EXPECT_EQ(f.text("a\"b"), "4");
  EXPECT_EQ(f.e.get("ab"), nullptr);
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a\"c":5})"));  // same length, other key
  EXPECT_EQ(f.text("a\"c"), "5");
  EXPECT_EQ(f.e.get("a\"b"), nullptr);
  // A key that is a prefix of the predicted one.
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a":6})"));
  EXPECT_EQ(f.text("a"), "6");
}

TEST(decoder, keeps_a_dotted_name_whichever_way_its_objects_split_it) {
  fixture f;
  const char* ts = R"("ts":"2026-11-23T10:00:00Z","event":"e")";
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a":{"b.c":1}})"));
  EXPECT_EQ(f.text("a.b.c"), "1");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a.b":{"c":2}})"));
  EXPECT_EQ(f.text("a.b.c"), "2");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a.b":{"c":3}})"));
  EXPECT_EQ(f.text("a.b.c"), "3");
  ASSERT_FALSE(f.decode("web", std::string("{") + ts + R"(,"a":{"b.c":4}})"));
  EXPECT_EQ(f.text("a.b.c"), "4");
}

TEST(decoder, never_takes_an_epoch_millisecond_timestamp_for_a_card_number) {
  fixture f;
  // 1795478504669 passes the Luhn check, as one epoch-ms value in ten does.
  ASSERT_TRUE(luhn_valid("1795478504669"));
  auto r = f.decode("web", R"({"ts":1795478504669,"event":"login_failed","client_ip":"203.0.113.9",
    "note":"ref 1795478504669"})");
  ASSERT_FALSE(r) << r->detail;
  EXPECT_EQ(f.e.time, 1795478504669LL * 1'000'000);
  EXPECT_EQ(f.text("@timestamp"), "1795478504669");
  // Nor in any other field: the only cards that start with 1 have 15 digits.
  EXPECT_EQ(f.text("note"), "ref 1795478504669");
  EXPECT_EQ(f.text("retail.card.last4"), "<absent>");
  // A card number there is still masked and tokenised.
  fixture g;
  r = g.decode("web", R"({"ts":1795478504669,"event":"login_failed","client_ip":"203.0.113.9",
    "note":"ref 4111111111111111"})");
  ASSERT_FALSE(r) << r->detail;
  EXPECT_EQ(g.text("note"), "ref ************1111");
  EXPECT_EQ(g.text("retail.card.last4"), "1111");
}
