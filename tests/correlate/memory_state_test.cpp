// memory_state is what replay and rule tests correlate against; these pin the
// state_view contract the engine relies on (rewrites, erasure, expiry, ordered scans).
#include "correlate/memory_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using sentrail::correlate::memory_state;

TEST(memory_state, a_rewritten_value_reads_back_whole_while_other_keys_come_and_go) {
  memory_state state;
  std::string value = "x";
  for (int i = 0; i < 200; ++i) {
    value += std::to_string(i);
    state.put("c/rule\x1egroup", value, 1000);
    state.put("c/other\x1e" + std::to_string(i), "v" + std::to_string(i), 1000);  // the table grows and rehashes
    auto back = state.get("c/rule\x1egroup");
    ASSERT_TRUE(back);
    ASSERT_EQ(*back, value);
  }
  state.put("c/rule\x1egroup", "short", 1000);
  EXPECT_EQ(state.get("c/rule\x1egroup").value_or("absent"), "short");
  EXPECT_EQ(state.get("c/other\x1e" "199").value_or("absent"), "v199");
  EXPECT_EQ(state.size(), 201u);
}

TEST(memory_state, erased_and_expired_entries_are_gone_and_a_sweep_drops_the_expired) {
  memory_state state;
  state.put("c/a", "1", 10);
  state.put("c/b", "2", 100);
  state.put("c/c", "3", 100);
  state.erase("c/c");
  state.erase("c/never");  // absent: nothing happens
  EXPECT_FALSE(state.get("c/c"));
  state.set_now(50);
  EXPECT_FALSE(state.get("c/a"));  // expired: invisible at once
  EXPECT_EQ(state.get("c/b").value_or("absent"), "2");
  for (int i = 0; i < 5000; ++i) state.set_now(50);  // enough calls for a sweep
  EXPECT_EQ(state.size(), 1u);
}

TEST(memory_state, for_each_from_lists_live_keys_of_a_prefix_in_key_order_from_a_bound) {
  memory_state state;
  for (const char* k : {"e/3", "e/1", "c/x", "e/2", "e/0"}) state.put(k, std::string("v") + k, 100);
  state.put("e/4", "old", 5);
  state.set_now(10);
  std::vector<std::string> seen;
  state.for_each_from("e/", "e/1", [&](std::string_view k, std::string_view v) {
    seen.push_back(std::string(k) + "=" + std::string(v));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"e/1=ve/1", "e/2=ve/2", "e/3=ve/3"}));
}

TEST(memory_state, a_put_after_a_get_lands_on_its_own_key_whatever_came_between) {
  memory_state state;
  state.put("c/a", "a1", 1000);
  ASSERT_EQ(state.get("c/a").value_or("absent"), "a1");
  // Inserts between the get and the put move the table's entries around.
  for (int i = 0; i < 500; ++i) state.put("c/other" + std::to_string(i), "o", 1000);
  state.put("c/a", "a2", 1000);
  EXPECT_EQ(state.get("c/a").value_or("absent"), "a2");
  // A get of one key, then a put of another, writes the other.
  ASSERT_EQ(state.get("c/a").value_or("absent"), "a2");
  state.put("c/b", "b1", 1000);
  EXPECT_EQ(state.get("c/a").value_or("absent"), "a2");
  EXPECT_EQ(state.get("c/b").value_or("absent"), "b1");
  // A get that finds nothing, then a put of that key, adds it.
  EXPECT_FALSE(state.get("c/new"));
  state.put("c/new", "n", 1000);
  EXPECT_EQ(state.get("c/new").value_or("absent"), "n");
  // Erased after its get: the put brings it back rather than writing a freed entry.
  ASSERT_TRUE(state.get("c/b"));
  state.erase("c/b");
  state.put("c/b", "b2", 1000);
  EXPECT_EQ(state.get("c/b").value_or("absent"), "b2");
  EXPECT_EQ(state.size(), 503u);
}

