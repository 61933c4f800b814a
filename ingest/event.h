#pragma once
// The normalised event every stage after decoding reads. Field names follow ECS
// where ECS has one and retail.* otherwise (see docs/event-model.md). Names are
// interned once, while mappings and rules load, so the per-event path compares
// small integers, and an event's bytes live in its own arena, reused per event.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/arena.h"
#include "common/time.h"

namespace sentrail::ingest {

using field_id = std::uint32_t;
inline constexpr field_id no_field = UINT32_MAX;

/// Process-wide table of field names. Filled while mappings and rules load (one
/// thread), read while events flow; names never move once interned.
class field_table {
 public:
  static field_table& global();

  field_id intern(std::string_view name);
  /// no_field when the name was never interned.
  field_id find(std::string_view name) const;
  std::string_view name(field_id id) const;
  std::size_t size() const;

 private:
  field_table();
  struct impl;
  impl* impl_;
};

/// Well-known fields, interned first so their ids are compile-time constants.
namespace fields {
inline constexpr field_id timestamp = 0;           // @timestamp
inline constexpr field_id event_action = 1;        // event.action
inline constexpr field_id event_outcome = 2;       // event.outcome
inline constexpr field_id event_channel = 3;       // event.channel
inline constexpr field_id source_ip = 4;           // source.ip
inline constexpr field_id user_name = 5;           // user.name
inline constexpr field_id user_id = 6;             // user.id
inline constexpr field_id card_token = 7;          // retail.card.token
inline constexpr field_id card_last4 = 8;          // retail.card.last4
inline constexpr field_id geo_location = 9;        // source.geo.location ("lat,lon")
inline constexpr field_id employee_id = 10;        // retail.employee.id
inline constexpr field_id store_id = 11;           // retail.store.id
inline constexpr field_id amount = 12;             // retail.amount
inline constexpr field_id count = 13;
/// The names above, in id order.
extern const std::string_view well_known_names[count];
}  // namespace fields

enum class value_kind : std::uint8_t { string, number, boolean, null };

/// A field's value. `text` is the string, or a number/boolean as written, so
/// string matchers work on every kind; `number` is set for numbers.
struct field_value {
  value_kind kind = value_kind::null;
  std::string_view text;
  double number = 0;

  static field_value of_string(std::string_view s) { return {value_kind::string, s, 0}; }
  static field_value of_number(std::string_view literal, double n) {
    return {value_kind::number, literal, n};
  }
  static field_value of_bool(bool b) { return {value_kind::boolean, b ? "true" : "false", 0}; }
};

struct field {
  field_id id;            // no_field for a name nobody interned (an extra raw field)
  std::string_view name;  // always set; interned or in the event's arena
  field_value value;
};

/// Where an event came from: Kafka coordinates, or a file and line for replay.
struct source_position {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

class event {
 public:
  event() { fields_.reserve(32); }
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  event(event&&) = default;
  event& operator=(event&&) = default;

  std::string_view channel;  // stable: points into the channel's mapping
  source_position source;
  timestamp_ns time = 0;     // @timestamp, event time

  const field_value* get(field_id id) const {
    for (const auto& f : fields_)
      if (f.id == id) return &f.value;
    return nullptr;
  }
  /// Lookup by name, for fields that were never interned.
  const field_value* get(std::string_view name) const;
  std::string_view text(field_id id) const {
    const field_value* v = get(id);
    return v ? v->text : std::string_view{};
  }

  std::span<const field> fields() const { return fields_; }

  /// Sets (or replaces) a field whose bytes already outlive the event.
  void set(field_id id, field_value value);
  /// Sets a field, copying its text into the event's arena.
  void set_copy(field_id id, field_value value);
  /// Appends a field without looking for an earlier one of the same id (the
  /// decoder's path: a repeated JSON key then keeps its first value for get()).
  void append_copy(field_id id, field_value value);
  /// The same without copying: `name` and the value's text must outlive the
  /// event's current contents (the decoder's buffers do, until the next decode).
  void append_view(field_id id, std::string_view name, field_value value) {
    fields_.push_back({id, name, value});
  }
  /// Adds a field under a name that is not interned; name and text are copied.
  void add_extra(std::string_view name, field_value value);
  void erase(field_id id);
  void erase_at(std::size_t index) { fields_.erase(fields_.begin() + static_cast<long>(index)); }
  /// Replaces the value of the field at `index` (copying text into the arena).
  void replace_at(std::size_t index, field_value value);

  /// Copies bytes into the event's arena; valid until clear().
  std::string_view store(std::string_view text) { return arena_.store(text); }

  /// Empties the event for reuse without giving back its memory.
  void clear() {
    fields_.clear();
    arena_.reset();
    channel = {};
    source = {};
    time = 0;
  }

 private:
  std::vector<field> fields_;
  arena arena_;
};

}  // namespace sentrail::ingest
