// The state encoding is written two ways (a value at a time, and through a
// pointer on the per-match paths) and read one way: the two must agree byte for
// byte, or state written by one path would not read back.
#include "correlate/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

using namespace sentrail::correlate;

namespace {
constexpr std::uint64_t unsigned_values[] = {0, 1, 127, 128, 300, std::uint64_t{1} << 35,
                                             std::numeric_limits<std::uint64_t>::max()};
constexpr std::int64_t signed_values[] = {0, -1, 63, -64, std::numeric_limits<std::int64_t>::min(),
                                          std::numeric_limits<std::int64_t>::max()};
constexpr double doubles[] = {0.0, -2.5, 1e300, std::numeric_limits<double>::infinity()};

template <class Write>
void write_all(Write& w, const std::string& long_text) {
  for (std::uint64_t v : unsigned_values) w.u64(v);
  for (std::int64_t v : signed_values) w.i64(v);
  for (double v : doubles) w.f64(v);
  w.bytes("");
  w.bytes(std::string_view("a\0b", 3));
  w.bytes(long_text);
}
}  // namespace

TEST(codec, the_pointer_writer_writes_what_the_appending_one_does_and_both_read_back) {
  const std::string long_text(1000, 'x');
  std::string appended = "prefix";
  {
    encoder w(appended);
    write_all(w, long_text);
  }
  std::string raw = "prefix";
  const std::size_t bound = std::size(unsigned_values) * raw_encoder::max_u64 + std::size(signed_values) * raw_encoder::max_u64 + std::size(doubles) * raw_encoder::max_f64 + raw_encoder::max_bytes(0) +
                            raw_encoder::max_bytes(3) + raw_encoder::max_bytes(long_text.size());
  append_encoded(raw, bound, [&](raw_encoder& w) { write_all(w, long_text); });
  EXPECT_EQ(raw, appended);
  EXPECT_LT(raw.size(), 6 + bound);  // trimmed to what was written

  decoder_view d(std::string_view(raw).substr(6));
  for (std::uint64_t v : unsigned_values) EXPECT_EQ(d.u64(), v);
  for (std::int64_t v : signed_values) EXPECT_EQ(d.i64(), v);
  for (double v : doubles) EXPECT_EQ(d.f64(), v);
  EXPECT_EQ(d.bytes(), "");
  EXPECT_EQ(d.bytes(), std::string_view("a\0b", 3));
  EXPECT_EQ(d.bytes(), long_text);
  EXPECT_TRUE(d.at_end());
  EXPECT_FALSE(d.failed());
}
