#pragma once
// The seam stateful correlation plugs into (Kafka Streams' Processor + StateStore):
// an operator holds no state of its own and sees storage only through a
// state_view, whose writes commit atomically with the offsets that caused them.
// Operators receive matches in event-time order (the engine reorders within the
// allowed lateness), so shuffled input gives the alerts sorted input gives.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "correlate/alert.h"
#include "ingest/event.h"
#include "rules/rule.h"

namespace sentrail::correlate {

/// Keyed state. Values carry an event-time expiry: once the watermark passes it
/// the value is gone (compaction drops it on disk; get() stops returning it).
class state_view {
 public:
  virtual ~state_view() = default;
  virtual std::optional<std::string_view> get(std::string_view key) = 0;
  virtual void put(std::string_view key, std::string_view value, timestamp_ns expires) = 0;
  virtual void erase(std::string_view key) = 0;
  using visitor = std::function<void(std::string_view key, std::string_view value)>;
  /// Visits every live key starting with `prefix` and not below `from`, in key order.
  virtual void for_each_from(std::string_view prefix, std::string_view from, const visitor& fn) = 0;
  /// Visits every live key starting with `prefix`, in key order.
  void for_each(std::string_view prefix, const visitor& fn) { for_each_from(prefix, prefix, fn); }
  /// The watermark values are expired against.
  virtual void set_now(timestamp_ns watermark) = 0;
  /// How soon a prefetched key will be read.
  enum class prefetch_stage {
    lookup,  // after the next few reads: start loading where the key is found
    value,   // next: start loading its value (after a lookup hint, ideally)
  };
  /// A hint that `key` will be read: an implementation may start loading it into
  /// the cache. Changes nothing and holds nothing; by default, does nothing.
  virtual void prefetch(std::string_view key, prefetch_stage stage) { (void)key, (void)stage; }
  /// Several keys read together (an alert's evidence): `values[i]` for `keys[i]`,
  /// as get() would give it. A store may fetch the misses in one request; by
  /// default, one get() each.
  virtual void get_many(const std::vector<std::string>& keys, std::vector<std::optional<std::string>>& values) {
    values.clear();
    for (const auto& k : keys) {
      auto v = get(k);
      values.push_back(v ? std::optional<std::string>(*v) : std::nullopt);
    }
  }
};

/// One input to a correlation: a referenced rule matched at `time` for a group.
struct match {
  std::size_t rule_index = 0;       // position in the correlation's `rules`
  timestamp_ns time = 0;
  std::string_view group_key;       // group-by values joined by '\x1f'
  const ingest::event* event = nullptr;  // nullptr when a chained correlation matched
  std::string_view evidence_key;    // where the event's evidence is stored ("" for none)
  /// The value of the correlation's `field` for this match, if it has one.
  std::optional<std::string_view> field_text;
  std::optional<double> field_number;
};

/// What an operator reports when its condition holds.
struct firing {
  timestamp_ns first_seen = 0;
  timestamp_ns last_seen = 0;
  std::uint64_t count = 0;
  std::optional<double> value;
  std::vector<std::string> evidence_keys;  // oldest first, at most a few dozen
  std::string window_id;                    // what makes this alert distinct within its group
};

/// Compiled correlation step; `key` is "<rule>/<group>", unique to the rule and group.
class op {
 public:
  virtual ~op() = default;
  [[nodiscard]] virtual std::optional<firing> on_match(const match& m, std::string_view key,
                                                      state_view& state) = 0;
  /// Event time advanced to `watermark` with no match for `key` since its timer was set.
  [[nodiscard]] virtual std::optional<firing> on_timer(timestamp_ns deadline, std::string_view key,
                                                      state_view& state) {
    (void)deadline, (void)key, (void)state;
    return std::nullopt;
  }
  /// Fields of `match::event` this op reads beyond the correlation's group-by and
  /// `field`. An event waits in the reorder buffer with only the fields some
  /// correlation reads, so a field not named here is absent by the time it matches.
  virtual std::vector<ingest::field_id> event_fields_read() const { return {}; }
  /// Deadlines this op wants after a match (absence): the engine stores and fires them.
  virtual std::optional<timestamp_ns> timer_after(const match& m) const {
    (void)m;
    return std::nullopt;
  }
  /// Writes to `state` what the op holds in memory since the last flush. The
  /// engine calls it before anything else reads the state (the end of every
  /// advance() and flush()); ops that write through at once need not.
  virtual void flush(state_view& state) { (void)state; }
  /// Matches pushed out of a full window (rules::max_window_matches per group)
  /// since the op was built: counts saturate there. absence keeps its oldest
  /// waiting A's and counts the A's it turns away at the cap (no verdict).
  virtual std::uint64_t pushed_out() const { return 0; }
};

/// How a correlation type is built from its rule.
struct op_context {
  const rules::correlation_rule& rule;
  timestamp_ns timespan = 0;
  /// Risk score of each referenced rule, by position (risk).
  std::vector<double> scores;
  /// Lookup tables (e.g. store → location) by path, loaded once.
  std::function<result<const std::map<std::string, std::pair<double, double>>*>(const std::string&)> locations;
};

using op_factory = std::function<result<std::unique_ptr<op>>(const op_context&)>;

/// Correlation types by name. Explicit registration, called from the engine.
class op_registry {
 public:
  void add(std::string type, op_factory f) { factories_[std::move(type)] = std::move(f); }
  const op_factory* find(std::string_view type) const {
    auto it = factories_.find(std::string(type));
    return it == factories_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, op_factory> factories_;
};

/// Registers event_count, value_count, temporal, temporal_ordered, value_sum,
/// value_avg, value_percentile, absence, first_seen, geo_velocity, rate_anomaly,
/// risk and ratio.
void register_builtin_ops(op_registry& registry);

/// Reads a location table: CSV lines `id,lat,lon`; a header or blank line is skipped,
/// any other unparsable line is an error naming the file and line.
result<std::map<std::string, std::pair<double, double>>> load_location_table(const std::string& path);

/// An operator's stored state for one group, as JSON for people (`sentrail state inspect`):
/// {"window":[{"time","rule","value","text","evidence":[{"time","topic","partition","offset"}...]}...],
///  "mark","scalars":[a,b,c],"n"}. `read` gives the stored value of a key: a large
/// window keeps most of its entries in segments under keys of their own.
std::string describe_state(std::string_view key,
                           const std::function<std::optional<std::string>(std::string_view key)>& read);

}  // namespace sentrail::correlate
