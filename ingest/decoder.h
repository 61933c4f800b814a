#pragma once
// Raw bytes of one channel → a normalised, minimised event, or a rejection that
// says why (for the dead-letter topic). Bad input is a value here, never a throw.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/event.h"
#include "ingest/mapping.h"
#include "ingest/minimise.h"

namespace sentrail::ingest {

enum class rejection_reason {
  empty,
  oversized,
  invalid_utf8,
  invalid_json,
  not_an_object,
  invalid_access_log,
  missing_timestamp,
  bad_timestamp,
  wrong_type,
  missing_field,
  unknown_channel,
  late_event,  // decoded and matched, but behind the watermark: not correlated
};
inline constexpr std::size_t rejection_reason_count = 12;

/// The reason's name as it appears in dead-letter records and metric labels.
std::string_view reason_name(rejection_reason r);

struct rejection {
  rejection_reason reason;
  std::string detail;  // a sentence for the person reading the dead letter
};

struct decoder_options {
  std::size_t max_message_bytes = 1 << 20;  // Default: 1 MiB
  int max_depth = 8;                        // Default: 8; deeper objects are kept as JSON text
};

class decoder {
 public:
  decoder(const minimiser& privacy, decoder_options options = {});
  ~decoder();
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;

  /// Decodes, normalises and minimises one message of `channel` into `out`
  /// (cleared first). Returns a rejection instead when the input is bad.
  /// With `minimise_only`, only the fields marked there are minimised (the ones
  /// rules read); the caller must minimise the rest (minimiser::apply_part with
  /// inside = false) before anything of the event is kept or shown.
  std::optional<rejection> decode(std::string_view raw, const channel_mapping& channel,
                                  source_position from, event& out,
                                  const std::vector<bool>* minimise_only = nullptr);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sentrail::ingest

namespace sentrail::ingest {
/// A top-level string field of a JSON object, for routing before decoding
/// (e.g. the `channel` field of a replay file). Nothing when absent or not JSON.
std::optional<std::string> peek_string_field(std::string_view raw, std::string_view name);
}  // namespace sentrail::ingest
