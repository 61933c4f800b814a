#pragma once
// Randomness the generator can reproduce on every platform: xoshiro256** seeded
// through splitmix64. The std:: distributions are implementation-defined, so the
// generator never uses them.

#include <cstdint>

namespace sentrail::gen {

/// splitmix64 finaliser: a stateless 64-bit hash for deriving per-entity values.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Hash of several values, order-sensitive.
constexpr std::uint64_t mix64(std::uint64_t a, std::uint64_t b) { return mix64(a ^ mix64(b)); }
constexpr std::uint64_t mix64(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  return mix64(mix64(a, b), c);
}

/// xoshiro256**: fast, small state, good statistical quality.
class rng {
 public:
  explicit rng(std::uint64_t seed) {
    for (auto& s : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      s = mix64(seed);
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, n) (multiply-shift; the bias is far below what matters here).
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>(((next() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
  }

  /// Uniform in [lo, hi], inclusive.
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(next() % span);
  }

  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  bool chance(double p) { return unit() < p; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

/// Luhn check digit for a payload of digits (the PAN without its last digit).
constexpr unsigned luhn_check_digit(std::uint64_t payload) {
  unsigned sum = 0;
  bool dbl = true;
  for (; payload != 0; payload /= 10) {
    unsigned d = static_cast<unsigned>(payload % 10);
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return (10 - sum % 10) % 10;
}

/// A Luhn-valid 16-digit test PAN on a well-known test BIN, chosen by `h`.
constexpr std::uint64_t make_pan(std::uint64_t h) {
  constexpr std::uint64_t bins[] = {411111, 401288, 424242, 400005, 555555, 510510, 222300, 601111};
  const std::uint64_t payload = bins[h % 8] * 1'000'000'000ULL + (h >> 8) % 1'000'000'000ULL;
  return payload * 10 + luhn_check_digit(payload);
}

}  // namespace sentrail::gen
