#include "common/arena.h"

#include <gtest/gtest.h>

#include <string>

TEST(arena, keeps_stored_bytes_until_reset_even_across_blocks) {
  sentrail::arena a(16);
  auto first = a.store("hello");
  std::string big(100, 'x');
  auto second = a.store(big);
  auto third = a.store("world");
  EXPECT_EQ(first, "hello");
  EXPECT_EQ(second, big);
  EXPECT_EQ(third, "world");
  a.reset();
  auto again = a.store("abc");
  EXPECT_EQ(again, "abc");
}
