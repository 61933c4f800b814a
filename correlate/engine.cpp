#include "correlate/engine.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include <absl/container/inlined_vector.h>

#include "common/string_hash.h"
#include "correlate/codec.h"
#include "correlate/evidence_key.h"
#include "correlate/stored_names.h"

namespace sentrail::correlate {
namespace {

// State key spaces. Keys after the prefix are ordered where order matters.
// The reorder buffer is the evidence newer than the watermark: an event that feeds
// a correlation is written once, as e/ with the rules it matched, and is buffered
// until the watermark passes its time. (Versions before kept a reorder entry r/
// beside it, put on arrival and deleted on release: three writes per event.)
constexpr std::string_view reorder_prefix = "r/";   // + time + fingerprint + source (old layouts only)
constexpr std::string_view evidence_prefix = evidence_state_prefix;  // + time + fingerprint + source
constexpr std::string_view timer_prefix = "t/";     // + deadline + corr id + \x1e + group
constexpr std::string_view op_prefix = "c/";        // + corr id + \x1e + group
constexpr std::string_view suppress_prefix = "s/";  // + corr id + \x1e + group
constexpr std::string_view input_prefix = "p/";     // + partition
// With engine_options::durable_references, the reorder buffer is kept as one
// record per batch (correlate/buffer_record.h) rather than one e/ per event.
constexpr std::string_view record_prefix = "b/";    // + sequence (8 bytes, big-endian)

std::string record_key(std::uint64_t sequence) {
  std::string key(record_prefix);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((sequence >> shift) & 0xFF));
  return key;
}
constexpr char group_separator = '\x1f';
constexpr timestamp_ns forever = INT64_MAX;
constexpr std::string_view entity_fields[] = {
    "user.name",       "user.id",   "retail.employee.id", "retail.supplier.id", "retail.badge.id",
    "device.id",       "retail.card.token", "source.ip",  "retail.door.id",     "retail.register.id",
    "retail.store.id",
};

std::string rule_key(const rules::rule_info& i) { return !i.id.empty() ? i.id : !i.name.empty() ? i.name : i.title; }
std::string rule_key(const rules::correlation_rule& r) { return !r.id.empty() ? r.id : !r.name.empty() ? r.name : r.title; }

// Layout 2 starts with an empty channel name (no event has one) and a version,
// and stores a number only for numeric fields: a text field's unused 8 bytes
// were a quarter of every stored event. Layout 1 (no marker) still decodes.
// Layout 4 names fields by their code in stored_field_names() where they have
// one (0, then the name's bytes, where not): names were nearly half of each.
constexpr std::uint64_t named_fields_layout = 2;
constexpr std::uint64_t event_layout = 4;
// Evidence by reference (engine_options::durable_references) as earlier versions
// wrote it, one e/ per event: only the rules the event matched; the key says
// where the event is to be read again. Still read by restore(); now b/ records.
constexpr std::uint64_t reference_layout = 3;

// A field's stored-name code, by interned id: looked up once per id and thread.
std::uint32_t stored_code(const ingest::field& f) {
  if (f.id == ingest::no_field) return stored_name_code(f.name);
  thread_local std::vector<std::uint32_t> by_id;  // code + 1; 0: not looked up yet
  if (f.id >= by_id.size()) by_id.resize(f.id + 1, 0);
  if (by_id[f.id] == 0) by_id[f.id] = stored_name_code(f.name) + 1;
  return by_id[f.id] - 1;
}

// The rules of a reference entry; nothing when `in` is a stored event.
std::optional<std::string_view> reference_rule_ids(std::string_view in) {
  decoder_view d(in);
  if (!d.bytes().empty() || d.failed() || d.u64() != reference_layout || d.failed()) return std::nullopt;
  std::string_view ids = d.bytes();
  if (d.failed()) return std::nullopt;
  return ids;
}

void encode_event(std::string& out, const ingest::event& e, std::string_view rule_ids) {
  // Room for the most it can take, then written through a pointer: appended a
  // value at a time, each append checked the string's capacity (a stored event
  // is a few dozen values, written once per correlated event).
  using w = raw_encoder;
  std::size_t bound = w::max_bytes(0) + w::max_u64 + w::max_bytes(e.channel.size()) +
                      w::max_bytes(e.source.topic.size()) + 3 * w::max_u64 + w::max_bytes(rule_ids.size()) + w::max_u64;
  for (const auto& f : e.fields())
    bound += 2 * w::max_u64 + w::max_bytes(f.name.size()) + w::max_bytes(f.value.text.size()) + w::max_f64;
  append_encoded(out, bound, [&](raw_encoder& w) {
    w.bytes({});
    w.u64(event_layout);
    w.bytes(e.channel);
    w.bytes(e.source.topic);
    w.i64(e.source.partition);
    w.i64(e.source.offset);
    w.i64(e.time);
    w.bytes(rule_ids);
    w.u64(e.fields().size());
    for (const auto& f : e.fields()) {
      std::uint32_t code = stored_code(f);
      w.u64(code);
      if (code == 0) w.bytes(f.name);
      w.u64(static_cast<std::uint64_t>(f.value.kind));
      w.bytes(f.value.text);
      if (f.value.kind == ingest::value_kind::number) w.f64(f.value.number);
    }
  });
}

// Decodes into `e` (cleared first); returns the matched rule ids.
std::string_view decode_event(std::string_view in, ingest::event& e) {
  e.clear();
  decoder_view d(in);
  std::string_view channel = d.bytes();
  std::uint64_t layout = 1;
  if (channel.empty()) {
    layout = d.u64();
    if (layout != event_layout && layout != named_fields_layout) return {};  // a newer version's: not ours to read
    channel = d.bytes();
  }
  e.channel = e.store(channel);
  e.source.topic = e.store(d.bytes());
  e.source.partition = static_cast<std::int32_t>(d.i64());
  e.source.offset = d.i64();
  e.time = d.i64();
  std::string_view rule_ids = d.bytes();
  std::uint64_t n = d.u64();
  auto& names = ingest::field_table::global();
  for (std::uint64_t i = 0; i < n && !d.failed(); ++i) {
    std::string_view name;
    if (layout == event_layout) {
      std::uint64_t code = d.u64();
      if (code == 0) {
        name = d.bytes();
      } else {
        name = stored_name(code);
        if (name.empty()) return {};  // a code this version does not know: a newer version's
      }
    } else {
      name = d.bytes();
    }
    ingest::field_id id = names.find(name);
    ingest::field_value v;
    v.kind = static_cast<ingest::value_kind>(d.u64());
    v.text = d.bytes();
    if (layout == 1 || v.kind == ingest::value_kind::number) v.number = d.f64();
    if (id != ingest::no_field) e.append_copy(id, v);
    else e.add_extra(name, v);
  }
  return rule_ids;
}

void add_field_once(std::vector<ingest::field_id>& fields, ingest::field_id id) {
  if (id != ingest::no_field && std::find(fields.begin(), fields.end(), id) == fields.end()) fields.push_back(id);
}

// The reorder buffer's copy of an event lives in this process only, so it names
// fields by interned id (a release looks up no name), and it keeps only the
// fields in `kept`: those the correlations it feeds read, a few of the event's
// dozen or more. Encoding and decoding every field was a sixth of a pack replay.
// Fields run to the end of the copy.
void encode_buffered(std::string& out, const ingest::event& e, const std::vector<ingest::field_id>& kept) {
  using w = raw_encoder;
  // The kept fields, found once: a correlation reads a few of the event's dozen or more.
  absl::InlinedVector<const ingest::field*, 32> chosen;
  std::size_t bound = w::max_bytes(e.channel.size()) + w::max_bytes(e.source.topic.size()) + 3 * w::max_u64;
  for (const auto& f : e.fields()) {
    if (std::find(kept.begin(), kept.end(), f.id) == kept.end()) continue;  // extras (no_field) never are
    chosen.push_back(&f);
    bound += 2 * w::max_u64 + w::max_bytes(f.value.text.size()) + w::max_f64;
  }
  append_encoded(out, bound, [&](raw_encoder& w) {
    w.bytes(e.channel);
    w.bytes(e.source.topic);
    w.i64(e.source.partition);
    w.i64(e.source.offset);
    w.i64(e.time);
    for (const ingest::field* f_ptr : chosen) {
      const ingest::field& f = *f_ptr;
      w.u64(f.id);
      w.u64(static_cast<std::uint64_t>(f.value.kind));
      w.bytes(f.value.text);
      if (f.value.kind == ingest::value_kind::number) w.f64(f.value.number);
    }
  });
}

// Decodes a buffered copy into `e` (cleared first); e's text points into `in`,
// which must outlive e's use.
void decode_buffered(std::string_view in, ingest::event& e) {
  e.clear();
  decoder_view d(in);
  e.channel = d.bytes();
  e.source.topic = d.bytes();
  e.source.partition = static_cast<std::int32_t>(d.i64());
  e.source.offset = d.i64();
  e.time = d.i64();
  auto& names = ingest::field_table::global();
  while (!d.at_end()) {
    auto id = static_cast<ingest::field_id>(d.u64());
    ingest::field_value v;
    v.kind = static_cast<ingest::value_kind>(d.u64());
    v.text = d.bytes();
    if (v.kind == ingest::value_kind::number) v.number = d.f64();
    if (d.failed()) break;
    e.append_view(id, names.name(id), v);
  }
}

evidence decode_evidence(std::string_view in) {
  ingest::event e;
  decode_event(in, e);
  return evidence::of(e);
}

}  // namespace

