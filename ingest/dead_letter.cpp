#include "ingest/dead_letter.h"

#include <simdjson.h>

#include "common/json_writer.h"
#include "ingest/minimise.h"

namespace sentrail::ingest {
namespace {

std::string base64(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += i + 1 < in.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

std::string dead_letter_json(const rejection& why, std::string_view raw, std::string_view channel,
                             const source_position& from, timestamp_ns received_at) {
  // The original bytes are kept so nothing is lost, but a card number never leaves ingest.
  std::string payload(raw);
  std::size_t masked = mask_pans(payload);
  std::string out;
  out.reserve(payload.size() + 256);
  json_writer w(out);
  w.begin_object();
  w.key("reason").value(reason_name(why.reason));
  w.key("detail").value(why.detail);
  w.key("channel").value(channel);
  w.key("topic").value(from.topic);
  w.key("partition").value(static_cast<std::int64_t>(from.partition));
  w.key("offset").value(from.offset);
  w.key("received_at").value(format_rfc3339(received_at));
  if (simdjson::validate_utf8(payload.data(), payload.size())) {
    w.key("payload").value(payload);
  } else {
    w.key("payload_base64").value(base64(payload));
  }
  w.key("payload_bytes").value(static_cast<std::int64_t>(raw.size()));
  w.key("masked_pans").value(static_cast<std::int64_t>(masked));
  w.end_object();
  return out;
}

namespace {
constexpr std::string_view refused_prefix = R"({"reason":"publication_refused")";
}  // namespace

std::string publication_refused_json(std::string_view topic, std::string_view key, std::string_view payload,
                                     std::string_view detail, timestamp_ns refused_at, std::size_t head_bytes) {
  std::string_view head = payload.substr(0, head_bytes);
  // Never split a UTF-8 sequence: drop continuation bytes and the lead byte they follow.
  if (head.size() < payload.size()) {
    std::size_t cut = head.size();
    while (cut > 0 && (static_cast<unsigned char>(payload[cut]) & 0xC0) == 0x80) --cut;
    head = head.substr(0, cut);
  }
  std::string out;
  out.reserve(head.size() + 256);
  json_writer w(out);
  w.begin_object();
  w.key("reason").value("publication_refused");
  w.key("detail").value(detail);
  w.key("topic").value(topic);
  w.key("key").value(key);
  w.key("payload_bytes").value(static_cast<std::int64_t>(payload.size()));
  if (simdjson::validate_utf8(head.data(), head.size())) w.key("payload_head").value(head);
  else w.key("payload_head_base64").value(base64(head));
  w.key("refused_at").value(format_rfc3339(refused_at));
  w.end_object();
  return out;
}

bool is_publication_refused(std::string_view payload) { return payload.starts_with(refused_prefix); }

}  // namespace sentrail::ingest