TEST(memory_state, a_value_put_back_from_a_view_of_itself_survives_and_grown_values_keep_their_neighbours) {
  memory_state state;
  state.put("c/a", "abcdefgh", 1000);
  // A view get() returned, put back shortened: the bytes overlap the stored ones.
  std::string_view view = *state.get("c/a");
  state.put("c/a", view.substr(3), 1000);
  EXPECT_EQ(state.get("c/a").value_or("absent"), "defgh");
  // A value far larger than its entry's room moves it; another key's value,
  // read by view, is put there without being disturbed.
  state.put("c/b", std::string(5000, 'b'), 1000);
  std::string_view b = *state.get("c/b");
  state.put("c/a", b, 2000);
  EXPECT_EQ(state.get("c/a").value_or("absent"), std::string(5000, 'b'));
  EXPECT_EQ(state.get("c/b").value_or("absent"), std::string(5000, 'b'));
  state.set_now(1500);
  EXPECT_FALSE(state.get("c/b"));  // the expiry moved with the value it belongs to
  EXPECT_TRUE(state.get("c/a"));
  EXPECT_EQ(state.size(), 2u);
}

// Keys whose hashes collide share one table entry, chained: every operation must
// still tell them apart. XXH3 collisions are never seen in practice, so a hash
// that sends every key of a letter to one value makes them here.
struct first_letter_hash {
  std::uint64_t operator()(std::string_view key) const { return key.size() > 2 ? key[2] : 0; }
};

TEST(memory_state, keys_whose_hashes_collide_keep_their_own_values_through_growth_erasure_and_sweeps) {
  sentrail::correlate::basic_memory_state<first_letter_hash> state;
  state.put("c/apple", "1", 100);
  state.put("c/avocado", "2", 10);
  state.put("c/apricot", "3", 100);
  state.put("c/banana", "4", 100);
  EXPECT_EQ(state.get("c/apple").value_or("absent"), "1");
  EXPECT_EQ(state.get("c/avocado").value_or("absent"), "2");
  EXPECT_FALSE(state.get("c/almond"));  // same hash, no such key
  // A value outgrowing its block moves it; its neighbours in the chain stay.
  state.put("c/avocado", std::string(300, 'v'), 10);
  EXPECT_EQ(state.get("c/avocado").value_or("absent"), std::string(300, 'v'));
  EXPECT_EQ(state.get("c/apricot").value_or("absent"), "3");
  // Erasing the middle, then the head, of a chain.
  state.erase("c/avocado");
  EXPECT_FALSE(state.get("c/avocado"));
  EXPECT_EQ(state.get("c/apple").value_or("absent"), "1");
  state.erase("c/apricot");
  state.erase("c/apple");
  EXPECT_FALSE(state.get("c/apple"));
  EXPECT_EQ(state.size(), 1u);
  // A sweep drops expired entries from inside a chain and keeps the rest.
  state.put("c/apple", "5", 100);
  state.put("c/acorn", "6", 10);
  state.put("c/alder", "7", 100);
  for (int i = 0; i < 5000; ++i) state.set_now(50);
  EXPECT_EQ(state.size(), 3u);
  EXPECT_EQ(state.get("c/apple").value_or("absent"), "5");
  EXPECT_EQ(state.get("c/alder").value_or("absent"), "7");
  std::vector<std::string> listed;
  state.for_each("c/", [&](std::string_view k, std::string_view) { listed.emplace_back(k); });
  EXPECT_EQ(listed, (std::vector<std::string>{"c/alder", "c/apple", "c/banana"}));
  using stage = sentrail::correlate::state_view::prefetch_stage;
  for (stage s : {stage::lookup, stage::value}) {  // a hint: changes nothing
    state.prefetch("c/apple", s);
    state.prefetch("c/nothing", s);
  }
  EXPECT_EQ(state.size(), 3u);
}