struct engine::compiled {
  using target = engine::target;
  struct detection {
    const rules::detection_rule* rule;
    std::string id;
    bool generates = true;
    std::vector<target> feeds;
    std::vector<ingest::field_id> fields_read;  // by the correlations it feeds
    std::uint64_t matches = 0;
  };
  struct correlation {
    const rules::correlation_rule* rule;
    std::string id;
    std::unique_ptr<correlate::op> operation;
    timestamp_ns timespan = 0;
    timestamp_ns suppress = 0;
    std::vector<std::string> group_names;
    std::vector<std::vector<ingest::field_id>> group_fields;  // [rule index][group-by]
    std::vector<ingest::field_id> value_field;                // [rule index]
    bool generates = true;
    bool descending = false;  // feed an event's rules last-first (ordered sequences)
    std::vector<target> downstream;
    std::uint64_t matches = 0;
  };
  std::vector<detection> detections;
  absl::flat_hash_map<const rules::detection_rule*, std::size_t> detection_index;  // looked up per match
  flat_string_map<std::size_t> detection_by_id;  // looked up per released event: by view
  std::vector<correlation> correlations;
  flat_string_map<std::size_t> correlation_by_id;
  timestamp_ns retention = 0;  // how long evidence must outlive its event
  const rules::rule_set* rules = nullptr;
  std::map<std::string, std::map<std::string, std::pair<double, double>>> location_tables;
};

