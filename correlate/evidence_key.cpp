#include "correlate/evidence_key.h"

#include <cstdint>
#include <vector>

#include "correlate/codec.h"

namespace sentrail::correlate {

void append_evidence_key(std::string& key, const ingest::event& e) {
  append_ordered_time(key, e.time);
  // An interned name's hash is computed once per thread, not once per event: a
  // seeded call per name and per value was 6% of a pack replay. (The hash only
  // orders events of the same time; the source after it keeps keys apart.)
  thread_local std::vector<std::uint64_t> name_hashes;  // by field id; 0: not yet known
  std::uint64_t h = stable_hash(e.channel);
  for (const auto& f : e.fields()) {
    std::uint64_t name_hash;
    if (f.id < name_hashes.size() && name_hashes[f.id] != 0) {
      name_hash = name_hashes[f.id];
    } else {
      name_hash = stable_hash(f.name) | 1;
      if (f.id != ingest::no_field) {
        if (f.id >= name_hashes.size()) name_hashes.resize(f.id + 1, 0);
        name_hashes[f.id] = name_hash;
      }
    }
    h = stable_hash(f.value.text, h ^ name_hash);
  }
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((h >> shift) & 0xFF));
  key.append(e.source.topic).push_back('\0');
  append_ordered_time(key, e.source.partition);
  append_ordered_time(key, e.source.offset);
}

std::optional<ingest::source_position> evidence_source(std::string_view key) {
  if (key.size() < 16 + 1 + 16) return std::nullopt;
  std::string_view rest = key.substr(16);
  auto end = rest.size() - 16;
  if (rest[end - 1] != '\0') return std::nullopt;
  ingest::source_position from;
  from.topic = rest.substr(0, end - 1);
  from.partition = static_cast<std::int32_t>(read_ordered_time(rest.substr(end)));
  from.offset = read_ordered_time(rest.substr(end + 8));
  return from;
}

std::int64_t evidence_time(std::string_view key) { return read_ordered_time(key); }

}  // namespace sentrail::correlate
