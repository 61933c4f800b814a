#include "triage/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cctype>
#include <set>

namespace sentrail::triage {
namespace {

constexpr std::string_view role_names[] = {"viewer", "analyst", "engineer", "admin"};

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return digest;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 64 hex digits → 32 bytes; nothing when the text is anything else.
std::optional<std::string> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::string raw(32, '\0');
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    raw[i] = static_cast<char>(hi * 16 + lo);
  }
  return raw;
}

std::string where(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1);
}

}  // namespace

std::string_view role_name(role r) { return role_names[static_cast<int>(r)]; }

std::optional<role> parse_role(std::string_view name) {
  for (int i = 0; i < 4; ++i)
    if (role_names[i] == name) return static_cast<role>(i);
  return std::nullopt;
}

std::string sha256_hex(std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : sha256(text)) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

result<std::string> new_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return error{"cannot draw random bytes for a token"};
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // base64url without padding: 256 bits in 43 characters.
  std::string token = "st_";
  unsigned bits = 0, acc = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      token.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) token.push_back(alphabet[(acc << (6 - bits)) & 63]);
  return token;
}

result<token_book> token_book::of(std::vector<entry> entries) {
  token_book book;
  std::set<std::string> names, digests;
  for (auto& e : entries) {
    if (e.name.empty()) return error{"a token entry has no name"};
    if (!names.insert(e.name).second) return error{"token name '" + e.name + "' appears twice"};
    auto raw = digest_from_hex(e.sha256);
    if (!raw) return error{"token '" + e.name + "': sha256 must be 64 hex digits"};
    // One token must mean one person, or the audit log could name the wrong one.
    if (!digests.insert(*raw).second) return error{"token '" + e.name + "' has the same hash as another entry"};
    book.entries_.push_back({e.name, e.level, std::move(*raw)});
  }
  return book;
}

result<token_book> token_book::load(const std::string& file) {
  try {
    YAML::Node root = YAML::LoadFile(file);
    if (!root.IsMap() || !root["tokens"] || !root["tokens"].IsSequence())
      return error{where(file, root) + ": the tokens file must be a map with a 'tokens' list"};
    for (const auto& kv : root)
      if (kv.first.as<std::string>() != "tokens")
        return error{where(file, kv.first) + ": unknown key '" + kv.first.as<std::string>() + "' (expected tokens)"};
    std::vector<entry> entries;
    for (const auto& t : root["tokens"]) {
      if (!t.IsMap()) return error{where(file, t) + ": each token must be a map {name, role, sha256}"};
      for (const auto& kv : t) {
        auto key = kv.first.as<std::string>();
        if (key != "name" && key != "role" && key != "sha256")
          return error{where(file, kv.first) + ": unknown key '" + key + "' (expected name, role, sha256)"};
      }
      for (const char* key : {"name", "role", "sha256"})
        if (!t[key]) return error{where(file, t) + ": a token needs '" + key + "'"};
      entry e;
      e.name = t["name"].as<std::string>();
      auto r = parse_role(t["role"].as<std::string>());
      if (!r) return error{where(file, t["role"]) + ": role must be viewer, analyst, engineer or admin"};
      e.level = *r;
      e.sha256 = t["sha256"].as<std::string>();
      if (!digest_from_hex(e.sha256))
        return error{where(file, t["sha256"]) + ": sha256 must be the 64 hex digits of the token's SHA-256 "
                                                "(sentrail token new prints it)"};
      entries.push_back(std::move(e));
    }
    auto book = of(std::move(entries));
    if (!book) return error{file + ": " + book.message()};
    if (book->size() == 0) return error{file + ": no tokens: nobody could use the API"};
    return book;
  } catch (const YAML::BadFile&) {
    return error{file + ": cannot read the tokens file"};
  } catch (const YAML::Exception& e) {
    return error{file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
}

std::optional<actor> token_book::authenticate(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  auto digest = sha256(token);
  const entry* found = nullptr;
  // Every entry is compared in full, whatever matched, so no early exit leaks which one.
  for (const auto& e : entries_) {
    bool same = CRYPTO_memcmp(digest.data(), e.sha256.data(), digest.size()) == 0;
    if (same) found = &e;
  }
  if (!found) return std::nullopt;
  return actor{found->name, found->level};
}

std::optional<std::string_view> token_book::bearer_token(std::string_view header) {
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() <= scheme.size()) return std::nullopt;
  // The scheme is case-insensitive (RFC 7235).
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != std::tolower(static_cast<unsigned char>(scheme[i])))
      return std::nullopt;
  std::string_view token = header.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace sentrail::triage
