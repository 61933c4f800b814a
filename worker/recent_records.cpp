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

void recent_records::drop_overwritten(partition_records& p) {
  while (!p.records.empty() && !live(p.records.front())) p.records.pop_front();
}

recent_records::partition_records* recent_records::partition_of(std::string_view topic, std::int32_t partition) {
  if (last_ < partitions_.size() && partitions_[last_].partition == partition && partitions_[last_].topic == topic)
    return &partitions_[last_];
  for (std::size_t i = 0; i < partitions_.size(); ++i) {
    if (partitions_[i].partition == partition && partitions_[i].topic == topic) {
      last_ = i;
      return &partitions_[i];
    }
  }
  return nullptr;
}

void recent_records::keep(std::string_view topic, std::int32_t partition, std::int64_t offset,
                          std::string_view payload) {
  const std::size_t capacity = capacity_;
  if (capacity == 0 || payload.size() > capacity || payload.size() > UINT32_MAX) return;
  partition_records* p = partition_of(topic, partition);
  if (!p) {
    partitions_.push_back({std::string(topic), partition, {}});
    last_ = partitions_.size() - 1;
    p = &partitions_.back();
  }
  if (!p->records.empty() && offset <= p->records.back().offset) p->records.clear();
  // A payload is kept in one piece: one that would run past the end of the ring
  // starts at its beginning instead, and the end is left unused.
  std::size_t start = static_cast<std::size_t>(written_ % capacity);
  if (start + payload.size() > capacity) {
    written_ += capacity - start;
    start = 0;
  }
  std::memcpy(ring_.get() + start, payload.data(), payload.size());
  p->records.push_back({offset, written_, static_cast<std::uint32_t>(payload.size())});
  written_ += payload.size();
  drop_overwritten(*p);
  if (++kept_since_sweep_ >= sweep_every) {
    kept_since_sweep_ = 0;
    for (auto& other : partitions_) drop_overwritten(other);
  }
}

std::optional<std::string_view> recent_records::find(std::string_view topic, std::int32_t partition,
                                                     std::int64_t offset) const {
  for (const auto& p : partitions_) {
    if (p.partition != partition || p.topic != topic) continue;
    auto it = std::lower_bound(p.records.begin(), p.records.end(), offset,
                               [](const record& r, std::int64_t o) { return r.offset < o; });
    if (it == p.records.end() || it->offset != offset || !live(*it)) return std::nullopt;
    return std::string_view(ring_.get() + it->at % capacity_, it->size);
  }
  return std::nullopt;
}

}  // namespace sentrail::worker
