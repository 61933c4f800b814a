#include "ingest/decoder.h"

#include <simdjson.h>

#include <cstring>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "ingest/access_log.h"

namespace sentrail::ingest {

namespace od = simdjson::ondemand;

std::string_view reason_name(rejection_reason r) {
  switch (r) {
    case rejection_reason::empty: return "empty";
    case rejection_reason::oversized: return "oversized";
    case rejection_reason::invalid_utf8: return "invalid_utf8";
    case rejection_reason::invalid_json: return "invalid_json";
    case rejection_reason::not_an_object: return "not_an_object";
    case rejection_reason::invalid_access_log: return "invalid_access_log";
    case rejection_reason::missing_timestamp: return "missing_timestamp";
    case rejection_reason::bad_timestamp: return "bad_timestamp";
    case rejection_reason::wrong_type: return "wrong_type";
    case rejection_reason::missing_field: return "missing_field";
    case rejection_reason::unknown_channel: return "unknown_channel";
    case rejection_reason::late_event: return "late_event";
  }
  return "unknown";
}

namespace {

std::string_view type_name(field_type t) {
  switch (t) {
    case field_type::string: return "a string";
    case field_type::number: return "a number";
    case field_type::boolean: return "a boolean";
    case field_type::card: return "a card number (string or number)";
    case field_type::any: return "anything";
  }
  return "?";
}

bool type_fits(field_type want, value_kind got) {
  switch (want) {
    case field_type::any: return true;
    case field_type::string: return got == value_kind::string || got == value_kind::null;
    case field_type::number: return got == value_kind::number || got == value_kind::null;
    case field_type::boolean: return got == value_kind::boolean || got == value_kind::null;
    case field_type::card: return got == value_kind::string || got == value_kind::number || got == value_kind::null;
  }
  return false;
}

std::string_view kind_name(value_kind k) {
  switch (k) {
    case value_kind::string: return "a string";
    case value_kind::number: return "a number";
    case value_kind::boolean: return "a boolean";
    case value_kind::null: return "null";
  }
  return "?";
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

struct decoder::impl {
  const minimiser& privacy;
  field_table& names_ = field_table::global();
  decoder_options options;
  od::parser parser;
  std::vector<char> padded;  // input copy with simdjson's padding after it
  std::string path;          // dotted path of the field being read
  // Per-message scratch.
  const channel_mapping* channel = nullptr;
  event* out = nullptr;
  std::string_view time_text;
  bool time_is_number = false;
  double time_number = 0;
  bool saw_time = false;
  std::optional<rejection> failure;

  impl(const minimiser& p, decoder_options o) : privacy(p), options(o) {}

  void fail(rejection_reason r, std::string detail) {
    if (!failure) failure = rejection{r, std::move(detail)};
  }

  // What a raw field name resolves to, remembered per channel and position:
  // events of a channel repeat their key order, nested fields included, so a key
  // compare usually replaces a hash lookup and the timestamp-name compare.
  struct resolved {
    std::string key;   // the full dotted name
    std::string leaf;  // the last part, as the object spelled it
    bool plain = false;  // leaf holds no quote or backslash: its raw JSON bytes are the leaf
    std::size_t parent = top_level;  // position of the enclosing object's slot
    const mapped_field* mapped = nullptr;
    field_id extra = no_field;
    bool is_timestamp = false;
  };
  static constexpr std::size_t top_level = SIZE_MAX;
  // A required raw field, resolved once per channel: its mapped target, or
  // no_field when it stays under its raw name.
  struct required_field {
    field_id target = no_field;
    std::string_view raw;
  };
  struct channel_memory {
    std::vector<resolved> order;  // predictions by field position
    std::vector<required_field> required;
  };
  std::unordered_map<const channel_mapping*, channel_memory> remembered;
  channel_memory* memory = nullptr;  // this message's channel's
  const channel_mapping* memory_channel = nullptr;
  std::size_t position = 0;          // field index in this message, in document order

  void remember(const channel_mapping& c) {
    auto [it, fresh] = remembered.try_emplace(&c);
    memory = &it->second;
    memory_channel = &c;
    if (!fresh) return;
    for (const auto& raw : c.required) {
      const mapped_field* m = c.find(raw);
      memory->required.push_back({m ? m->target : no_field, raw});
    }
  }

  // The field at position `at`, if its key's raw JSON bytes are the leaf seen
  // there before, inside the same enclosing object: then the key needs neither
  // unescaping nor joining to its object's path. Only trusted when the enclosing
  // object was itself recognised (`parent_known`): a different object at that
  // position may hold a field of the same leaf name.
  const resolved* predict(od::raw_json_string raw, std::size_t at, std::size_t parent) const {
    const auto& order = memory->order;
    if (at >= order.size()) return nullptr;
    const resolved& r = order[at];
    if (r.parent != parent || !r.plain || !raw.unsafe_is_equal(r.leaf)) return nullptr;
    return &r;
  }
  // The field at position `at` by its full name; the second member says whether
  // the prediction there already named it (so its nested fields can be trusted).
  std::pair<const resolved*, bool> learn(std::size_t at, std::string_view name, std::string_view leaf,
                                         std::size_t parent) {
    auto& order = memory->order;
    if (at < order.size() && order[at].key == name) {
      resolved& r = order[at];
      r.parent = parent;
      if (r.leaf != leaf) {  // the same dotted name split another way ({"a":{"b.c":…}} vs {"a.b":{"c":…}})
        r.leaf.assign(leaf);
        r.plain = leaf.find_first_of("\"\\") == std::string_view::npos;
      }
      return {&r, true};
    }
    if (at >= order.size()) order.resize(at + 1);
    resolved& r = order[at];
    r.key.assign(name);
    r.leaf.assign(leaf);
    r.plain = leaf.find_first_of("\"\\") == std::string_view::npos;
    r.parent = parent;
    r.mapped = channel->find(name);
    r.extra = r.mapped ? no_field : names_.find(name);
    r.is_timestamp = name == channel->timestamp_field;
    return {&r, false};
  }

  // One raw top-level field by name (access-log lines).
  void put(std::string_view raw_name, const field_value& v) {
    put(*learn(position++, raw_name, raw_name, top_level).first, v);
  }
  // One raw field, whatever format it came in.
  void put(const resolved& r, const field_value& v) {
    const std::string_view raw_name = r.key;
    if (r.is_timestamp) {
      saw_time = true;
      if (v.kind == value_kind::string) {
        time_text = v.text;
      } else if (v.kind == value_kind::number) {
        time_is_number = true;
        time_number = v.number;
        time_text = v.text;
      } else {
        fail(rejection_reason::wrong_type, "timestamp field '" + std::string(raw_name) +
                                               "' is " + std::string(kind_name(v.kind)));
        return;
      }
    }
    const mapped_field* m = r.mapped;
    if (m) {
      if (!type_fits(m->type, v.kind)) {
        fail(rejection_reason::wrong_type, "field '" + std::string(raw_name) + "' should be " +
                                               std::string(type_name(m->type)) + " but is " +
                                               std::string(kind_name(v.kind)));
        return;
      }
      if (m->type == field_type::card) {
        if (v.kind != value_kind::null) privacy.take_card_field(*out, v.text);
        return;
      }
      // Views into the input and simdjson's string buffer: valid until the next decode,
      // which is as long as the pipeline uses the event (anything kept is copied).
      out->append_view(m->target, m->interned_name, v);
      return;
    }
    field_id id = r.extra;
    if (id != no_field) {
      out->append_view(id, names_.name(id), v);
    } else {
      out->add_extra(raw_name, v);
    }
  }

  // `parent`: the position of this object's own slot (top_level for the event);
  // `parent_known`: whether that slot was recognised from the last events, so
  // that predictions inside it hold (see predict()).
  void read_object(od::object obj, int depth, std::size_t parent, bool parent_known) {
    std::size_t base = path.size();  // path: this object's full name ("" for the event)
    for (auto member : obj) {
      od::field field;
      if (std::move(member).get(field)) {
        fail(rejection_reason::invalid_json, "malformed object key");
        return;
      }
      const std::size_t at = position++;
      const resolved* r = parent_known ? predict(field.key(), at, parent) : nullptr;
      bool known = r != nullptr;
      if (!r) {
        std::string_view key;
        if (field.unescaped_key().get(key)) {
          fail(rejection_reason::invalid_json, "malformed object key");
          return;
        }
        // Top-level names are used as read; nested ones join the path.
        std::string_view name = key;
        if (base) {
          path.resize(base);
          path += '.';
          path += key;
          name = path;
        }
        std::tie(r, known) = learn(at, name, key, parent);
      }
      const std::string_view name = r->key;
      od::value value = field.value();
      od::json_type type;
      if (value.type().get(type)) {
        fail(rejection_reason::invalid_json, "malformed value for '" + std::string(name) + "'");
        return;
      }
      switch (type) {
        case od::json_type::object: {
          if (r->is_timestamp)
            return fail(rejection_reason::bad_timestamp, "timestamp field '" + std::string(name) + "' is an object");
          if (const mapped_field* m = r->mapped; m && m->type != field_type::any)
            return fail(rejection_reason::wrong_type, "field '" + std::string(name) + "' should be " +
                                                          std::string(type_name(m->type)) + " but is an object");
          if (depth >= options.max_depth) {
            od::object deep;
            std::string_view raw;
            if (value.get_object().get(deep) || deep.raw_json().get(raw))
              return fail(rejection_reason::invalid_json, "malformed object at '" + std::string(name) + "'");
            put(*r, field_value::of_string(trim_right(raw)));
            break;
          }
          od::object inner;
          if (value.get_object().get(inner))
            return fail(rejection_reason::invalid_json, "malformed object at '" + std::string(name) + "'");
          path.assign(name);  // the base of the nested names
          // r may move while the nested fields are learned: not used after this.
          read_object(inner, depth + 1, at, known);
          if (failure) return;
          break;
        }
        case od::json_type::array: {
          od::array items;
          std::string_view raw;
          if (value.get_array().get(items) || items.raw_json().get(raw))
            return fail(rejection_reason::invalid_json, "malformed array at '" + std::string(name) + "'");
          put(*r, field_value::of_string(trim_right(raw)));
          break;
        }
        case od::json_type::string: {
          std::string_view s;
          if (value.get_string().get(s)) return fail(rejection_reason::invalid_json, "malformed string at '" + std::string(name) + "'");
          put(*r, field_value::of_string(s));
          break;
        }
        case od::json_type::number: {
          std::string_view literal = value.raw_json_token();
          double number;
          if (value.get_double().get(number))
            return fail(rejection_reason::invalid_json, "malformed number at '" + std::string(name) + "'");
          put(*r, field_value::of_number(trim_right(literal), number));
          break;
        }
        case od::json_type::boolean: {
          bool b;
          if (value.get_bool().get(b)) return fail(rejection_reason::invalid_json, "malformed boolean at '" + std::string(name) + "'");
          put(*r, field_value::of_bool(b));
          break;
        }
        case od::json_type::null: {
          bool is_null;
          if (value.is_null().get(is_null) || !is_null)
            return fail(rejection_reason::invalid_json, "malformed null at '" + std::string(name) + "'");
          put(*r, field_value{});
          break;
        }
      }
      if (failure) return;
    }
    path.resize(base);
  }

  void decode_json(std::string_view raw, char first) {
    if (first != '{') {
      if (first == '[' || first == '"')
        return fail(rejection_reason::not_an_object, "a channel event must be a JSON object");
      return fail(rejection_reason::invalid_json, "not JSON: an event starts with '{'");
    }
    std::size_t needed = raw.size() + simdjson::SIMDJSON_PADDING;
    if (padded.size() < needed) padded.resize(needed);
    std::memcpy(padded.data(), raw.data(), raw.size());
    std::memset(padded.data() + raw.size(), 0, simdjson::SIMDJSON_PADDING);
    od::document doc;
    auto err = parser.iterate(padded.data(), raw.size(), padded.size()).get(doc);
    // simdjson's first pass validates UTF-8 over the whole message: no second scan.
    if (err == simdjson::UTF8_ERROR) return fail(rejection_reason::invalid_utf8, "message is not valid UTF-8");
    if (err) return fail(rejection_reason::invalid_json, simdjson::error_message(err));
    od::json_type type;
    if (doc.type().get(type)) return fail(rejection_reason::invalid_json, "not a JSON document");
    if (type != od::json_type::object)
      return fail(rejection_reason::not_an_object, "a channel event must be a JSON object");
    od::object obj;
    if (doc.get_object().get(obj)) return fail(rejection_reason::invalid_json, "malformed object");
    path.clear();
    read_object(obj, 1, top_level, true);
    if (failure) return;
    // current_location() answers only while there is input left to read.
    const char* trailing = nullptr;
    if (!doc.current_location().get(trailing))
      fail(rejection_reason::invalid_json, "trailing content after the JSON object");
  }

  void decode_access_log(std::string_view raw) {
    access_log_line line;
    std::string_view why;
    if (!parse_access_log(raw, line, why)) return fail(rejection_reason::invalid_access_log, std::string(why));
    auto put_string = [&](std::string_view name, std::string_view v) {
      if (!v.empty()) put(name, field_value::of_string(v));
    };
    auto put_number = [&](std::string_view name, std::string_view v) {
      if (v.empty()) return;
      double n = 0;
      for (char c : v) {
        if (c < '0' || c > '9') return put_string(name, v);
        n = n * 10 + (c - '0');
      }
      put(name, field_value::of_number(v, n));
    };
    put_string(channel->timestamp_field, line.time);
    // An access-log line records one HTTP request; the action says so.
    put("event", field_value::of_string("http_request"));
    put_string("client_ip", line.client_ip);
    put_string("user", line.user);
    put_string("method", line.method);
    put_string("path", line.path);
    put_string("query", line.query);
    put_string("protocol", line.protocol);
    put_number("status", line.status);
    put_number("bytes", line.bytes);
    put_string("referrer", line.referrer);
    put_string("user_agent", line.user_agent);
  }
};

decoder::decoder(const minimiser& privacy, decoder_options options)
    : impl_(std::make_unique<impl>(privacy, options)) {}
decoder::~decoder() = default;

std::optional<rejection> decoder::decode(std::string_view raw, const channel_mapping& channel,
                                         source_position from, event& out, const std::vector<bool>* minimise_only) {
  impl& s = *impl_;
  out.clear();
  out.channel = channel.name;
  out.source = from;
  s.channel = &channel;
  s.out = &out;
  // Events come in runs of one channel: look its predictions and required fields up only on a change.
  if (s.memory_channel != &channel) s.remember(channel);
  s.position = 0;
  s.failure.reset();
  s.saw_time = false;
  s.time_is_number = false;
  s.time_text = {};

  if (raw.size() > s.options.max_message_bytes)
    return rejection{rejection_reason::oversized,
                     "message of " + std::to_string(raw.size()) + " bytes exceeds the limit of " +
                         std::to_string(s.options.max_message_bytes)};
  std::size_t start = 0;
  while (start < raw.size() && (raw[start] == ' ' || raw[start] == '\t' || raw[start] == '\n' || raw[start] == '\r'))
    ++start;
  if (start == raw.size()) return rejection{rejection_reason::empty, "empty message"};

  bool looks_json = raw[start] == '{' || raw[start] == '[' || raw[start] == '"';
  // A JSON object's UTF-8 is checked by simdjson as it parses (decode_json).
  if ((!looks_json || raw[start] != '{' || !channel.accepts(input_format::json)) &&
      !simdjson::validate_utf8(raw.data(), raw.size()))
    return rejection{rejection_reason::invalid_utf8, "message is not valid UTF-8"};
  if (looks_json || !channel.accepts(input_format::access_log)) {
    if (!channel.accepts(input_format::json))
      return rejection{rejection_reason::invalid_access_log, "channel accepts access-log lines only"};
    s.decode_json(raw, raw[start]);
  } else {
    s.decode_access_log(raw);
  }
  if (s.failure) return std::move(s.failure);

  if (!s.saw_time || (s.time_text.empty() && !s.time_is_number))
    return rejection{rejection_reason::missing_timestamp,
                     "no timestamp field '" + channel.timestamp_field + "'"};
  std::optional<timestamp_ns> t =
      s.time_is_number ? event_time_from_epoch(s.time_number) : parse_event_time(s.time_text);
  if (!t)
    return rejection{rejection_reason::bad_timestamp,
                     "timestamp '" + std::string(s.time_text.substr(0, 64)) +
                         "' is not RFC 3339, Common Log Format or an epoch number"};
  out.time = *t;

  for (const auto& req : s.memory->required) {
    const field_value* v = req.target != no_field ? out.get(req.target) : out.get(req.raw);
    if (!v || v->kind == value_kind::null)
      return rejection{rejection_reason::missing_field, "required field '" + std::string(req.raw) + "' is missing"};
  }
  if (!out.get(fields::event_outcome)) {
    if (const field_value* action = out.get(fields::event_action)) {
      if (auto it = channel.outcomes.find(action->text); it != channel.outcomes.end())
        out.set(fields::event_outcome, field_value::of_string(it->second));
    }
  }
  out.set(fields::event_channel, field_value::of_string(channel.name));
  if (minimise_only)
    s.privacy.apply_part(out, channel, *minimise_only, true);
  else
    s.privacy.apply(out, channel);
  return std::nullopt;
}

}  // namespace sentrail::ingest

namespace sentrail::ingest {
std::optional<std::string> peek_string_field(std::string_view raw, std::string_view name) {
  thread_local od::parser parser;
  simdjson::padded_string copy(raw);
  od::document doc;
  if (parser.iterate(copy).get(doc)) return std::nullopt;
  od::object obj;
  if (doc.get_object().get(obj)) return std::nullopt;
  std::string_view value;
  if (obj.find_field_unordered(name).get_string().get(value)) return std::nullopt;
  return std::string(value);
}
}  // namespace sentrail::ingest