engine::engine(const rules::rule_set& rules, engine_options options, std::vector<std::string>* problems)
    : c_(std::make_unique<compiled>()), options_(std::move(options)), now_(wall_clock_now) {
  c_->rules = &rules;
  if (!options_.locations) {
    options_.locations = [this](const std::string& path) -> result<const std::map<std::string, std::pair<double, double>>*> {
      auto it = c_->location_tables.find(path);
      if (it == c_->location_tables.end()) {
        auto table = load_location_table(path);
        if (!table) return table.err();
        it = c_->location_tables.emplace(path, std::move(table).value()).first;
      }
      return &it->second;
    };
  }
  auto report = [&](std::string msg) {
    if (problems) problems->push_back(std::move(msg));
  };
  for (const auto& d : rules.detections()) {
    c_->detection_index[d.get()] = c_->detections.size();
    c_->detections.push_back({d.get(), rule_key(d->info()), true, {}});
  }
  for (std::size_t i = 0; i < c_->detections.size(); ++i) {
    const auto& info = c_->detections[i].rule->info();
    for (const std::string* k : {&info.id, &info.name})
      if (!k->empty()) c_->detection_by_id.emplace(*k, i);
  }
  op_registry registry;
  register_builtin_ops(registry);
  auto& names = ingest::field_table::global();
  for (const auto& r : rules.correlations()) {
    compiled::correlation c;
    c.rule = &r;
    c.id = rule_key(r);
    std::string where = r.file + ":" + std::to_string(r.line) + ": correlation '" + c.id + "': ";
    const op_factory* factory = registry.find(r.type);
    if (!factory) {
      report(where + "unknown type '" + r.type + "'");
      continue;
    }
    c.timespan = r.timespan_ns.value_or(0);
    // Repeats of a rule and group stay quiet this long; a new value is never a repeat.
    c.suppress = r.suppress_ns.value_or(r.type == "first_seen" ? 0 : c.timespan);
    op_context ctx{r, c.timespan, {}, options_.locations};
    // Risk scores: the correlation's `scores`, else each referenced rule's risk_score.
    for (const auto& ref : r.rules) {
      double score = 0;
      if (const rules::detection_rule* d = rules.find(ref); d && d->info().risk_score) score = *d->info().risk_score;
      for (const auto& [name, value] : r.scores)
        if (name == ref) score = value;
      ctx.scores.push_back(score);
    }
    auto built = (*factory)(ctx);
    if (!built) {
      report(where + built.message());
      continue;
    }
    c.operation = std::move(built).value();
    c.generates = rules.generates_alerts(r);
    c.descending = r.type == "temporal_ordered";
    c.group_names = r.group_by;
    for (const auto& ref : r.rules) {
      std::vector<ingest::field_id> fields;
      for (const auto& g : r.group_by) fields.push_back(names.intern(r.field_for(g, ref)));
      c.group_fields.push_back(std::move(fields));
      c.value_field.push_back(r.field ? names.intern(r.field_for(*r.field, ref)) : ingest::no_field);
    }
    c_->correlation_by_id[c.id] = c_->correlations.size();
    if (!r.name.empty()) c_->correlation_by_id.emplace(r.name, c_->correlations.size());
    c_->retention = std::max(c_->retention, c.timespan);
    c_->correlations.push_back(std::move(c));
  }
  // Wire references: detections and correlations feed the correlations that name them.
  for (std::size_t ci = 0; ci < c_->correlations.size(); ++ci) {
    auto& c = c_->correlations[ci];
    for (std::size_t ri = 0; ri < c.rule->rules.size(); ++ri) {
      const std::string& ref = c.rule->rules[ri];
      if (auto it = c_->detection_by_id.find(ref); it != c_->detection_by_id.end()) {
        auto& d = c_->detections[it->second];
        d.feeds.push_back({ci, ri});
        std::vector<ingest::field_id> read = c.operation->event_fields_read();
        read.insert(read.end(), c.group_fields[ri].begin(), c.group_fields[ri].end());
        read.push_back(c.value_field[ri]);
        for (ingest::field_id id : read) add_field_once(d.fields_read, id);
      } else if (auto jt = c_->correlation_by_id.find(ref); jt != c_->correlation_by_id.end()) {
        c_->correlations[jt->second].downstream.push_back({ci, ri});
      } else {
        report(c.rule->file + ":" + std::to_string(c.rule->line) + ": correlation '" + c.id +
               "' references unknown rule '" + ref + "'");
      }
    }
  }
  // Sigma: a referenced rule alerts on its own only when a correlation naming it says generate: true.
  auto forced = [&](const std::string& id) {
    return std::find(options_.always_alert.begin(), options_.always_alert.end(), id) != options_.always_alert.end();
  };
  for (auto& d : c_->detections) d.generates = rules.generates_alerts(*d.rule) || forced(d.id);
  for (auto& c : c_->correlations) c.generates = c.generates || forced(c.id);
  c_->retention = c_->retention * 2 + options_.evidence_margin;
}

engine::~engine() = default;

std::vector<ingest::source_position> engine::positions_of(const std::vector<std::string>& evidence_keys) {
  std::vector<ingest::source_position> positions;
  for (const auto& k : evidence_keys)
    if (auto from = evidence_source(k)) positions.push_back(*from);
  return positions;
}

