#pragma once
// Transparent hashing so maps keyed by std::string can be searched with a
// string_view without building a temporary string on the per-event path.

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <absl/container/flat_hash_map.h>
#include "common/xxhash.h"

namespace sentrail {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

/// XXH3 of the bytes, for open-addressing tables, which need every bit of the hash to be good.
struct strong_string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return XXH3_64bits(s.data(), s.size()); }
};

/// A string-keyed map for large, hot tables (state): open addressing (Abseil),
/// so a lookup reads one control group and one slot instead of chasing nodes.
/// Unlike string_map, inserting may move values: views into them last only
/// until the next insertion.
template <class V>
using flat_string_map = absl::flat_hash_map<std::string, V, strong_string_hash, std::equal_to<>>;

}  // namespace sentrail
