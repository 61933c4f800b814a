#include "ingest/minimise.h"

// SHA256_Init/Update/Final: see hmac_state.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <array>
#include <bit>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sentrail::ingest {
namespace {

constexpr std::size_t max_groups = 24;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

void to_hex(const unsigned char* bytes, std::size_t n, char* out) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = hex[bytes[i] >> 4];
    out[2 * i + 1] = hex[bytes[i] & 0xF];
  }
}

// True when `text` has 13 digit-or-separator bytes in a row: every card number
// does, and most fields do not. 16 bytes at a time where SSE2 is there.
bool may_hold_pan(std::string_view text) {
  std::uint64_t carry = 0;  // length of the run ending at the previous byte
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i below0 = _mm_set1_epi8('0' - 1), above9 = _mm_set1_epi8('9' + 1);
  const __m128i space = _mm_set1_epi8(' '), dash = _mm_set1_epi8('-');
  for (; i + 16 <= text.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, below0), _mm_cmplt_epi8(v, above9));
    __m128i ok = _mm_or_si128(digit, _mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, dash)));
    auto m = static_cast<std::uint32_t>(_mm_movemask_epi8(ok));
    if (m == 0) {
      carry = 0;
      continue;
    }
    // A run that started in an earlier block continues through the leading ones.
    auto leading = static_cast<std::uint64_t>(std::countr_one(m));
    if (carry + leading >= 13) return true;
    // Runs of 13 inside this block: AND the mask with itself shifted 1..12.
    std::uint32_t r = m;
    for (int k = 1; k < 13 && r; ++k) r &= m >> k;
    if (r) return true;
    carry = m == 0xFFFF ? carry + 16 : static_cast<std::uint64_t>(std::countl_one(m << 16));
  }
#endif
  for (; i < text.size(); ++i) {
    char c = text[i];
    bool ok = (c >= '0' && c <= '9') || c == ' ' || c == '-';
    carry = ok ? carry + 1 : 0;
    if (carry >= 13) return true;
  }
  return false;
}

struct digit_group {
  std::size_t begin, end;  // bytes
};

}  // namespace

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return !digits.empty() && sum % 10 == 0;
}

namespace {
// The first digit of a card number says who issued it, and the cards that start
// with 1 (airlines: UATP) are 15 digits long. Any other run of digits starting
// with 1 is no card: that is where times since the epoch fall until 2033 (13
// digits in milliseconds, 16 in microseconds, 19 in nanoseconds), and one in ten
// of them passes Luhn, so dead letters had their timestamps masked.
bool may_be_issued(std::string_view digits) { return digits.front() != '1' || digits.size() == 15; }
}  // namespace

std::optional<pan_match> find_pan(std::string_view text, std::size_t from) {
  if (text.size() < from + 13) return std::nullopt;  // too short to hold a card number
  // Filter first: a card number needs 13 digits with nothing but spaces or dashes
  // between them. Most fields (user agents, paths, ids) never get there; the exact
  // search below runs only when they do.
  if (!may_hold_pan(text.substr(from))) return std::nullopt;
  std::size_t i = from;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      ++i;
      continue;
    }
    // A run of digit groups separated by single spaces or dashes.
    std::array<digit_group, max_groups> groups;
    std::size_t n = 0;
    std::size_t j = i;
    while (j < text.size() && n < max_groups) {
      std::size_t start = j;
      while (j < text.size() && is_digit(text[j])) ++j;
      groups[n++] = {start, j};
      if (j + 1 < text.size() && (text[j] == ' ' || text[j] == '-') && is_digit(text[j + 1]))
        ++j;
      else
        break;
    }
    // Try contiguous group spans, earliest start first, longest first.
    for (std::size_t s = 0; s < n; ++s) {
      char digits[19];
      std::size_t count = 0;
      std::size_t best_end = 0;
      for (std::size_t e = s; e < n; ++e) {
        std::size_t len = groups[e].end - groups[e].begin;
        if (count + len > 19) break;
        std::memcpy(digits + count, text.data() + groups[e].begin, len);
        count += len;
        if (count >= 13 && may_be_issued({digits, count}) && luhn_valid({digits, count})) best_end = groups[e].end;
      }
      if (best_end != 0) return pan_match{groups[s].begin, best_end};
    }
    i = groups[n - 1].end;
  }
  return std::nullopt;
}