void engine::add_evidence(alert& a, const std::vector<std::string>& evidence_keys, state_view& state) {
  if (options_.reread) {
    for (const auto& k : evidence_keys) {
      auto from = evidence_source(k);
      ingest::event e;
      if (from && options_.reread(*from, e)) {
        a.events.push_back(evidence::of(e));
      } else {
        ++counts_.unreadable;
        ++a.evidence_unavailable;
      }
    }
  } else {
    // Together: most of an alert's events are on disk by now, and one batched
    // read finds them for a fraction of a lookup each (a point read per event was
    // a ninth of a drain's loop thread).
    std::vector<std::string> keys;
    keys.reserve(evidence_keys.size());
    for (const auto& k : evidence_keys) keys.push_back(std::string(evidence_prefix) + k);
    std::vector<std::optional<std::string>> values;
    state.get_many(keys, values);
    for (const auto& v : values)
      if (v) a.events.push_back(decode_evidence(*v));
  }
  std::stable_sort(a.events.begin(), a.events.end(), [](const auto& x, const auto& y) { return x.time < y.time; });
}

void engine::emit_pending(state_view& state, alert_sink& out) {
  if (pending_.empty()) return;
  if (options_.prefetch) {
    std::vector<ingest::source_position> all;
    for (const auto& p : pending_) {
      auto some = positions_of(p.evidence_keys);
      all.insert(all.end(), some.begin(), some.end());
    }
    options_.prefetch(all);
  }
  for (auto& p : pending_) {
    add_evidence(p.raised, p.evidence_keys, state);
    out.emit(p.raised);
  }
  pending_.clear();
}

// Buffered events kept by reference are read back from their source, together.
// One the source no longer holds cannot be correlated: it is counted, not hidden.
void engine::restore_references(const std::vector<std::pair<std::string, std::string>>& references) {
  if (references.empty()) return;
  std::vector<std::optional<ingest::source_position>> at;
  std::vector<ingest::source_position> positions;
  at.reserve(references.size());
  for (const auto& [key, ids] : references)
    if ((at.emplace_back(evidence_source(key)))) positions.push_back(*at.back());
  if (options_.reread && options_.prefetch) options_.prefetch(positions);
  ingest::event e;
  for (std::size_t i = 0; i < references.size(); ++i) {
    const auto& [key, ids] = references[i];
    if (!at[i] || !options_.reread || !options_.reread(*at[i], e)) {
      ++counts_.unreadable;
      continue;
    }
    fields_read_by(ids, scratch_fields_);
    auto& slot = buffer_.stage();
    slot.key = key;
    slot.rule_ids = ids;
    encode_buffered(slot.event, e, scratch_fields_);
    buffer_.insert_staged();
    ++counts_.restored_by_reference;
  }
}

void engine::fields_read_by(std::string_view rule_ids, std::vector<ingest::field_id>& out) const {
  out.clear();
  while (!rule_ids.empty()) {
    auto nl = rule_ids.find('\n');
    auto it = c_->detection_by_id.find(rule_ids.substr(0, nl));
    rule_ids.remove_prefix(nl == std::string_view::npos ? rule_ids.size() : nl + 1);
    if (it == c_->detection_by_id.end()) continue;  // removed by a reload: feeds nothing now
    for (ingest::field_id id : c_->detections[it->second].fields_read) add_field_once(out, id);
  }
}

void engine::expect_partition(std::string_view partition) {
  inputs_.try_emplace(std::string(partition));
}

void engine::forget_partition(std::string_view partition, state_view& state) {
  if (auto it = inputs_.find(partition); it != inputs_.end()) inputs_.erase(it);
  state.erase(std::string(input_prefix) + std::string(partition));
}

