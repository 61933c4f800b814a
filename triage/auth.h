#pragma once
// Who may use the triage API: bearer tokens with roles, from a file that holds
// only SHA-256 hashes of the tokens (docs/triage-api.md). A leaked tokens file
// gives nobody a usable token; the token itself is shown once, when made.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace sentrail::triage {

/// Ordered: a higher role may do everything a lower one may.
enum class role { viewer = 0, analyst = 1, engineer = 2, admin = 3 };

std::string_view role_name(role r);
std::optional<role> parse_role(std::string_view name);
inline bool at_least(role have, role need) { return static_cast<int>(have) >= static_cast<int>(need); }

/// The person (or tool) behind a request.
struct actor {
  std::string name;
  role level = role::viewer;
};

/// 64 lowercase hex digits of SHA-256 over `text`.
std::string sha256_hex(std::string_view text);

/// A fresh random token ("st_" and 43 base64url characters: 256 bits).
result<std::string> new_token();

/// The tokens file: `tokens: [{name: alice, role: analyst, sha256: <hex>}]`.
class token_book {
 public:
  /// Reads and checks the file; errors name file:line:column and the cause.
  static result<token_book> load(const std::string& file);
  /// For tests and tools: entries given directly (sha256 as 64 hex digits).
  struct entry {
    std::string name;
    role level = role::viewer;
    std::string sha256;  // 64 hex digits
  };
  static result<token_book> of(std::vector<entry> entries);

  /// The actor whose token this is, if any. Compares the token's hash with every
  /// entry in constant time, so timing says nothing about which bytes matched.
  std::optional<actor> authenticate(std::string_view token) const;
  /// The token from an `Authorization: Bearer <token>` header value, if it has that form.
  static std::optional<std::string_view> bearer_token(std::string_view header);

  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<entry> entries_;
};

}  // namespace sentrail::triage
