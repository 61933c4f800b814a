#pragma once
// State held in memory only: for `sentrail replay` and tests, where nothing
// needs to survive the process.

#include <algorithm>
#include <string>
#include <vector>

#include "common/string_hash.h"

#include "correlate/op.h"

namespace sentrail::correlate {

class memory_state : public state_view {
 public:
  std::optional<std::string_view> get(std::string_view key) override {
    auto it = values_.find(key);
    if (it == values_.end() || it->second.expires < now_) return std::nullopt;
    return std::string_view(it->second.value);
  }
  void put(std::string_view key, std::string_view value, timestamp_ns expires) override {
    auto it = values_.find(key);
    if (it == values_.end()) it = values_.emplace(std::string(key), entry{}).first;
    it->second.value.assign(value);
    it->second.expires = expires;
  }
  void erase(std::string_view key) override {
    values_.erase(key);
  }
  void for_each_from(std::string_view prefix, std::string_view from, const visitor& fn) override {
    // Rare (restores, inspection): collect and sort rather than keep the map ordered.
    std::vector<const std::pair<const std::string, entry>*> hits;
    for (const auto& kv : values_)
      if (std::string_view(kv.first).starts_with(prefix) && std::string_view(kv.first) >= from &&
          kv.second.expires >= now_)
        hits.push_back(&kv);
    std::sort(hits.begin(), hits.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* kv : hits) fn(kv->first, kv->second.value);
  }
  void set_now(timestamp_ns watermark) override {
    now_ = watermark;
    // Drop expired values now and then, as compaction does on disk; a sweep only
    // after as many calls as there are values keeps the cost per call constant.
    if (++sets_ >= std::max<std::size_t>(4096, values_.size())) {
      sets_ = 0;
      absl::erase_if(values_, [&](const auto& kv) { return kv.second.expires < now_; });
    }
  }
  std::size_t size() const { return values_.size(); }

 private:
  struct entry {
    std::string value;
    timestamp_ns expires = 0;
  };
  // Open addressing (Abseil): a lookup reads a control byte group and one slot,
  // where std::unordered_map chased a bucket, a node and its neighbour; lookups
  // were a quarter of a pack replay, nearly all of it cache misses.
  flat_string_map<entry> values_;
  timestamp_ns now_ = INT64_MIN;
  std::size_t sets_ = 0;
};

}  // namespace sentrail::correlate