void engine::restore(state_view& state) {
  for (auto& r : releasing_) {
    if (r.entry) buffer_.recycle(r.entry);
    r.entry = nullptr;
    r.event.clear();
  }
  buffer_.clear();
  timers_.clear();
  if (auto wm = state.get("w")) {
    decoder_view d(*wm);
    watermark_ = d.i64();
  }
  // Reorder entries of earlier versions: the rules an event matched (its evidence
  // under e/), or, older still, the whole event. Either becomes evidence that
  // carries its rules. Collected first: rewriting mid-scan is not allowed.
  std::vector<std::pair<std::string, std::string>> reorder;
  state.for_each(reorder_prefix, [&](std::string_view k, std::string_view v) {
    reorder.emplace_back(k.substr(reorder_prefix.size()), v);
  });
  ingest::event e;
  for (auto& [key, value] : reorder) {
    std::string rule_ids;
    if (auto stored = state.get(std::string(evidence_prefix) + key)) {
      rule_ids = value;
      decode_event(*stored, e);
    } else {
      rule_ids = decode_event(value, e);
    }
    std::string event;
    encode_event(event, e, rule_ids);
    state.put(std::string(evidence_prefix) + key, event, e.time + c_->retention);
    state.erase(std::string(reorder_prefix) + key);
  }
  // What waits is the evidence after the watermark (all of it if there is none yet).
  std::string from(evidence_prefix);
  if (watermark_ != INT64_MIN && watermark_ != INT64_MAX) append_ordered_time(from, watermark_ + 1);
  std::vector<std::pair<std::string, std::string>> references;  // key after e/, rule ids
  state.for_each_from(evidence_prefix, from, [&](std::string_view k, std::string_view v) {
    if (auto ids = reference_rule_ids(v)) {
      if (!ids->empty()) references.emplace_back(k.substr(evidence_prefix.size()), *ids);
      return;
    }
    std::string_view rule_ids = decode_event(v, e);
    if (rule_ids.empty()) return;  // written by a version that kept rules in r/: already released
    fields_read_by(rule_ids, scratch_fields_);
    auto& slot = buffer_.stage();
    slot.key = k.substr(evidence_prefix.size());
    slot.rule_ids = rule_ids;
    encode_buffered(slot.event, e, scratch_fields_);
    buffer_.insert_staged();
  });
  // The reorder buffer kept as one record per batch: what is newer than the
  // watermark waits again; a record whose events were all released before the
  // restart goes at the next advance().
  batch_buffered_.clear();
  records_.clear();
  next_record_ = 0;
  state.for_each(record_prefix, [&](std::string_view k, std::string_view v) {
    std::uint64_t sequence = 0;
    for (char c : k.substr(record_prefix.size())) sequence = sequence << 8 | static_cast<unsigned char>(c);
    next_record_ = std::max(next_record_, sequence + 1);
    timestamp_ns latest = INT64_MIN;
    bool readable = for_each_buffered(v, [&](std::string_view key, std::string_view ids) {
      if (key.size() < 8) return;
      timestamp_ns t = evidence_time(key);
      latest = std::max(latest, t);
      if (watermark_ == INT64_MIN || t > watermark_) references.emplace_back(key, ids);
    });
    // Not one this version wrote: left to expire, and counted, not hidden.
    if (!readable) ++counts_.unreadable;
    else records_.push_back({sequence, latest});
  });
  restore_references(references);
  state.for_each(timer_prefix, [&](std::string_view k, std::string_view) {
    timers_.emplace(std::string(k.substr(timer_prefix.size())), 1);
  });
  state.for_each(input_prefix, [&](std::string_view k, std::string_view v) {
    decoder_view d(v);
    auto& in = inputs_[std::string(k.substr(input_prefix.size()))];
    in.max_time = in.persisted = d.i64();
  });
  counts_.buffered = buffer_.size();
}

alert engine::detection_alert(const rules::detection_rule& rule, const ingest::event& e) const {
  const rules::rule_info& info = rule.info();
  alert a;
  a.rule_id = rule_key(info);
  a.rule_title = info.title;
  a.level = info.level;
  a.tags = info.tags;
  a.type = "detection";
  if (info.loss_exposure)
    a.loss_exposure = alert::exposure{info.loss_exposure->low, info.loss_exposure->high, info.loss_exposure->currency};
  for (std::string_view name : entity_fields) {
    const ingest::field_value* v = e.get(name);
    // "-" is how logs say "nobody"; it names no entity.
    if (v && !v->text.empty() && v->text != "-") {
      a.group.emplace_back(name, v->text);
      break;
    }
  }
  a.first_seen = a.last_seen = e.time;
  a.emitted_at = now_();
  a.count = 1;
  a.events.push_back(evidence::of(e));
  // Identity of a single-event alert: the rule and the minimised event itself,
  // so the same input replayed from Kafka or from a file gives the same id.
  std::string fingerprint;
  fingerprint.reserve(512);
  for (const auto& f : e.fields()) {
    fingerprint.append(f.name).push_back('\x1f');
    fingerprint.append(f.value.text).push_back('\x1e');
  }
  a.id = stable_id({a.rule_id, e.channel, std::to_string(e.time), fingerprint});
  return a;
}

const rules::rule_set& engine::rule_set() const { return *c_->rules; }

std::vector<rule_match_count> engine::rule_matches() const {
  std::vector<rule_match_count> out;
  out.reserve(c_->detections.size() + c_->correlations.size());
  for (const auto& d : c_->detections) out.push_back({d.id, "detection", d.matches});
  for (const auto& c : c_->correlations) out.push_back({c.id, "correlation", c.matches, c.operation->pushed_out()});
  return out;
}

