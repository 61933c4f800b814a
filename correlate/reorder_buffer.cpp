#include "correlate/reorder_buffer.h"

#include <algorithm>
#include <utility>

namespace sentrail::correlate {

namespace {
std::uint64_t be64_at(const std::string& s, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = at; i < at + 8; ++i) v = (v << 8) | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
  return v;
}
}  // namespace

reorder_buffer::slot reorder_buffer::slot_of(entry* e) { return {be64_at(e->key, 0), be64_at(e->key, 8), e}; }

reorder_buffer::entry& reorder_buffer::stage() {
  if (!staged_) {
    if (!free_.empty()) {
      staged_ = free_.back();
      free_.pop_back();
    } else if (!bare_.empty()) {
      staged_ = bare_.back();
      bare_.pop_back();
    } else {
      staged_ = &storage_.emplace_back();
    }
    prefetch_next();
  }
  staged_->key.clear();
  staged_->rule_ids.clear();
  staged_->event.clear();
  return *staged_;
}

void reorder_buffer::prefetch_next() const {
  // A pooled entry was last touched when its event was released, usually long
  // enough ago to be out of cache; clearing and refilling it would stall on it.
  // The entry after next is fetched now, and the next one's buffers, whose
  // addresses its (already fetched) header gives.
  const std::size_t n = free_.size();
  if (n >= 2) __builtin_prefetch(free_[n - 2], 1);
  if (n >= 1) {
    const entry* e = free_[n - 1];
    __builtin_prefetch(e->key.data(), 1);
    __builtin_prefetch(e->rule_ids.data(), 1);
    __builtin_prefetch(e->event.data(), 1);
  }
}

void reorder_buffer::insert_staged() {
  entry* e = std::exchange(staged_, nullptr);
  auto [it, inserted] = order_.insert(slot_of(e));
  if (inserted) return;
  // Swapped, not copied: the staged entry goes back to the pool with the older
  // copy's buffers.
  std::swap(it->e->rule_ids, e->rule_ids);
  std::swap(it->e->event, e->event);
  free_.push_back(e);
}

reorder_buffer::entry* reorder_buffer::take_first() {
  auto it = order_.begin();
  entry* e = it->e;
  order_.erase(it);
  return e;
}

void reorder_buffer::recycle(entry* e) { free_.push_back(e); }

void reorder_buffer::clear() {
  for (const slot& s : order_) free_.push_back(s.e);
  order_.clear();
}

void reorder_buffer::trim() {
  const std::size_t keep = std::max<std::size_t>(1024, order_.size());
  while (free_.size() > keep) {
    entry* e = free_.back();
    free_.pop_back();
    std::string().swap(e->key);
    std::string().swap(e->rule_ids);
    std::string().swap(e->event);
    bare_.push_back(e);
  }
}

}  // namespace sentrail::correlate