std::size_t mask_pans(std::string& text) {
  std::size_t masked = 0;
  std::size_t from = 0;
  while (auto m = find_pan(text, from)) {
    std::size_t keep = 0;
    for (std::size_t k = m->end; k > m->begin; --k) {
      char& c = text[k - 1];
      if (!is_digit(c)) continue;
      if (keep < 4) {
        ++keep;
      } else {
        c = '*';
      }
    }
    ++masked;
    from = m->end;
  }
  return masked;
}

// HMAC-SHA256 (RFC 2104) over OpenSSL's SHA-256, with the key's inner and outer
// pad states computed once. OpenSSL 3's EVP_MAC duplicates a digest context on
// the heap twice per message and runs the provider layer each time: 420 ns per
// new card, where the two SHA-256 blocks themselves (SHA-NI) take well under
// 100. SHA256_CTX is a plain struct, so starting from the keyed state is a copy.
// (The low-level calls are deprecated in OpenSSL 3, not removed; a test holds
// the result equal to OpenSSL's HMAC() for keys and messages of every length class.)
struct minimiser::hmac_state {
  SHA256_CTX inner;  // after the key XOR ipad block
  SHA256_CTX outer;  // after the key XOR opad block
  // Recent inputs and their digests (direct-mapped): session ids and cards repeat
  // across a visit, and a lookup is far cheaper than an HMAC.
  struct slot {
    std::string input;
    char hex[32];
  };
  std::array<slot, 1024> recent;
  // The pad states are as good as the key: not left behind in freed memory.
  ~hmac_state() {
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
  }
};

minimiser::minimiser(std::string key) : key_(std::move(key)), hmac_(std::make_unique<hmac_state>()) {
  unsigned char block[SHA256_CBLOCK] = {};
  if (key_.size() > sizeof block) {
    SHA256(reinterpret_cast<const unsigned char*>(key_.data()), key_.size(), block);  // RFC 2104: long keys hashed
  } else {
    std::memcpy(block, key_.data(), key_.size());
  }
  unsigned char pad[SHA256_CBLOCK];
  for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&hmac_->inner);
  SHA256_Update(&hmac_->inner, pad, sizeof pad);
  for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&hmac_->outer);
  SHA256_Update(&hmac_->outer, pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
}

minimiser::~minimiser() = default;

void minimiser::keyed_hash(std::string_view prefix, std::string_view text, char* out32hex) const {
  std::size_t h = std::hash<std::string_view>{}(text) ^ (prefix.size() * 0x9E3779B97F4A7C15ULL);
  auto& slot = hmac_->recent[h % hmac_->recent.size()];
  if (slot.input.size() == prefix.size() + text.size() && std::string_view(slot.input).starts_with(prefix) &&
      std::string_view(slot.input).substr(prefix.size()) == text) {
    std::memcpy(out32hex, slot.hex, 32);
    return;
  }
  compute_hash(prefix, text, out32hex);
  slot.input.assign(prefix).append(text);
  std::memcpy(slot.hex, out32hex, 32);
}

void minimiser::compute_hash(std::string_view prefix, std::string_view text, char* out32hex) const {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  // Prefix keeps card tokens and field hashes in separate domains.
  SHA256_CTX ctx = hmac_->inner;
  SHA256_Update(&ctx, prefix.data(), prefix.size());
  SHA256_Update(&ctx, text.data(), text.size());
  SHA256_Final(digest, &ctx);
  ctx = hmac_->outer;
  SHA256_Update(&ctx, digest, sizeof digest);
  SHA256_Final(digest, &ctx);
  to_hex(digest, 16, out32hex);
}

void minimiser::card_token(std::string_view digits, char* out) const {
  std::memcpy(out, "tok_", 4);
  keyed_hash("card:", digits, out + 4);
}

void minimiser::set_card(event& e, std::string_view digits) const {
  char token[token_length];
  card_token(digits, token);
  e.set_copy(fields::card_token, field_value::of_string({token, token_length}));
  e.set_copy(fields::card_last4, field_value::of_string(digits.substr(digits.size() - 4)));
}

