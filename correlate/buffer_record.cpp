#include "correlate/buffer_record.h"

#include <algorithm>

#include "correlate/codec.h"

namespace sentrail::correlate {
namespace {
constexpr std::uint64_t record_layout = 1;
}

void buffer_record::add(std::string_view evidence_key, std::string_view rule_ids) {
  // Consecutive events mostly match the same rules: try the last set first.
  if (last_set_ >= rule_sets_.size() || rule_sets_[last_set_] != rule_ids) {
    auto it = std::find(rule_sets_.begin(), rule_sets_.end(), rule_ids);
    last_set_ = static_cast<std::size_t>(it - rule_sets_.begin());
    if (it == rule_sets_.end()) rule_sets_.emplace_back(rule_ids);
  }
  encoder w(entries_);
  w.bytes(evidence_key);
  w.u64(last_set_);
  ++count_;
  if (evidence_key.size() >= 8) latest_ = std::max(latest_, read_ordered_time(evidence_key));
}

std::string buffer_record::encode() const {
  std::string out;
  out.reserve(entries_.size() + 32 * rule_sets_.size() + 32);
  encoder w(out);
  w.u64(record_layout);
  w.u64(rule_sets_.size());
  for (const auto& s : rule_sets_) w.bytes(s);
  w.u64(count_);
  out += entries_;
  return out;
}

void buffer_record::clear() {
  rule_sets_.clear();
  last_set_ = 0;
  entries_.clear();
  count_ = 0;
  latest_ = INT64_MIN;
}

bool for_each_buffered(std::string_view stored,
                       const std::function<void(std::string_view evidence_key, std::string_view rule_ids)>& fn) {
  auto walk = [&](bool call) {
    decoder_view d(stored);
    if (d.u64() != record_layout || d.failed()) return false;
    std::uint64_t sets = d.u64();
    if (d.failed() || sets > stored.size()) return false;
    std::vector<std::string_view> rule_sets;
    rule_sets.reserve(sets);
    for (std::uint64_t i = 0; i < sets && !d.failed(); ++i) rule_sets.push_back(d.bytes());
    std::uint64_t count = d.u64();
    for (std::uint64_t i = 0; i < count && !d.failed(); ++i) {
      std::string_view key = d.bytes();
      std::uint64_t set = d.u64();
      if (d.failed() || set >= rule_sets.size()) return false;
      if (call) fn(key, rule_sets[set]);
    }
    return !d.failed() && d.at_end();
  };
  return walk(false) && walk(true);
}

}  // namespace sentrail::correlate
