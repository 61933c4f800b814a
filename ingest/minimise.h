#pragma once
// Data minimisation at ingest (PCI DSS, GDPR): a full card number never leaves
// this module. It becomes a keyed token (HMAC-SHA256, so one card still
// correlates across channels) and its last four digits; then each channel's
// per-field policy keeps, hashes, masks or drops what is left.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/event.h"
#include "ingest/mapping.h"

namespace sentrail::ingest {

/// A card number found in text: [begin, end) bytes, separators included.
struct pan_match {
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// True when `digits` (only '0'-'9') passes the Luhn check.
bool luhn_valid(std::string_view digits);

/// The first Luhn-valid run of 13-19 digits at or after `from`, digit groups
/// joined by single spaces or dashes allowed ("4111 1111 1111 1111").
std::optional<pan_match> find_pan(std::string_view text, std::size_t from = 0);

/// Replaces every digit but the last four of each card number in `text` with '*';
/// returns how many card numbers it masked.
std::size_t mask_pans(std::string& text);

/// Tokens are "tok_" + 32 hex digits; hashes "h_" + 32 hex digits.
inline constexpr std::size_t token_length = 36;

/// Not thread-safe: each worker thread owns its minimiser (it reuses one HMAC context).
class minimiser {
 public:
  /// `key` is the HMAC key; an empty key is refused by the caller (see privacy_key()).
  explicit minimiser(std::string key);
  ~minimiser();
  minimiser(const minimiser&) = delete;
  minimiser& operator=(const minimiser&) = delete;

  /// Writes the keyed token of a card number's digits into `out` (token_length bytes).
  void card_token(std::string_view digits, char* out) const;

  /// Handles a field declared `type: card`: sets retail.card.token and
  /// retail.card.last4 when it holds a valid PAN, and never keeps the raw value.
  void take_card_field(event& e, std::string_view raw) const;

  /// Masks card numbers found in any other field (and tokenises the first one),
  /// then applies the channel's keep/hash/mask/drop policies.
  void apply(event& e, const channel_mapping& mapping) const;
  /// The same for part of the event: the fields whose id is marked in `selected`
  /// (`inside`), or all the others (`!inside`). Minimising the fields rules read
  /// first and the rest only for events that are kept gives the same event as
  /// apply(), without hashing and scanning what is thrown away unread.
  void apply_part(event& e, const channel_mapping& mapping, const std::vector<bool>& selected, bool inside) const;

 private:
  void apply_fields(event& e, const channel_mapping& mapping, const std::vector<bool>* selected, bool inside) const;
  void keyed_hash(std::string_view prefix, std::string_view text, char* out32hex) const;
  void compute_hash(std::string_view prefix, std::string_view text, char* out32hex) const;
  void set_card(event& e, std::string_view digits) const;
  std::string key_;
  struct hmac_state;
  std::unique_ptr<hmac_state> hmac_;
};

/// The HMAC key: $SENTRAIL_HMAC_KEY, else the contents of `key_file` (created with
/// 32 random bytes, mode 0600, when it does not exist), else an error.
result<std::string> privacy_key(const std::string& key_file);

}  // namespace sentrail::ingest