void engine::on_event(const ingest::event& e, std::string_view partition, state_view& state, alert_sink& out,
                      event_completion* completion) {
  // Stage 1: detections, at once. The rule ids, key and copy are built in the
  // buffer's next free entry, whose strings keep their capacity: buffering an
  // event allocates nothing. A late or uncorrelated event leaves it unused.
  reorder_buffer::entry& slot = buffer_.stage();
  std::string& rule_ids = slot.rule_ids;
  scratch_fields_.clear();
  for (const rules::detection_rule* rule : c_->rules->candidates(e.channel, e)) {
    if (!rule->matches(e)) continue;
    if (completion) {  // the event will be kept (alert, evidence): finish minimising it first
      completion->complete();
      completion = nullptr;
    }
    ++counts_.detection_matches;
    auto& d = c_->detections[c_->detection_index.at(rule)];
    ++d.matches;
    if (d.generates) {
      ++counts_.detection_alerts;
      out.emit(detection_alert(*rule, e));
    }
    if (!d.feeds.empty()) {
      if (!rule_ids.empty()) rule_ids.push_back('\n');
      rule_ids += d.id;
      for (ingest::field_id id : d.fields_read) add_field_once(scratch_fields_, id);
    }
  }
  // The input's event time moves the watermark, whether or not the event correlates.
  // Look up before inserting: building a key string per event would allocate.
  auto it = inputs_.find(partition);
  if (it == inputs_.end()) it = inputs_.emplace(std::string(partition), input{}).first;
  // When it spoke is stamped by the next advance() (with its wall clock), not here:
  // a clock read per event was 1.5% of a broker drain's loop thread.
  it->second.spoke = true;
  // Made durable by advance(), once per batch rather than once per event.
  if (e.time > it->second.max_time) it->second.max_time = e.time;
  if (rule_ids.empty()) return;
  if (e.time <= watermark_ && watermark_ != INT64_MIN) {
    // Behind what has been released: correlating it now would reorder history.
    ++counts_.late;
    if (late_) late_(e, watermark_);
    return;
  }
  // Stage 2 waits: buffer in event-time order (ties broken by content, then source).
  std::string& key = slot.key;
  append_evidence_key(key, e);
  // The event is written once, as the evidence alerts will cite, with the rules
  // it matched: until the watermark passes it, that entry is its place in the
  // reorder buffer too (restore() reads the buffer back from it). Inputs that
  // can be read again keep only its key and rules, in the batch's record.
  if (!options_.reread) {
    std::string& stored = scratch_event_;
    stored.clear();
    encode_event(stored, e, rule_ids);
    scratch_evidence_key_.assign(evidence_prefix).append(key);  // no key string built per event
    state.put(scratch_evidence_key_, stored, e.time + c_->retention);
  } else if (options_.durable_references) {
    batch_buffered_.add(key, rule_ids);  // written by the next advance(), with the batch
  }
  encode_buffered(slot.event, e, scratch_fields_);  // sized once, by encode_buffered's bound
  buffer_.insert_staged();
  counts_.buffered = buffer_.size();
  counts_.buffered_peak = std::max(counts_.buffered_peak, counts_.buffered);
  ++counts_.buffered_total;
}

void engine::write_buffered_record(state_view& state) {
  if (batch_buffered_.empty()) return;
  // Deleted once released; the expiry is a backstop for an engine that never
  // advances again (its evidence expires then too).
  state.put(record_key(next_record_), batch_buffered_.encode(), batch_buffered_.latest() + c_->retention);
  records_.push_back({next_record_++, batch_buffered_.latest()});
  batch_buffered_.clear();
}

void engine::drop_released_records(timestamp_ns released_until, state_view& state) {
  std::erase_if(records_, [&](const written_record& r) {
    if (r.latest > released_until) return false;
    state.erase(record_key(r.sequence));
    return true;
  });
}

void engine::advance(timestamp_ns wall_now, state_view& state, alert_sink& out, const caught_up_fn& caught_up,
                     std::size_t release_at_most) {
  // First, before any return: the caller makes the batch durable after this.
  write_buffered_record(state);
  release_pending_ = false;
  timestamp_ns slowest = INT64_MAX, newest = INT64_MIN;
  bool any = false;
  for (auto& [name, in] : inputs_) {
    if (in.max_time != in.persisted) {
      std::string v;
      encoder(v).i64(in.max_time);
      state.put(std::string(input_prefix) + name, v, forever);
      in.persisted = in.max_time;
    }
    newest = std::max(newest, in.max_time);
    if (in.spoke) in.last_wall = wall_now;  // spoke since the last advance (within one batch of now)
    in.spoke = false;
    if (in.last_wall == 0) in.last_wall = wall_now;  // restored or expected: silence counts from now
    bool idle = wall_now - in.last_wall > options_.idle_timeout && (!caught_up || caught_up(name));
    if (idle) continue;
    any = true;
    slowest = std::min(slowest, in.max_time);
  }
  timestamp_ns wm;
  if (any) {
    if (slowest == INT64_MIN) return;  // an input has not spoken yet
    wm = slowest - options_.allowed_lateness;
  } else {
    // Every input is quiet: nothing more is on its way, so the tail need not
    // wait for traffic that may not come. Event time moves to the newest seen.
    if (newest == INT64_MIN) return;
    wm = newest;
  }
  if (wm <= watermark_) return;
  // Stopped short, the watermark is the last released event's time: everything
  // buffered is later, so what follows is as if the inputs had allowed only that.
  if (auto reached = release_until(wm, state, out, release_at_most); reached < wm) {
    wm = reached;
    release_pending_ = true;
  }
  fire_timers_until(wm, /*inclusive=*/true, state, out);
  flush_operations(state);
  emit_pending(state, out);
  watermark_ = wm;
  drop_released_records(wm, state);
  std::string v;
  encoder(v).i64(wm);
  state.put("w", v, forever);
  state.set_now(wm);
}

void engine::flush(state_view& state, alert_sink& out) {
  // Everything buffered is released now: no record of it need be kept.
  batch_buffered_.clear();
  drop_released_records(INT64_MAX, state);
  release_until(INT64_MAX, state, out);
  fire_timers_until(INT64_MAX, true, state, out);
  flush_operations(state);
  emit_pending(state, out);
}

void engine::flush_operations(state_view& state) {
  for (auto& c : c_->correlations) c.operation->flush(state);
}

