#include "ingest/minimise.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "test_support.h"

using namespace sentrail::ingest;

TEST(luhn, accepts_test_card_numbers_and_refuses_near_misses) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("5555555555554444"));
  EXPECT_TRUE(luhn_valid("378282246310005"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
}

TEST(find_pan, finds_pans_between_13_and_19_digits_with_separators) {
  EXPECT_TRUE(find_pan("card 4111111111111111 ok"));
  EXPECT_TRUE(find_pan("4111-1111-1111-1111"));
  EXPECT_TRUE(find_pan("4111 1111 1111 1111"));
  EXPECT_TRUE(find_pan("order 12345 4111 1111 1111 1111"));  // PAN after an unrelated number
  EXPECT_FALSE(find_pan("4111111111111112"));                  // fails Luhn
  EXPECT_FALSE(find_pan("411111111111"));                      // 12 digits
  EXPECT_FALSE(find_pan("2026-11-23T10:00:00Z"));
  EXPECT_FALSE(find_pan("41111111111111111111111"));           // a 23-digit id, not a card
}

TEST(find_pan, takes_no_epoch_time_for_a_card_though_it_passes_luhn) {
  // Each passes Luhn: in ms, µs and ns since the epoch (2026-11-24).
  for (const char* time : {"1795494915071", "1795494915078002", "1795494915078002009"}) {
    ASSERT_TRUE(luhn_valid(time)) << time;
    EXPECT_FALSE(find_pan(std::string("{\"ts\":") + time + "}")) << time;
  }
  EXPECT_TRUE(find_pan("122000000000003"));  // 15 digits from 1: an airline (UATP) card
  EXPECT_TRUE(find_pan("4222222222222"));    // a 13-digit Visa test number
}

TEST(mask_pans, keeps_only_the_last_four_digits_of_every_card) {
  std::string s = "a 4111111111111111 b 5555-5555-5555-4444 c";
  EXPECT_EQ(mask_pans(s), 2u);
  EXPECT_EQ(s, "a ************1111 b ****-****-****-4444 c");
}

TEST(minimiser, tokens_depend_on_the_key) {
  minimiser a("key-one-0123456789"), b("key-two-0123456789");
  char ta[token_length], tb[token_length], ta2[token_length];
  a.card_token("4111111111111111", ta);
  a.card_token("4111111111111111", ta2);
  b.card_token("4111111111111111", tb);
  EXPECT_EQ(std::string(ta, token_length), std::string(ta2, token_length));
  EXPECT_NE(std::string(ta, token_length), std::string(tb, token_length));
}

// Tokens are HMAC-SHA256 as RFC 2104 defines it, computed here by OpenSSL's own
// HMAC(): the minimiser's precomputed-pad version must agree for keys shorter
// than, equal to and longer than a SHA-256 block, and messages that end on
// either side of a block's padding boundary (55/56 bytes) and span blocks.
// Tokens already stored in state and alerts depend on it.
TEST(minimiser, card_tokens_are_hmac_sha256_of_the_prefixed_digits) {
  for (std::size_t key_length : {1u, 20u, 63u, 64u, 65u, 200u}) {
    std::string key;
    for (std::size_t i = 0; i < key_length; ++i) key.push_back(static_cast<char>('!' + (i * 7) % 90));
    minimiser m(key);
    for (std::size_t length : {0u, 1u, 16u, 50u, 51u, 52u, 58u, 59u, 60u, 123u, 300u}) {
      std::string digits;
      for (std::size_t i = 0; i < length; ++i) digits.push_back(static_cast<char>('0' + (i * 3 + key_length) % 10));
      const std::string message = "card:" + digits;  // 5 bytes of prefix: 50+5 = 55 bytes, 51+5 = 56, ...
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int size = 0;
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &size);
      ASSERT_EQ(size, 32u);
      std::string expected = "tok_";
      for (int i = 0; i < 16; ++i) {
        expected.push_back("0123456789abcdef"[digest[i] >> 4]);
        expected.push_back("0123456789abcdef"[digest[i] & 15]);
      }
      char token[token_length];
      m.card_token(digits, token);
      EXPECT_EQ(std::string(token, token_length), expected) << "key " << key_length << " bytes, digits " << length;
      m.card_token(digits, token);  // again, from the cache of recent digests
      EXPECT_EQ(std::string(token, token_length), expected);
    }
  }
}

