#include "alert/delivery_queue.h"

#include <charconv>

namespace sentrail::alert {
namespace {

// Values are line-framed: the fixed fields one per line, then the payload (which
// may hold newlines) as the rest. Errors are flattened to one line when stored.
std::string encode_pending(std::string_view alert_id, int attempts, std::string_view payload) {
  std::string v;
  v.reserve(alert_id.size() + payload.size() + 8);
  v.append(alert_id).append("\n").append(std::to_string(attempts)).append("\n").append(payload);
  return v;
}

std::string_view next_line(std::string_view& rest) {
  auto nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return line;
}

template <typename T>
T number(std::string_view text) {
  T n{};
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

std::uint64_t sequence_of(std::string_view key) {
  std::uint64_t s = 0;
  if (key.size() < 8) return 0;
  for (char c : key.substr(key.size() - 8)) s = (s << 8) | static_cast<unsigned char>(c);
  return s;
}

std::string prefix_of(std::string_view sink) { return std::string(sink) + "/"; }
// '0' follows '/', so [name/, name0) is exactly the sink's keys.
std::string end_of(std::string_view sink) { return std::string(sink) + "0"; }

pending_delivery decode_pending(std::string_view key, std::string_view value) {
  pending_delivery d;
  d.key = std::string(key);
  d.sequence = sequence_of(key);
  d.alert_id = std::string(next_line(value));
  d.attempts = number<int>(next_line(value));
  d.payload = std::string(value);
  return d;
}

std::string one_line(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

std::string delivery_key(std::string_view sink, std::uint64_t sequence) {
  std::string k = prefix_of(sink);
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>((sequence >> shift) & 0xff));
  return k;
}

delivery_queue::delivery_queue(store::durable_store& db, std::string name) : db_(db), name_(std::move(name)) {
  // Continue after the newest key in either table, so a sequence is never reused
  // even when every delivery has been dead-lettered.
  for (auto t : {store::table::deliveries, store::table::delivery_failures}) {
    db_.scan(t, prefix_of(name_), true, [&](std::string_view key, std::string_view) {
      next_sequence_ = std::max(next_sequence_, sequence_of(key) + 1);
      return false;
    });
  }
}

void delivery_queue::enqueue(store::batch& b, std::string_view alert_id, std::string_view payload) {
  b.tables.push_back(
      {store::table::deliveries, delivery_key(name_, next_sequence_++), encode_pending(alert_id, 0, payload)});
}

std::vector<pending_delivery> delivery_queue::head(std::size_t n, std::uint64_t from) const {
  std::vector<pending_delivery> out;
  db_.scan_range(store::table::deliveries, delivery_key(name_, from), end_of(name_),
                 [&](std::string_view key, std::string_view value) {
                   out.push_back(decode_pending(key, value));
                   return out.size() < n;
                 });
  return out;
}

std::size_t delivery_queue::count() const {
  std::size_t n = 0;
  db_.scan_range(store::table::deliveries, prefix_of(name_), end_of(name_), [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  return n;
}

status delivery_queue::delivered(const std::vector<pending_delivery>& items) {
  std::vector<store::table_write> writes;
  for (const auto& d : items) writes.push_back({store::table::deliveries, d.key, std::nullopt});
  return db_.write(writes);
}

result<delivery_queue::failure_counts> delivery_queue::failed(std::vector<pending_delivery>& items,
                                                              const delivery_result& why, int max_attempts,
                                                              timestamp_ns now) {
  failure_counts counts;
  std::vector<store::table_write> writes;
  std::string last_error = one_line(why.error);
  for (auto& d : items) {
    ++d.attempts;
    if (why.what == delivery_result::outcome::rejected || d.attempts >= max_attempts) {
      std::string v = d.alert_id + "\n" + std::to_string(d.attempts) + "\n" + std::to_string(now) + "\n" + last_error +
                      "\n" + d.payload;
      writes.push_back({store::table::delivery_failures, d.key, std::move(v)});
      writes.push_back({store::table::deliveries, d.key, std::nullopt});
      ++counts.dead_lettered;
    } else {
      writes.push_back({store::table::deliveries, d.key, encode_pending(d.alert_id, d.attempts, d.payload)});
      ++counts.retried;
    }
  }
  if (auto s = db_.write(writes); !s) return error{s.message()};
  return counts;
}

std::vector<failed_delivery> list_failures(const store::durable_store& db, std::string_view sink) {
  std::vector<failed_delivery> out;
  std::string prefix = sink.empty() ? std::string{} : prefix_of(sink);
  db.scan(store::table::delivery_failures, prefix, false, [&](std::string_view key, std::string_view value) {
    failed_delivery f;
    auto slash = key.size() >= 9 ? key.size() - 9 : std::string_view::npos;
    if (slash == std::string_view::npos || key[slash] != '/') return true;  // not ours
    f.sink = std::string(key.substr(0, slash));
    f.sequence = sequence_of(key);
    f.alert_id = std::string(next_line(value));
    f.attempts = number<int>(next_line(value));
    f.failed_at = number<timestamp_ns>(next_line(value));
    f.last_error = std::string(next_line(value));
    f.payload = std::string(value);
    out.push_back(std::move(f));
    return true;
  });
  return out;
}

std::vector<std::pair<std::string, std::size_t>> pending_counts(const store::durable_store& db) {
  std::vector<std::pair<std::string, std::size_t>> out;
  db.scan(store::table::deliveries, "", false, [&](std::string_view key, std::string_view) {
    if (key.size() < 9 || key[key.size() - 9] != '/') return true;
    std::string_view sink = key.substr(0, key.size() - 9);
    if (out.empty() || out.back().first != sink) out.emplace_back(std::string(sink), 0);
    ++out.back().second;
    return true;
  });
  return out;
}

}  // namespace sentrail::alert
