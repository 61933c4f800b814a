#pragma once
// Field names a stored event writes as a small number instead of its bytes. The
// names were nearly half of every stored event, and stored events nearly all of
// the state the store writes, flushes and compacts.

#include <cstdint>
#include <span>
#include <string_view>

namespace sentrail::correlate {

/// The dictionary, in code order (code = position + 1). Append only: stored
/// events name fields by code, so a name's position may never change.
std::span<const std::string_view> stored_field_names();

/// The code of `name`, or 0 when it is not in the dictionary.
std::uint32_t stored_name_code(std::string_view name);

/// The name of `code`; empty when no name has it (a newer version's, or corrupt).
std::string_view stored_name(std::uint64_t code);

}  // namespace sentrail::correlate
