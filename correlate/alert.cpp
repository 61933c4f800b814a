#include "correlate/alert.h"

#include <openssl/evp.h>

#include "common/json_writer.h"

namespace sentrail::correlate {

evidence evidence::of(const ingest::event& e) {
  evidence ev;
  ev.channel = e.channel;
  ev.topic = e.source.topic;
  ev.partition = e.source.partition;
  ev.offset = e.source.offset;
  ev.time = e.time;
  ev.fields.reserve(e.fields().size());
  for (const auto& f : e.fields())
    ev.fields.push_back({std::string(f.name), std::string(f.value.text), f.value.kind});
  return ev;
}

std::string alert::entity() const {
  if (group.empty()) return "-";
  return group.front().first + "=" + group.front().second;
}

std::string stable_id(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (std::string_view p : parts) {
    std::uint64_t n = p.size();
    EVP_DigestUpdate(ctx, &n, sizeof n);
    EVP_DigestUpdate(ctx, p.data(), p.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 0xF];
  }
  return out;
}

std::string to_json(const alert& a) {
  std::string out;
  out.reserve(1024);
  json_writer w(out);
  w.begin_object();
  w.key("id").value(a.id);
  w.key("rule").begin_object();
  w.key("id").value(a.rule_id);
  w.key("title").value(a.rule_title);
  w.key("level").value(a.level);
  w.key("tags").begin_array();
  for (const auto& t : a.tags) w.value(t);
  w.end_array();
  w.end_object();
  w.key("type").value(a.type);
  w.key("group").begin_object();
  for (const auto& [k, v] : a.group) w.key(k).value(v);
  w.end_object();
  w.key("first_seen").value(format_rfc3339(a.first_seen));
  w.key("last_seen").value(format_rfc3339(a.last_seen));
  w.key("emitted_at").value(format_rfc3339(a.emitted_at));
  w.key("count").value(static_cast<std::int64_t>(a.count));
  if (a.value) w.key("value").value(*a.value);
  w.key("events").begin_array();
  for (const auto& ev : a.events) {
    w.begin_object();
    w.key("channel").value(ev.channel);
    w.key("topic").value(ev.topic);
    w.key("partition").value(static_cast<std::int64_t>(ev.partition));
    w.key("offset").value(ev.offset);
    w.key("@timestamp").value(format_rfc3339(ev.time));
    w.key("fields").begin_object();
    for (const auto& f : ev.fields) {
      w.key(f.name);
      switch (f.kind) {
        case ingest::value_kind::number:
        case ingest::value_kind::boolean: w.raw(f.text); break;
        case ingest::value_kind::null: w.null(); break;
        case ingest::value_kind::string: w.value(f.text); break;
      }
    }
    w.end_object();
    w.end_object();
  }
  w.end_array();
  if (a.evidence_unavailable) w.key("evidence_unavailable").value(static_cast<std::int64_t>(a.evidence_unavailable));
  if (a.loss_exposure) {
    w.key("loss_exposure").begin_object();
    w.key("low").value(a.loss_exposure->low);
    w.key("high").value(a.loss_exposure->high);
    w.key("currency").value(a.loss_exposure->currency);
    w.end_object();
  }
  w.key("status").value(a.status);
  w.end_object();
  return out;
}

}  // namespace sentrail::correlate
