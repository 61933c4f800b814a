#include "correlate/reorder_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sentrail::correlate {
namespace {

// A reorder key as the engine writes it: 8 bytes of big-endian time, 8 of
// content hash, then the source. Tests choose each part to force ties.
std::string key_of(std::uint64_t time, std::uint64_t hash, std::string_view rest) {
  std::string k;
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(time >> (8 * i)));
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(hash >> (8 * i)));
  k.append(rest);
  return k;
}

void put(reorder_buffer& b, const std::string& key, const std::string& event) {
  auto& slot = b.stage();
  slot.key = key;
  slot.rule_ids = "rule-" + event;
  slot.event = event;
  b.insert_staged();
}

// Drains the buffer, recycling each entry only after the next is taken, as the
// engine's release loop does (a released event's views outlive the take).
std::vector<std::pair<std::string, std::string>> drain(reorder_buffer& b) {
  std::vector<std::pair<std::string, std::string>> out;
  reorder_buffer::entry* held = nullptr;
  while (!b.empty()) {
    std::string expected_first = b.first_key();
    auto* e = b.take_first();
    EXPECT_EQ(e->key, expected_first);
    if (held) {
      // The held entry still says what it said when taken.
      EXPECT_EQ(held->event, out.back().second);
      b.recycle(held);
    }
    out.emplace_back(e->key, e->event);
    held = e;
  }
  if (held) b.recycle(held);
  return out;
}

TEST(reorder_buffer, releases_in_key_order_against_a_sorted_map) {
  // Times collide often and hashes sometimes, so the order falls through to the
  // key's tail; short keys (under 16 bytes) order as their bytes do too.
  std::mt19937_64 rng(7);
  reorder_buffer b;
  std::map<std::string, std::string> oracle;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 3000; ++i) {
      std::string key;
      switch (rng() % 4) {
        case 0: key = key_of(rng() % 50, rng() % 3, "p" + std::to_string(rng() % 5)); break;
        case 1: key = key_of(rng() % 50, rng(), "x"); break;
        case 2: key = key_of(rng() % 50, 0, "").substr(0, 3 + rng() % 12); break;
        default: key = key_of(rng() % 50, rng() % 2, std::string(rng() % 40, 'z')); break;
      }
      std::string event = "e" + std::to_string(round) + "-" + std::to_string(i);
      put(b, key, event);
      oracle[key] = event;  // the newer copy of an equal key wins
    }
    EXPECT_EQ(b.size(), oracle.size());
    // Release part of it, as a watermark would: everything below the median.
    auto cut = std::next(oracle.begin(), static_cast<std::ptrdiff_t>(oracle.size() / 2));
    reorder_buffer::entry* held = nullptr;
    while (!b.empty() && b.first_key() < cut->first) {
      auto* e = b.take_first();
      ASSERT_EQ(e->key, oracle.begin()->first);
      EXPECT_EQ(e->event, oracle.begin()->second);
      EXPECT_EQ(e->rule_ids, "rule-" + oracle.begin()->second);
      oracle.erase(oracle.begin());
      if (held) b.recycle(held);
      held = e;
    }
    if (held) b.recycle(held);
    b.trim();
  }
  auto rest = drain(b);
  ASSERT_EQ(rest.size(), oracle.size());
  EXPECT_TRUE(std::equal(rest.begin(), rest.end(), oracle.begin(), oracle.end(),
                         [](const auto& a, const auto& o) { return a.first == o.first && a.second == o.second; }));
}

TEST(reorder_buffer, an_equal_key_replaces_the_waiting_copy_and_keeps_one_entry) {
  reorder_buffer b;
  put(b, key_of(5, 1, "a"), "old");
  put(b, key_of(4, 1, "a"), "earlier");
  put(b, key_of(5, 1, "a"), "new");
  ASSERT_EQ(b.size(), 2u);
  auto out = drain(b);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].second, "earlier");
  EXPECT_EQ(out[1].second, "new");
}

TEST(reorder_buffer, a_staged_entry_is_not_waiting_until_inserted) {
  reorder_buffer b;
  auto& slot = b.stage();
  slot.key = key_of(1, 1, "a");
  slot.event = "abandoned";  // a late event: staged, never inserted
  EXPECT_TRUE(b.empty());
  auto& again = b.stage();
  EXPECT_EQ(&again, &slot);
  EXPECT_TRUE(again.key.empty());
  EXPECT_TRUE(again.event.empty());
  put(b, key_of(2, 1, "b"), "kept");
  auto out = drain(b);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second, "kept");
}

TEST(reorder_buffer, clear_and_trim_reuse_the_pool) {
  reorder_buffer b;
  for (int i = 0; i < 5000; ++i) put(b, key_of(i, 0, ""), std::string(100, 'x'));
  b.clear();
  EXPECT_TRUE(b.empty());
  b.trim();  // entries past 1,024 lose their buffers but stay usable
  for (int i = 0; i < 5000; ++i) put(b, key_of(5000 - i, 0, ""), std::to_string(i));
  auto out = drain(b);
  ASSERT_EQ(out.size(), 5000u);
  EXPECT_EQ(out.front().second, "4999");
  EXPECT_EQ(out.back().second, "0");
}

}  // namespace
}  // namespace sentrail::correlate
