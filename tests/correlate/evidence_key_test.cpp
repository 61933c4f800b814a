// The evidence key: time first, then a hash of the content, then the source.
// The content hash only orders events of the same time, but it must still tell
// apart what differs: a value, or the name the same value sits under.

#include <gtest/gtest.h>

#include <string>

#include "correlate/evidence_key.h"
#include "ingest/event.h"

namespace sentrail::correlate {
namespace {

// A web login of `ip` at a fixed time, read from web/0 at offset 7.
void login(ingest::event& e, std::string_view ip, ingest::field_id ip_field = ingest::fields::source_ip) {
  e.clear();
  e.channel = "web";
  e.time = 1'700'000'000'000'000'000;
  e.source = {"web", 0, 7};
  e.set(ingest::fields::event_action, ingest::field_value::of_string("login"));
  e.set(ip_field, ingest::field_value::of_string(ip));
}

std::string key_of(const ingest::event& e) {
  std::string key;
  append_evidence_key(key, e);
  return key;
}

TEST(evidence_key, the_same_content_gives_the_same_key_every_time) {
  ingest::event e;
  login(e, "203.0.113.9");
  const std::string first = key_of(e);  // the names' hashes are learned here
  login(e, "203.0.113.9");
  EXPECT_EQ(key_of(e), first);  // and reused here
}

TEST(evidence_key, a_different_value_gives_a_different_key_at_the_same_time) {
  ingest::event a, b;
  login(a, "203.0.113.9");
  login(b, "203.0.113.10");
  const std::string ka = key_of(a), kb = key_of(b);
  EXPECT_NE(ka, kb);
  EXPECT_EQ(evidence_time(ka), evidence_time(kb));
}

TEST(evidence_key, the_same_value_under_another_name_gives_a_different_key) {
  ingest::event a, b;
  login(a, "203.0.113.9", ingest::fields::source_ip);
  login(b, "203.0.113.9", ingest::fields::user_name);
  EXPECT_NE(key_of(a), key_of(b));
}

TEST(evidence_key, an_extra_fields_name_counts_too) {
  // Names nobody interned have no id to cache their hash under.
  ingest::event a, b;
  login(a, "203.0.113.9");
  login(b, "203.0.113.9");
  a.add_extra("vendor.session", ingest::field_value::of_string("s-1"));
  b.add_extra("vendor.cookie", ingest::field_value::of_string("s-1"));
  EXPECT_NE(key_of(a), key_of(b));
}

TEST(evidence_key, an_earlier_event_sorts_first_whatever_its_content) {
  ingest::event early, late;
  login(early, "203.0.113.250");
  login(late, "203.0.113.1");
  late.time = early.time + 1;
  EXPECT_LT(key_of(early), key_of(late));
}

TEST(evidence_key, names_where_the_event_came_from) {
  ingest::event e;
  login(e, "203.0.113.9");
  const std::string key = key_of(e);
  auto from = evidence_source(key);
  ASSERT_TRUE(from);
  EXPECT_EQ(from->topic, "web");
  EXPECT_EQ(from->partition, 0);
  EXPECT_EQ(from->offset, 7);
}

}  // namespace
}  // namespace sentrail::correlate
