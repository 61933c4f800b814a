#pragma once
// The record written to the dead-letter topic for input that could not become an
// event: the original bytes (card numbers masked), where they came from and why.

#include <string>
#include <string_view>

#include "common/time.h"
#include "ingest/decoder.h"

namespace sentrail::ingest {

/// JSON: {"reason","detail","channel","topic","partition","offset","received_at",
/// "payload" (text) or "payload_base64" (when not UTF-8), "payload_bytes", "masked_pans"}.
std::string dead_letter_json(const rejection& why, std::string_view raw, std::string_view channel,
                             const source_position& from, timestamp_ns received_at);

/// The record that stands in for one Kafka refuses for good (too large, invalid):
/// JSON {"reason":"publication_refused","detail","topic","key","payload_bytes",
/// "payload_head" (its first `head_bytes` at most, cut at a UTF-8 boundary;
/// "payload_head_base64" when not UTF-8), "refused_at"}. It goes to the
/// dead-letter topic under the refused record's key.
std::string publication_refused_json(std::string_view topic, std::string_view key, std::string_view payload,
                                     std::string_view detail, timestamp_ns refused_at, std::size_t head_bytes);
/// Whether `payload` is such a record (one that is refused in turn is given up).
bool is_publication_refused(std::string_view payload);

}  // namespace sentrail::ingest
