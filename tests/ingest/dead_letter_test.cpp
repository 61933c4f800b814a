#include "ingest/dead_letter.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

using namespace sentrail::ingest;

namespace {

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& json) {
  auto doc = p.parse(json);
  EXPECT_FALSE(doc.error()) << json;
  return doc.value();
}

}  // namespace

TEST(publication_refused_json, names_the_record_and_quotes_only_its_head) {
  std::string payload(10000, 'x');
  std::string notice = publication_refused_json("sentrail.alerts", "abc123", payload,
                                                "Broker: Message size too large", 0, 250);
  simdjson::dom::parser p;
  auto doc = parse(p, notice);
  EXPECT_EQ(std::string_view(doc["reason"]), "publication_refused");
  EXPECT_EQ(std::string_view(doc["topic"]), "sentrail.alerts");
  EXPECT_EQ(std::string_view(doc["key"]), "abc123");
  EXPECT_EQ(std::string_view(doc["detail"]), "Broker: Message size too large");
  EXPECT_EQ(std::int64_t(doc["payload_bytes"]), 10000);
  EXPECT_EQ(std::string_view(doc["payload_head"]), std::string(250, 'x'));
  EXPECT_LT(notice.size(), 500u);
  EXPECT_TRUE(is_publication_refused(notice));
}

TEST(publication_refused_json, never_cuts_a_utf8_character_in_two) {
  // "ab" then é (0xC3 0xA9): a 3-byte head would end inside é, so it keeps "ab".
  std::string notice = publication_refused_json("t", "k", "ab\xC3\xA9z", "too large", 0, 3);
  simdjson::dom::parser p;
  EXPECT_EQ(std::string_view(parse(p, notice)["payload_head"]), "ab");
  // A head that ends on a boundary keeps the whole character.
  notice = publication_refused_json("t", "k", "ab\xC3\xA9z", "too large", 0, 4);
  EXPECT_EQ(std::string_view(parse(p, notice)["payload_head"]), "ab\xC3\xA9");
}

TEST(publication_refused_json, keeps_a_binary_head_as_base64) {
  std::string notice = publication_refused_json("t", "k", std::string("\xff\xfe\x01", 3), "invalid", 0, 100);
  simdjson::dom::parser p;
  auto doc = parse(p, notice);
  EXPECT_EQ(std::string_view(doc["payload_head_base64"]), "//4B");
  EXPECT_TRUE(doc["payload_head"].error());
}

TEST(is_publication_refused, tells_a_notice_from_an_ordinary_dead_letter) {
  rejection why{rejection_reason::invalid_json, "truncated"};
  std::string dead = dead_letter_json(why, "{", "pos", source_position{"retail.pos", 0, 7}, 0);
  EXPECT_FALSE(is_publication_refused(dead));
  EXPECT_FALSE(is_publication_refused(R"({"key":"x","reason":"publication_refused"})"));
}