void minimiser::take_card_field(event& e, std::string_view raw) const {
  auto m = find_pan(raw);
  if (!m) {
    // Not a full card number (already masked, or garbage): keep at most the last four digits.
    char last4[4];
    int n = 0;
    for (auto it = raw.rbegin(); it != raw.rend() && n < 4; ++it)
      if (is_digit(*it)) last4[3 - n++] = *it;
    if (n == 4) e.set_copy(fields::card_last4, field_value::of_string({last4, 4}));
    return;
  }
  char digits[19];
  std::size_t count = 0;
  for (std::size_t k = m->begin; k < m->end; ++k)
    if (is_digit(raw[k])) digits[count++] = raw[k];
  set_card(e, {digits, count});
}

void minimiser::apply(event& e, const channel_mapping& mapping) const { apply_fields(e, mapping, nullptr, true); }

void minimiser::apply_part(event& e, const channel_mapping& mapping, const std::vector<bool>& selected,
                           bool inside) const {
  apply_fields(e, mapping, &selected, inside);
}

void minimiser::apply_fields(event& e, const channel_mapping& mapping, const std::vector<bool>* selected,
                             bool inside) const {
  auto wanted = [&](field_id id) {
    if (!selected) return true;
    bool marked = id < selected->size() && (*selected)[id];
    return marked == inside;
  };
  // Card numbers in any field: mask in place, and tokenise the first one found
  // when the event has no card token yet, so the card still correlates.
  auto all = e.fields();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const field& f = all[i];
    if (f.value.kind != value_kind::string && f.value.kind != value_kind::number) continue;
    if (f.id == fields::card_token || f.id == fields::card_last4) continue;
    // The event's time, which parsed as one: never a card, yet an epoch in
    // milliseconds has 13 digits and passes the Luhn check one time in ten, which
    // would mask it and give the event a card token that is really its time.
    if (f.id == fields::timestamp || (f.id == no_field && f.name == mapping.timestamp_field)) continue;
    if (!wanted(f.id)) continue;
    auto m = find_pan(f.value.text);
    if (!m) continue;
    if (!e.get(fields::card_token)) {
      char digits[19];
      std::size_t count = 0;
      for (std::size_t k = m->begin; k < m->end; ++k)
        if (is_digit(f.value.text[k])) digits[count++] = f.value.text[k];
      set_card(e, {digits, count});
      all = e.fields();  // set_card may have grown the field list
    }
    std::string masked(all[i].value.text);
    mask_pans(masked);
    e.replace_at(i, field_value::of_string(masked));
    all = e.fields();
  }
  for (const auto& [id, policy] : mapping.policies) {
    if (policy == field_policy::keep || !wanted(id)) continue;
    if (policy == field_policy::drop) {
      e.erase(id);
      continue;
    }
    const field_value* v = e.get(id);
    if (!v || v->kind == value_kind::null) continue;
    if (policy == field_policy::hash) {
      char hashed[34] = {'h', '_'};
      keyed_hash("field:", v->text, hashed + 2);
      e.set_copy(id, field_value::of_string({hashed, sizeof hashed}));
    } else {  // mask: keep the last four characters
      std::string masked(v->text);
      for (std::size_t k = 0; k + 4 < masked.size(); ++k) masked[k] = '*';
      if (masked.size() <= 4) masked.assign(masked.size(), '*');
      e.set_copy(id, field_value::of_string(masked));
    }
  }
}

result<std::string> privacy_key(const std::string& key_file) {
  if (const char* env = std::getenv("SENTRAIL_HMAC_KEY"); env && *env) return std::string(env);
  if (key_file.empty())
    return error{"no HMAC key: set SENTRAIL_HMAC_KEY or privacy.hmac_key_file"};
  std::error_code ec;
  if (!std::filesystem::exists(key_file, ec)) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return error{"cannot draw random bytes for the HMAC key"};
    char hex[64];
    to_hex(bytes, sizeof bytes, hex);
    auto parent = std::filesystem::path(key_file).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    std::ofstream out(key_file, std::ios::trunc);
    out.write(hex, sizeof hex);
    out.close();
    if (!out) return error{key_file + ": cannot write a new HMAC key"};
    ::chmod(key_file.c_str(), 0600);
  }
  std::ifstream in(key_file);
  std::stringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.size() < 16) return error{key_file + ": the HMAC key must be at least 16 bytes"};
  return key;
}

}  // namespace sentrail::ingest
