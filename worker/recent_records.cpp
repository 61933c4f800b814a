#include "worker/recent_records.h"

#include <algorithm>
#include <cstring>

namespace sentrail::worker {
namespace {
// Partitions that stop receiving records keep their index entries until this
// many records later, when every partition drops what the ring overwrote.
constexpr std::uint64_t sweep_every = 4096;
}  // namespace

recent_records::recent_records(std::size_t capacity_bytes)
    : ring_(capacity_bytes ? new char[capacity_bytes] : nullptr), capacity_(capacity_bytes) {}

void recent_records::drop_overwritten(records& kept) {
  while (!kept.empty() && !live(kept.front())) kept.pop_front();
}

void recent_records::keep(std::string_view topic, std::int32_t partition, std::int64_t offset,
                          std::string_view payload) {
  const std::size_t capacity = capacity_;
  if (capacity == 0 || payload.size() > capacity || payload.size() > UINT32_MAX) return;
  records& kept = partitions_.find_or_add(topic, partition);
  if (!kept.empty() && offset <= kept.back().offset) kept.clear();
  // A payload is kept in one piece: one that would run past the end of the ring
  // starts at its beginning instead, and the end is left unused.
  std::size_t start = static_cast<std::size_t>(written_ % capacity);
  if (start + payload.size() > capacity) {
    written_ += capacity - start;
    start = 0;
  }
  std::memcpy(ring_.get() + start, payload.data(), payload.size());
  kept.push_back({offset, written_, static_cast<std::uint32_t>(payload.size())});
  written_ += payload.size();
  drop_overwritten(kept);
  if (++kept_since_sweep_ >= sweep_every) {
    kept_since_sweep_ = 0;
    for (auto& other : partitions_.all()) drop_overwritten(other.value);
  }
}

std::optional<std::string_view> recent_records::find(std::string_view topic, std::int32_t partition,
                                                     std::int64_t offset) const {
  const records* kept = partitions_.find(topic, partition);
  if (!kept) return std::nullopt;
  auto it = std::lower_bound(kept->begin(), kept->end(), offset,
                             [](const record& r, std::int64_t o) { return r.offset < o; });
  if (it == kept->end() || it->offset != offset || !live(*it)) return std::nullopt;
  return std::string_view(ring_.get() + it->at % capacity_, it->size);
}

}  // namespace sentrail::worker
