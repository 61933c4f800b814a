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
    last_ = it == values_.end() ? nullptr : &*it;
    if (it == values_.end() || it->second.expires < now_) return std::nullopt;
    return std::string_view(it->second.value);
  }
  void put(std::string_view key, std::string_view value, timestamp_ns expires) override {
    // Operators get a group's value, then put it back: the entry get() found is
    // reused rather than looked up again (only finds ran in between, so it has
    // not moved; any put or erase forgets it).
    auto* kv = last_ && last_->first == key ? last_ : &*values_.try_emplace(key).first;
    last_ = nullptr;
    kv->second.value.assign(value);
    kv->second.expires = expires;
  }
  void erase(std::string_view key) override {
    last_ = nullptr;
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
    last_ = nullptr;
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
  std::pair<const std::string, entry>* last_ = nullptr;  // what the last get() found
  timestamp_ns now_ = INT64_MIN;
  std::size_t sets_ = 0;
};

}  // namespace sentrail::correlate