TEST(minimiser, applies_hash_mask_and_drop_policies) {
  auto m = parse_mapping(R"(
channel: crm
fields: {ts: "@timestamp", event: event.action, email: user.email, phone: user.phone, ssn: user.ssn}
privacy: {user.email: hash, user.phone: mask, user.ssn: drop}
)", "crm.yaml");
  ASSERT_TRUE(m) << m.message();
  minimiser privacy(sentrail::ingest::testing::test_key);
  decoder dec(privacy);
  event e;
  auto r = dec.decode(R"({"ts":"2026-11-23T10:00:00Z","event":"update","email":"bob@example.com",
    "phone":"+44 7700 900123","ssn":"078-05-1120"})", *m, {}, e);
  ASSERT_FALSE(r) << r->detail;
  EXPECT_EQ(e.get("user.ssn"), nullptr);
  EXPECT_EQ(e.get("user.phone")->text, "***********0123");
  EXPECT_EQ(e.get("user.email")->text.substr(0, 2), "h_");
  EXPECT_EQ(e.get("user.email")->text.find("bob"), std::string_view::npos);
}

TEST(minimiser, minimising_in_two_parts_gives_the_same_event_as_at_once) {
  auto m = parse_mapping(R"(
channel: crm
fields: {ts: "@timestamp", event: event.action, email: user.email, phone: user.phone, ssn: user.ssn, note: message}
privacy: {user.email: hash, user.phone: mask, user.ssn: drop}
)", "crm.yaml");
  ASSERT_TRUE(m) << m.message();
  minimiser privacy(sentrail::ingest::testing::test_key);
  decoder dec(privacy);
  const char* raw = R"({"ts":"2026-11-23T10:00:00Z","event":"update","email":"bob@example.com",
    "phone":"+44 7700 900123","ssn":"078-05-1120","note":"card 4111 1111 1111 1111 on file","extra":"5500005555555559"})";
  auto as_pairs = [](const event& e) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& f : e.fields()) out.emplace_back(std::string(f.name), std::string(f.value.text));
    std::sort(out.begin(), out.end());
    return out;
  };
  event whole;
  ASSERT_FALSE(dec.decode(raw, *m, {}, whole));
  // Copied now: an event's text views last only until the decoder's next decode.
  const auto whole_pairs = as_pairs(whole);
  // The first part: what a rule on user.email and message reads.
  const field_id email = field_table::global().find("user.email"), note = field_table::global().find("message");
  ASSERT_NE(email, no_field);
  ASSERT_NE(note, no_field);
  std::vector<bool> read(std::max(email, note) + 1, false);
  read[email] = read[note] = true;
  event part;
  ASSERT_FALSE(dec.decode(raw, *m, {}, part, &read));
  EXPECT_EQ(part.get("user.email")->text.substr(0, 2), "h_");
  EXPECT_EQ(part.get("message")->text.find("4111 1111"), std::string_view::npos);
  EXPECT_NE(part.get("user.phone")->text.find("7700"), std::string_view::npos);  // not read: not yet done
  privacy.apply_part(part, *m, read, false);
  EXPECT_EQ(as_pairs(part), whole_pairs);
  for (const auto& [name, text] : as_pairs(part)) {
    EXPECT_EQ(text.find("bob@"), std::string::npos) << name;
    EXPECT_EQ(text.find("5500005555555559"), std::string::npos) << name;
  }
}
