#include "correlate/buffer_record.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "correlate/codec.h"

using namespace sentrail;
using namespace sentrail::correlate;

namespace {

std::string key_at(timestamp_ns t, std::string_view rest) {
  std::string k;
  append_ordered_time(k, t);
  k.append(rest);
  return k;
}

using pairs = std::vector<std::pair<std::string, std::string>>;

pairs read_back(std::string_view stored, bool* ok = nullptr) {
  pairs out;
  bool readable = for_each_buffered(stored, [&](std::string_view k, std::string_view ids) { out.emplace_back(k, ids); });
  if (ok) *ok = readable;
  return out;
}

}  // namespace

TEST(buffer_record, reads_back_every_event_in_order_with_its_rules) {
  buffer_record r;
  EXPECT_TRUE(r.empty());
  pairs added = {{key_at(30, "a"), "web-failed"},
                 {key_at(10, std::string("b\0\n", 3)), "web-failed\nweb-tor"},  // binary keys, a newline in ids
                 {key_at(50, "c"), "web-failed"},
                 {key_at(20, "d"), ""},
                 {key_at(40, "e"), "web-failed\nweb-tor"}};
  for (const auto& [k, ids] : added) r.add(k, ids);
  EXPECT_EQ(r.size(), 5u);
  EXPECT_EQ(r.latest(), 50);  // the newest, not the last added
  bool ok = false;
  EXPECT_EQ(read_back(r.encode(), &ok), added);
  EXPECT_TRUE(ok);
}

TEST(buffer_record, stores_a_repeated_rule_list_once) {
  buffer_record once, many;
  const std::string ids(200, 'r');
  once.add(key_at(1, "k"), ids);
  for (int i = 0; i < 100; ++i) many.add(key_at(i, "k"), ids);
  // 99 more events cost their keys and an index each, not 99 more copies of the ids.
  EXPECT_LT(many.encode().size() - once.encode().size(), 99u * 16);
}

TEST(buffer_record, clear_starts_a_new_record) {
  buffer_record r;
  r.add(key_at(100, "x"), "one");
  r.clear();
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.latest(), INT64_MIN);
  r.add(key_at(5, "y"), "two");
  EXPECT_EQ(r.latest(), 5);
  EXPECT_EQ(read_back(r.encode()), (pairs{{key_at(5, "y"), "two"}}));
}

TEST(buffer_record, refuses_what_it_did_not_write_without_calling_back) {
  buffer_record r;
  r.add(key_at(1, "k1"), "ids");
  r.add(key_at(2, "k2"), "ids");
  std::string good = r.encode();
  bool ok = true;
  // Cut short, with a byte too many, or naming a rule list it does not hold.
  EXPECT_TRUE(read_back(good.substr(0, good.size() - 1), &ok).empty());
  EXPECT_FALSE(ok);
  EXPECT_TRUE(read_back(good + "x", &ok).empty());
  EXPECT_FALSE(ok);
  std::string bad_index = good;
  bad_index.back() = 7;  // the last event's rule list index
  EXPECT_TRUE(read_back(bad_index, &ok).empty());
  EXPECT_FALSE(ok);
  EXPECT_TRUE(read_back("", &ok).empty());
  EXPECT_FALSE(ok);
}
