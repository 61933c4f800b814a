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

}  // namespace sentrail::ingest
