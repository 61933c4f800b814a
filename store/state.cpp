#include "store/state.h"

#include <algorithm>
#include <map>

namespace sentrail::store {

cached_state::written_evidence* cached_state::evidence_log::find(std::string_view key) {
  auto it = index.find(key);
  return it == index.end() ? nullptr : &entries[it->second];
}

cached_state::written_evidence* cached_state::find_evidence(std::string_view key) {
  if (auto* w = evidence_.find(key)) return w;
  for (auto it = sealed_.rbegin(); it != sealed_.rend(); ++it)
    if (auto* w = it->find(key)) return w;
  return nullptr;
}

cached_state::memory_hit cached_state::in_memory(std::string_view key) {
  if (is_evidence(key))
    if (auto* w = find_evidence(key); w && !w->erased)
      return {true, w->expires < now_ ? std::nullopt : std::optional<std::string_view>(w->value), nullptr};
  auto it = entries_.find(key);
  if (it == entries_.end()) return {};
  const bool live = it->second.value && it->second.expires >= now_;
  return {true, live ? std::optional<std::string_view>(*it->second.value) : std::nullopt, &*it};
}

std::optional<std::string_view> cached_state::get(std::string_view key) {
  memory_hit hit = in_memory(key);
  if (!hit.found) {
    entry e;
    e.value = db_.state_value(key, now_);
    e.expires = INT64_MAX;  // the store already judged expiry
    auto it = entries_.emplace(std::string(key), std::move(e)).first;
    hit = {true, it->second.value ? std::optional<std::string_view>(*it->second.value) : std::nullopt, &*it};
  }
  last_ = hit.table_entry;
  return hit.value;
}

void cached_state::get_many(const std::vector<std::string>& keys, std::vector<std::optional<std::string>>& values) {
  last_ = nullptr;
  values.assign(keys.size(), std::nullopt);
  std::vector<std::string_view> missed;
  std::vector<std::size_t> missed_at;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (memory_hit hit = in_memory(keys[i]); hit.found) {
      if (hit.value) values[i] = std::string(*hit.value);
      continue;
    }
    missed.push_back(keys[i]);
    missed_at.push_back(i);
  }
  if (missed.empty()) return;
  auto found = db_.state_values(missed, now_);
  for (std::size_t j = 0; j < missed.size(); ++j) values[missed_at[j]] = std::move(found[j]);
}

void cached_state::put(std::string_view key, std::string_view value, timestamp_ns expires) {
  // Operators get a group's value, then put it back: the entry get() left is
  // reused rather than looked up again (only lookups ran in between).
  auto* kv = last_ && last_->first == key ? last_ : nullptr;
  last_ = nullptr;
  // Evidence goes to the log, unless the table holds the key: the engine writes
  // an event's evidence when it first sees the event, and rewrites it only on
  // restore, right after reading it (then `kv` is that entry).
  if (!kv && is_evidence(key)) {
    // One hash and probe of the index per event, not a find and then an
    // emplace; a key written again (rare: restores) leaves its first copy in the
    // arena unused.
    const std::string_view stored_key = evidence_.bytes.store(key);
    auto [at, fresh] = evidence_.index.try_emplace(stored_key, evidence_.entries.size());
    if (!fresh) {
      written_evidence& w = evidence_.entries[at->second];
      w.value = evidence_.bytes.store(value);
      w.expires = expires;
      w.erased = false;
      return;
    }
    evidence_.entries.push_back(written_evidence{stored_key, evidence_.bytes.store(value), expires});
    return;
  }
  bool fresh = false;
  if (!kv) {
    auto it = entries_.find(key);
    fresh = it == entries_.end();
    if (fresh) it = entries_.try_emplace(std::string(key)).first;
    kv = &*it;
  }
  if (!kv->second.dirty) dirty_.push_back(kv->first);
  // A key this cache never read and never wrote cannot be on disk only if it is
  // unique by construction (reorder keys are); treat it as unwritten for now and
  // let erase() decide: put+erase in one batch then costs no write at all.
  if (fresh) kv->second.unwritten = true;
  if (kv->second.value) kv->second.value->assign(value);  // reuses the buffer a window grows in
  else kv->second.value.emplace(value);
  kv->second.expires = expires;
  kv->second.dirty = true;
}