timestamp_ns engine::release_until(timestamp_ns limit, state_view& state, alert_sink& out, std::size_t at_most) {
  // Events are taken out, decoded and planned two steps ahead of their
  // correlation, and the state their matches will read is prefetched in two
  // stages meanwhile: where it is, then the value. With the state larger than
  // the cache, waiting for it was most of a lookup.
  using stage = state_view::prefetch_stage;
  at_most = std::max<std::size_t>(at_most, 1);
  std::size_t taken_count = 0;
  timestamp_ns last_taken = INT64_MIN;
  bool stopped_short = false;
  auto take = [&](released& r) {
    if (buffer_.empty()) return false;
    const timestamp_ns next = read_ordered_time(buffer_.first_key());
    if (next > limit) return false;
    // Events that share a time go together, so the watermark can stop between them.
    if (taken_count >= at_most && next != last_taken) {
      stopped_short = true;
      return false;
    }
    ++taken_count;
    last_taken = next;
    if (r.entry) buffer_.recycle(r.entry);  // the event it held is done
    r.entry = buffer_.take_first();
    decode_buffered(r.entry->event, r.event);  // the entry outlives the event's use
    plan_matches(r.event, r.entry->rule_ids, r.plan, r.planned);
    for (std::size_t i = 0; i < r.planned; ++i) state.prefetch(r.plan[i].key, stage::lookup);
    return true;
  };
  auto prefetch_values = [&](const released& r) {
    for (std::size_t i = 0; i < r.planned; ++i) state.prefetch(r.plan[i].key, stage::value);
  };
  bool taken[3] = {take(releasing_[0]), false, false};
  taken[1] = taken[0] && take(releasing_[1]);
  for (std::size_t i = 0; taken[i % 3]; ++i) {
    released& current = releasing_[i % 3];
    taken[(i + 2) % 3] = taken[(i + 1) % 3] && take(releasing_[(i + 2) % 3]);  // frees the one before current
    if (taken[(i + 1) % 3]) prefetch_values(releasing_[(i + 1) % 3]);
    const std::string& key = current.entry->key;
    timestamp_ns t = read_ordered_time(key);
    // Timers due strictly before this event fire first: an event at the deadline still counts.
    fire_timers_until(t, /*inclusive=*/false, state, out);
    state.set_now(std::max(watermark_, t - options_.allowed_lateness));
    correlate_planned(current.event, key, current.plan, current.planned, state, out);
  }
  buffer_.trim();
  counts_.buffered = buffer_.size();
  return stopped_short ? last_taken : limit;
}

void engine::fire_timers_until(timestamp_ns limit, bool inclusive, state_view& state, alert_sink& out) {
  while (!timers_.empty()) {
    auto it = timers_.begin();
    timestamp_ns deadline = read_ordered_time(it->first);
    if (deadline > limit || (!inclusive && deadline == limit)) break;
    std::string full = std::string(timer_prefix) + it->first;
    std::string rest = it->first.substr(8);
    timers_.erase(it);
    state.erase(full);
    auto sep = rest.find('\x1e');
    if (sep == std::string::npos) continue;
    auto ci = c_->correlation_by_id.find(rest.substr(0, sep));
    if (ci == c_->correlation_by_id.end()) continue;  // rule removed by a reload
    std::string group = rest.substr(sep + 1);
    auto& c = c_->correlations[ci->second];
    std::string key = std::string(op_prefix) + c.id + '\x1e' + group;
    if (auto f = c.operation->on_timer(deadline, key, state)) emit(ci->second, group, *f, state, out);
  }
}

void engine::plan_matches(const ingest::event& e, std::string_view rule_ids, std::vector<planned_match>& plan,
                          std::size_t& planned) {
  // Which (correlation, rule index) pairs this event feeds, last rule first so one
  // event cannot fill two steps of an ordered sequence.
  std::vector<target>& targets = scratch_targets_;
  targets.clear();
  while (!rule_ids.empty()) {
    auto nl = rule_ids.find('\n');
    std::string_view id = rule_ids.substr(0, nl);
    rule_ids.remove_prefix(nl == std::string_view::npos ? rule_ids.size() : nl + 1);
    auto it = c_->detection_by_id.find(id);
    if (it == c_->detection_by_id.end()) continue;
    for (const auto& t : c_->detections[it->second].feeds) targets.push_back(t);
  }
  std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) {
    return a.corr != b.corr ? a.corr < b.corr : a.rule_index > b.rule_index;
  });
  planned = 0;
  for (const auto& t : targets) {
    auto& c = c_->correlations[t.corr];
    if (planned == plan.size()) plan.emplace_back();
    planned_match& p = plan[planned];
    p.to = t;
    p.key.assign(op_prefix).append(c.id).push_back('\x1e');
    p.group_at = p.key.size();
    bool complete = true;
    for (std::size_t g = 0; g < c.group_fields[t.rule_index].size(); ++g) {
      const ingest::field_value* v = e.get(c.group_fields[t.rule_index][g]);
      if (!v || v->kind == ingest::value_kind::null || v->text.empty() || v->text == "-") {
        complete = false;  // events without the group's fields do not correlate
        break;
      }
      if (g) p.key.push_back(group_separator);
      p.key.append(v->text);
    }
    if (complete) ++planned;
  }
}

