#include "ingest/event.h"

#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace sentrail::ingest {

namespace fields {
const std::string_view well_known_names[count] = {
    "@timestamp",       "event.action",      "event.outcome",       "event.channel",
    "source.ip",        "user.name",         "user.id",             "retail.card.token",
    "retail.card.last4", "source.geo.location", "retail.employee.id", "retail.store.id",
    "retail.amount",
};
}  // namespace fields

struct field_table::impl {
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::deque<std::string> names;  // deque: interned views never move
  std::vector<std::string_view> views;  // views[id] = names[id]: name() is one load
  std::unordered_map<std::string_view, field_id, hash, std::equal_to<>> ids;
};

field_table::field_table() : impl_(new impl) {
  for (auto name : fields::well_known_names) intern(name);
}

field_table& field_table::global() {
  static field_table table;
  return table;
}

field_id field_table::intern(std::string_view name) {
  if (auto it = impl_->ids.find(name); it != impl_->ids.end()) return it->second;
  auto id = static_cast<field_id>(impl_->names.size());
  impl_->names.emplace_back(name);
  impl_->views.push_back(impl_->names.back());
  impl_->ids.emplace(impl_->names.back(), id);
  return id;
}

field_id field_table::find(std::string_view name) const {
  auto it = impl_->ids.find(name);
  return it == impl_->ids.end() ? no_field : it->second;
}

std::string_view field_table::name(field_id id) const {
  return id < impl_->views.size() ? impl_->views[id] : std::string_view{};
}

std::size_t field_table::size() const { return impl_->names.size(); }

const field_value* event::get(std::string_view name) const {
  for (const auto& f : fields_)
    if (f.name == name) return &f.value;
  return nullptr;
}

void event::set(field_id id, field_value value) {
  for (auto& f : fields_) {
    if (f.id == id) {
      f.value = value;
      return;
    }
  }
  fields_.push_back({id, field_table::global().name(id), value});
}

void event::set_copy(field_id id, field_value value) {
  value.text = arena_.store(value.text);
  set(id, value);
}

void event::append_copy(field_id id, field_value value) {
  value.text = arena_.store(value.text);
  fields_.push_back({id, field_table::global().name(id), value});
}

void event::add_extra(std::string_view name, field_value value) {
  value.text = arena_.store(value.text);
  fields_.push_back({no_field, arena_.store(name), value});
}

void event::erase(field_id id) {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].id == id) {
      erase_at(i);
      return;
    }
  }
}

void event::replace_at(std::size_t index, field_value value) {
  value.text = arena_.store(value.text);
  fields_[index].value = value;
}

}  // namespace sentrail::ingest