void cached_state::erase(std::string_view key) {
  last_ = nullptr;
  // The delete below is what gets written; the log (or a sealed one, already
  // written) must no longer answer for the key.
  if (is_evidence(key))
    if (auto* w = find_evidence(key)) w->erased = true;
  auto it = entries_.find(key);
  if (it == entries_.end()) it = entries_.try_emplace(std::string(key)).first;
  if (!it->second.dirty) dirty_.push_back(it->first);
  it->second.value.reset();
  it->second.dirty = true;
}

void cached_state::for_each_from(std::string_view prefix, std::string_view from, const visitor& fn) {
  // Disk, overlaid by what this batch changed.
  std::map<std::string, std::optional<std::string>> merged;
  db_.for_each_state(
      prefix, now_, [&](std::string_view k, std::string_view v) { merged[std::string(k)] = std::string(v); }, from);
  for (const auto& w : evidence_.entries) {
    if (w.erased || !w.key.starts_with(prefix) || w.key < from) continue;
    merged[std::string(w.key)] = w.expires >= now_ ? std::optional<std::string>(w.value) : std::nullopt;
  }
  for (const auto& k : dirty_) {
    if (!std::string_view(k).starts_with(prefix) || std::string_view(k) < from) continue;
    const entry& e = entries_.at(k);
    merged[k] = e.value && e.expires >= now_ ? e.value : std::nullopt;
  }
  for (const auto& [k, v] : merged)
    if (v) fn(k, *v);
}

void cached_state::prefetch(std::string_view key, prefetch_stage stage) {
  if (stage == prefetch_stage::lookup) {
    entries_.prefetch(key);
    return;
  }
  auto it = entries_.find(key);
  if (it == entries_.end()) return;  // a miss reads RocksDB, which this cannot help
  __builtin_prefetch(it->first.data());
  if (it->second.value) __builtin_prefetch(it->second.value->data());
}

void cached_state::set_now(timestamp_ns watermark) {
  if (watermark <= now_) return;
  now_ = watermark;
  db_.set_state_watermark(watermark);
}

void cached_state::flush_into(batch& b) {
  last_ = nullptr;
  for (auto& k : dirty_) {  // moved into the batch: dirty_ is cleared below
    auto it = entries_.find(k);
    if (it == entries_.end() || !it->second.dirty) continue;
    it->second.dirty = false;
    if (it->second.unwritten && !it->second.value) {
      entries_.erase(it);  // born and gone within the batch
      continue;
    }
    it->second.unwritten = false;
    // Write-once keys (evidence, the reorder buffer and its records, timers, input
    // times) are read again rarely if ever, and the engine mirrors the buffer and
    // timers itself: keeping them would fill the cache with entries that crowd out
    // window state. They go at trim(), once the batch is durable: until then the
    // cache is the only place that has them.
    if (k.size() > 1 && k[1] == '/' && (k[0] == 'e' || k[0] == 'r' || k[0] == 'b' || k[0] == 't' || k[0] == 'p'))
      written_once_.push_back(k);
    b.state.push_back({std::move(k), it->second.value, it->second.expires});
  }
  dirty_.clear();
  // Lent by view, not copied: the log is where reads find them until the batch
  // is durable, and it stays (sealed, unchanged) until trim(), which the caller
  // calls only once b is written.
  for (const auto& w : evidence_.entries)
    if (!w.erased) b.borrowed_state.push_back({w.key, w.value, w.expires});
  if (!evidence_.entries.empty()) {
    const std::size_t written = evidence_.entries.size();
    sealed_.push_back(std::move(evidence_));  // the deque moves whole: the index's views stay valid
    evidence_ = evidence_log{};
    // The next batch writes about as much: its index is sized once rather than
    // rehashed as it doubles (a rehash re-reads every key, out of cache).
    evidence_.index.reserve(written);
  }
}

void cached_state::trim() {
  last_ = nullptr;
  sealed_.clear();
  for (const auto& k : written_once_)
    if (auto it = entries_.find(k); it != entries_.end() && !it->second.dirty) entries_.erase(it);
  written_once_.clear();
  if (entries_.size() <= capacity_) return;
  // Everything is clean after a commit; drop entries until under capacity.
  for (auto it = entries_.begin(); it != entries_.end() && entries_.size() > capacity_ / 2;) {
    if (it->second.dirty) {
      ++it;
    } else {
      entries_.erase(it++);  // erasing leaves the other iterators valid
    }
  }
}

}  // namespace sentrail::store
