#pragma once
// A compact binary encoding for operator state and buffered events: varints and
// length-prefixed bytes. State is read and written per event, so it is small and
// allocation-light; it is not a wire format for anyone else.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/xxhash.h"

namespace sentrail::correlate {

class encoder {
 public:
  explicit encoder(std::string& out) : out_(out) {}
  void u64(std::uint64_t v) {
    char b[10];  // one append, not a push_back (and its capacity check) per byte
    std::size_t n = 0;
    while (v >= 0x80) {
      b[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    b[n++] = static_cast<char>(v);
    out_.append(b, n);
  }
  void i64(std::int64_t v) { u64((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void f64(double v) {
    char b[8];
    std::memcpy(b, &v, 8);
    out_.append(b, 8);
  }
  void bytes(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }

 private:
  std::string& out_;
};

/// Reads what encoder wrote; a short or corrupt input sets failed() instead of reading past the end.
class decoder_view {
 public:
  explicit decoder_view(std::string_view in) : in_(in) {}
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      auto b = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  std::int64_t i64() {
    std::uint64_t z = u64();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  double f64() {
    if (pos_ + 8 > in_.size()) return static_cast<double>(fail());
    double v;
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  std::string_view bytes() {
    std::uint64_t n = u64();
    if (failed_ || pos_ + n > in_.size()) {
      fail();
      return {};
    }
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  bool at_end() const { return pos_ >= in_.size(); }
  bool failed() const { return failed_; }

 private:
  std::uint64_t fail() {
    failed_ = true;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

/// Big-endian encoding of a signed time, so byte order is time order in keys.
inline void append_ordered_time(std::string& key, std::int64_t t) {
  auto u = static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63);
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((u >> (56 - 8 * i)) & 0xFF);
  key.append(b, 8);
}
inline std::int64_t read_ordered_time(std::string_view key) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8 && i < key.size(); ++i) u = (u << 8) | static_cast<unsigned char>(key[i]);
  return static_cast<std::int64_t>(u ^ (std::uint64_t{1} << 63));
}

/// A stable 64-bit hash (std::hash may differ between library builds): XXH3,
/// whose output is fixed across xxHash versions, chained through its seed.
/// (FNV-1a before it went byte by byte: a tenth of a pack replay.)
inline std::uint64_t stable_hash(std::string_view s, std::uint64_t h = 0) {
  return XXH3_64bits_withSeed(s.data(), s.size(), h);
}

}  // namespace sentrail::correlate
