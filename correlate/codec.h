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

/// Writes the encoding through a pointer into room the caller has made (at most
/// the max_* sizes below per value): for the per-match paths, where an append
/// per value (a library call and a capacity check each) was most of the cost.
class raw_encoder {
 public:
  static constexpr std::size_t max_u64 = 10, max_f64 = 8;
  static constexpr std::size_t max_bytes(std::size_t size) { return max_u64 + size; }

  explicit raw_encoder(char* at) : p_(at) {}
  void u64(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void i64(std::int64_t v) { u64((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void f64(double v) {
    std::memcpy(p_, &v, 8);
    p_ += 8;
  }
  void bytes(std::string_view s) {
    u64(s.size());
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  char* end() const { return p_; }

 private:
  char* p_;
};

/// Appends the encoding to a string, a value at a time.
class encoder {
 public:
  explicit encoder(std::string& out) : out_(out) {}
  void u64(std::uint64_t v) {
    char b[raw_encoder::max_u64];  // one append, not a push_back (and its capacity check) per byte
    raw_encoder w(b);
    w.u64(v);
    out_.append(b, w.end());
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

/// Runs `write(raw_encoder&)` on room for at most `bound` bytes at the end of
/// `out`, then trims `out` to what was written: one resize each way.
template <class Write>
void append_encoded(std::string& out, std::size_t bound, Write&& write) {
  std::size_t at = out.size();
  out.resize(at + bound);
  raw_encoder w(out.data() + at);
  write(w);
  out.resize(static_cast<std::size_t>(w.end() - out.data()));
}

/// Reads what encoder wrote; a short or corrupt input sets failed() instead of reading past the end.
class decoder_view {
 public:
  explicit decoder_view(std::string_view in) : in_(in) {}
  std::uint64_t u64() {
    // Most values (lengths, rule indexes, counts) fit in one byte: read those inline.
    if (pos_ < in_.size() && !(static_cast<unsigned char>(in_[pos_]) & 0x80))
      return static_cast<unsigned char>(in_[pos_++]);
    return u64_continued();
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
  std::uint64_t u64_continued() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      auto b = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
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
