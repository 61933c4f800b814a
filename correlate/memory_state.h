#pragma once
// State held in memory only: for `sentrail replay` and tests, where nothing
// needs to survive the process.

#include <map>
#include <string>

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
    auto it = values_.find(key);
    if (it != values_.end()) values_.erase(it);
  }
  void for_each(std::string_view prefix,
                const std::function<void(std::string_view, std::string_view)>& fn) override {
    for (auto it = values_.lower_bound(prefix); it != values_.end() && std::string_view(it->first).starts_with(prefix); ++it)
      if (it->second.expires >= now_) fn(it->first, it->second.value);
  }
  void set_now(timestamp_ns watermark) override {
    now_ = watermark;
    // Drop expired values now and then, as compaction does on disk.
    if (++sets_ % 4096 == 0) std::erase_if(values_, [&](const auto& kv) { return kv.second.expires < now_; });
  }
  std::size_t size() const { return values_.size(); }

 private:
  struct entry {
    std::string value;
    timestamp_ns expires = 0;
  };
  std::map<std::string, entry, std::less<>> values_;
  timestamp_ns now_ = INT64_MIN;
  std::uint64_t sets_ = 0;
};

}  // namespace sentrail::correlate