void engine::correlate_planned(const ingest::event& e, std::string_view evidence_key,
                               const std::vector<planned_match>& plan, std::size_t planned, state_view& state,
                               alert_sink& out) {
  for (std::size_t i = 0; i < planned; ++i) {
    const planned_match& p = plan[i];
    const auto& c = c_->correlations[p.to.corr];
    match m;
    m.rule_index = p.to.rule_index;
    m.time = e.time;
    m.event = &e;
    m.evidence_key = evidence_key;
    if (ingest::field_id f = c.value_field[p.to.rule_index]; f != ingest::no_field) {
      if (const ingest::field_value* v = e.get(f)) {
        m.field_text = v->text;
        if (v->kind == ingest::value_kind::number) m.field_number = v->number;
      }
    }
    m.group_key = std::string_view(p.key).substr(p.group_at);
    feed_keyed(p.to.corr, m, p.key, state, out);
  }
}

void engine::feed(std::size_t corr, const match& m, state_view& state, alert_sink& out) {
  // A chain's downstream feed() reuses this key, but only after on_match is done with it.
  std::string& key = scratch_op_key_;
  key.assign(op_prefix).append(c_->correlations[corr].id).append(1, '\x1e').append(m.group_key);
  feed_keyed(corr, m, key, state, out);
}

void engine::feed_keyed(std::size_t corr, const match& m, std::string_view key, state_view& state,
                        alert_sink& out) {
  auto& c = c_->correlations[corr];
  ++counts_.correlation_matches;
  ++c.matches;
  if (auto deadline = c.operation->timer_after(m)) {
    std::string tkey;
    append_ordered_time(tkey, *deadline);
    tkey += c.id;
    tkey.push_back('\x1e');
    tkey.append(m.group_key);
    state.put(std::string(timer_prefix) + tkey, "1", forever);
    timers_.emplace(std::move(tkey), 1);
  }
  if (auto f = c.operation->on_match(m, key, state)) emit(corr, m.group_key, *f, state, out);
}

void engine::emit(std::size_t corr, std::string_view group_key, const firing& f, state_view& state, alert_sink& out) {
  auto& c = c_->correlations[corr];
  // Suppression: one alert per rule and group per period, in event time.
  std::string skey = std::string(suppress_prefix) + c.id + '\x1e' + std::string(group_key);
  if (c.suppress > 0) {
    if (auto last = state.get(skey)) {
      decoder_view d(*last);
      if (f.last_seen - d.i64() < c.suppress) {
        ++counts_.suppressed;
        return;
      }
    }
    std::string v;
    encoder(v).i64(f.last_seen);
    // Kept a timespan past the period: an absence fires when its timespan has
    // passed its last_seen, and by then event time may be past last_seen +
    // suppress while a repeat within the period can still come. Expired sooner,
    // the entry was gone or not depending on how far the watermark had moved.
    state.put(skey, v, f.last_seen + c.suppress + c.timespan);
  }
  ++counts_.correlation_firings;
  std::vector<std::string> group_values;
  {
    std::string_view rest = group_key;
    while (true) {
      auto sep = rest.find(group_separator);
      group_values.emplace_back(rest.substr(0, sep));
      if (sep == std::string_view::npos) break;
      rest.remove_prefix(sep + 1);
    }
  }
  if (c.generates) {
    ++counts_.correlation_alerts;  // a chain's inner links fire without alerting
    alert a;
    a.rule_id = c.id;
    a.rule_title = c.rule->title;
    a.level = c.rule->level;
    a.tags = c.rule->tags;
    a.type = c.rule->type;
    if (const auto& x = c.rule->loss_exposure) a.loss_exposure = alert::exposure{x->low, x->high, x->currency};
    for (std::size_t g = 0; g < c.group_names.size() && g < group_values.size(); ++g)
      a.group.emplace_back(c.group_names[g], group_values[g]);
    a.first_seen = f.first_seen;
    a.last_seen = f.last_seen;
    a.emitted_at = now_();
    a.count = f.count;
    a.value = f.value;
    a.id = stable_id({a.rule_id, group_key, f.window_id});
    if (options_.reread && options_.batch_evidence) {
      // Its evidence is read while the rest of the advance runs (a drain spent
      // up to 40% of its batches waiting for these reads at the advance's end).
      if (options_.prefetch_early) options_.prefetch_early(positions_of(f.evidence_keys));
      pending_.push_back({std::move(a), f.evidence_keys});
    } else {
      if (options_.reread && options_.prefetch) options_.prefetch(positions_of(f.evidence_keys));
      add_evidence(a, f.evidence_keys, state);
      out.emit(a);
    }
  }
  // Chains: this correlation's firing is a match for the correlations that name it.
  for (const auto& t : c.downstream) {
    auto& d = c_->correlations[t.corr];
    std::string group;
    bool complete = true;
    for (std::size_t g = 0; g < d.group_names.size(); ++g) {
      // The downstream group-by field, as this correlation's rule calls it (aliases).
      std::string_view wanted = ingest::field_table::global().name(d.group_fields[t.rule_index][g]);
      auto pos = std::find(c.group_names.begin(), c.group_names.end(), wanted);
      if (pos == c.group_names.end()) pos = std::find(c.group_names.begin(), c.group_names.end(), d.group_names[g]);
      if (pos == c.group_names.end()) {
        complete = false;
        break;
      }
      if (g) group.push_back(group_separator);
      group += group_values[static_cast<std::size_t>(pos - c.group_names.begin())];
    }
    if (!complete) continue;
    match m;
    m.rule_index = t.rule_index;
    m.time = f.last_seen;
    m.group_key = group;
    if (!f.evidence_keys.empty()) m.evidence_key = f.evidence_keys.back();
    if (f.value) m.field_number = f.value;
    feed(t.corr, m, state, out);
  }
}

}  // namespace sentrail::correlate
