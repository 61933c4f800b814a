#pragma once
// The correlation engine. Detection rules run on each event as it arrives and
// alert at once. Events that feed correlation rules wait in a reorder buffer
// until the watermark (the slowest active input's event time minus the allowed
// lateness) passes them, and are then fed to the operators in event-time order,
// so shuffled input within the lateness gives exactly the alerts sorted input
// gives. Everything the engine remembers lives in a state_view, so it is as
// durable as the store behind it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "correlate/alert.h"
#include "correlate/buffer_record.h"
#include "correlate/op.h"
#include "correlate/reorder_buffer.h"
#include "ingest/event.h"
#include "rules/rule.h"

namespace sentrail::correlate {

struct engine_options {
  timestamp_ns allowed_lateness = 5 * ns_per_second;  // Default: 5 s of event time
  /// An input partition silent this long (wall clock) stops holding the watermark back.
  timestamp_ns idle_timeout = 10 * ns_per_second;     // Default: 10 s
  /// How long evidence outlives the longest window, so alerts can still cite it.
  timestamp_ns evidence_margin = 24 * 3600 * ns_per_second;  // Default: 1 d
  /// Rules that alert even when a correlation references them (rule tests look at every rule's own output).
  std::vector<std::string> always_alert;
  /// Store/site → (lat, lon) tables for geo_velocity, by resolved path. Default:
  /// CSV files (`id,lat,lon`, header optional) read once, relative to the rule file.
  std::function<result<const std::map<std::string, std::pair<double, double>>*>(const std::string&)> locations;
  /// Reads an input event again, fully minimised, from where it came (replay's
  /// files, which outlive the run). With it, evidence is kept by reference: the
  /// engine stores no copy of correlated events in state and rereads the few
  /// that alerts cite. Without it (Kafka), each is stored under e/, which is
  /// also the durable reorder buffer. Returns false when the event is gone.
  std::function<bool(const ingest::source_position& from, ingest::event& out)> reread;
  /// With reread: positions about to be reread, so the source can fetch them in
  /// one pass rather than a round trip each (Kafka). Optional.
  std::function<void(const std::vector<ingest::source_position>&)> prefetch;
  /// With reread: keep the reorder buffer durable as references: each advance()
  /// writes one b/ entry with what was buffered since the last (each event's
  /// evidence key and the rules it matched, a few bytes where a copy was
  /// hundreds), deleted once the watermark has released all of it. restore()
  /// reads the events back through reread. For inputs that outlive a restart
  /// (Kafka topics); replay never restarts and writes nothing.
  bool durable_references = false;
  /// With reread from a source where each read is a round trip (Kafka): the
  /// correlation alerts one advance() or flush() raises go out at its end, their
  /// evidence read in one pass. Without it each goes out as raised.
  bool batch_evidence = false;
  /// With batch_evidence: where an alert's evidence is, as the alert is raised,
  /// so the source can start reading it while the engine correlates the rest;
  /// prefetch() with all of it follows at the end of the same advance() or
  /// flush(). Optional.
  std::function<void(const std::vector<ingest::source_position>&)> prefetch_early;
};

struct engine_counts {
  std::uint64_t detection_matches = 0;
  std::uint64_t detection_alerts = 0;
  std::uint64_t correlation_matches = 0;  // matches fed to correlation operators
  std::uint64_t correlation_firings = 0;  // conditions met (after suppression), alerting or not
  std::uint64_t correlation_alerts = 0;
  std::uint64_t suppressed = 0;           // repeats within a rule's suppression period
  std::uint64_t late = 0;                 // arrived behind the watermark: matched, not correlated
  std::uint64_t buffered = 0;             // waiting for the watermark now
  std::uint64_t buffered_peak = 0;        // the most that ever waited at once
  std::uint64_t buffered_total = 0;       // events ever put in the reorder buffer (each cited by reference, if at all)
  std::uint64_t unreadable = 0;           // by reference, gone from their source: not restored, or not cited
  std::uint64_t restored_by_reference = 0;  // buffered events read back from their source by restore()
};

/// How often one rule matched since its engine started.
struct rule_match_count {
  std::string_view rule_id;  // valid while the engine lives
  std::string_view kind;     // "detection" or "correlation"
  std::uint64_t matches = 0;
  std::uint64_t pushed_out = 0;  // correlations: matches pushed out of a full window (op::pushed_out)
};

/// Finishes an event that was minimised only in part (see engine::on_event).
class event_completion {
 public:
  virtual ~event_completion() = default;
  virtual void complete() = 0;
};

/// Told about events that arrived too late to be correlated.
using late_handler = std::function<void(const ingest::event&, timestamp_ns watermark)>;

class engine {
 public:
  /// Compiles the rule set's correlations; a correlation that cannot be built is
  /// reported in `problems` and left out, the rest run.
  engine(const rules::rule_set& rules, engine_options options, std::vector<std::string>* problems = nullptr);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Reloads the reorder buffer, timers and input watermarks from `state` (after a restart).
  void restore(state_view& state);

  /// An event as it arrives from input `partition` (e.g. "retail.pos/3"). With
  /// `completion`, `e` is minimised only in the fields rules read; the engine calls
  /// it once, on the first match, before it keeps or emits anything of `e`.
  void on_event(const ingest::event& e, std::string_view partition, state_view& state, alert_sink& out,
                event_completion* completion = nullptr);
  /// The rule set the engine runs.
  const rules::rule_set& rule_set() const;

  /// Whether an input has nothing more waiting for it (its consumer has caught up).
  using caught_up_fn = std::function<bool(std::string_view partition)>;

  /// Releases what the watermark allows. An input is idle, and stops holding the
  /// watermark back, when it has sent nothing for idle_timeout (wall clock) AND
  /// `caught_up` says nothing is waiting for it — a partition whose backlog the
  /// consumer has not reached yet is slow, not idle.
  ///
  /// Releases at most about `release_at_most` events (more only to finish those
  /// sharing the last one's time): the watermark then stops at that time, and
  /// release_pending() says the rest is due at the next call. When the watermark
  /// jumps (at start, until every input has spoken; when one goes idle), a batch
  /// correlates a bounded share rather than seconds of buffered traffic while
  /// the events behind it wait.
  void advance(timestamp_ns wall_now, state_view& state, alert_sink& out, const caught_up_fn& caught_up = {},
               std::size_t release_at_most = SIZE_MAX);
  /// The last advance() stopped short of what the watermark allowed.
  bool release_pending() const { return release_pending_; }

  /// End of input (replay): releases everything and fires every pending timer.
  void flush(state_view& state, alert_sink& out);

  /// Inputs that exist before they send anything (replay files, assigned Kafka
  /// partitions), so the watermark waits for them until they speak or go idle.
  void expect_partition(std::string_view partition);
  /// An input this engine no longer reads (a revoked partition) stops holding the watermark.
  void forget_partition(std::string_view partition, state_view& state);
  void set_late_handler(late_handler h) { late_ = std::move(h); }
  /// The clock alerts are stamped with.
  void set_clock(std::function<timestamp_ns()> now) { now_ = std::move(now); }

  timestamp_ns watermark() const { return watermark_; }
  const engine_counts& counts() const { return counts_; }
  /// Matches per rule, in a fixed order for one engine (detections, then correlations).
  std::vector<rule_match_count> rule_matches() const;

 private:
  struct compiled;
  /// A correlation and the position of a rule in it: where a match goes.
  struct target {
    std::size_t corr;
    std::size_t rule_index;
  };
  struct pending;
  /// Has every operator write what it holds in memory into `state` (op::flush).
  void flush_operations(state_view& state);
  /// Returns the event time released through: `limit`, or less when stopped at `at_most`.
  timestamp_ns release_until(timestamp_ns limit, state_view& state, alert_sink& out, std::size_t at_most = SIZE_MAX);
  void fire_timers_until(timestamp_ns limit, bool inclusive, state_view& state, alert_sink& out);
  /// What one released event will feed: each (correlation, rule) with its group's
  /// operator-state key. Planned two events ahead, so that state can be prefetched.
  struct planned_match {
    target to;
    std::string key;             // op_prefix + correlation id + '\x1e' + group
    std::size_t group_at = 0;    // where the group starts in `key`
  };
  void plan_matches(const ingest::event& e, std::string_view rule_ids, std::vector<planned_match>& plan,
                    std::size_t& planned);
  void correlate_planned(const ingest::event& e, std::string_view evidence_key,
                         const std::vector<planned_match>& plan, std::size_t planned, state_view& state,
                         alert_sink& out);
  void feed(std::size_t corr, const struct match& m, state_view& state, alert_sink& out);
  void feed_keyed(std::size_t corr, const struct match& m, std::string_view key, state_view& state,
                  alert_sink& out);
  void emit(std::size_t corr, std::string_view group_key, const struct firing& f, state_view& state, alert_sink& out);
  alert detection_alert(const rules::detection_rule& rule, const ingest::event& e) const;

  std::unique_ptr<compiled> c_;
  engine_options options_;
  std::function<timestamp_ns()> now_;
  late_handler late_;
  engine_counts counts_;
  timestamp_ns watermark_ = INT64_MIN;
  // In-memory mirrors of durable state, ordered for release.
  reorder_buffer buffer_;  // reorder key → event
  /// A buffered event taken out for correlation, decoded, and its matches planned.
  struct released {
    reorder_buffer::entry* entry = nullptr;  // back to buffer_'s pool when the slot is reused
    ingest::event event;                     // views into entry's copy
    std::vector<planned_match> plan;         // the first `planned` are this event's
    std::size_t planned = 0;
  };
  bool release_pending_ = false;
  released releasing_[3];  // the event being correlated, and the two after it
  std::map<std::string, char, std::less<>> timers_;         // timer key → present
  struct input {
    timestamp_ns max_time = INT64_MIN;
    timestamp_ns persisted = INT64_MIN;  // max_time as last written to state
    timestamp_ns last_wall = 0;  // wall clock of the advance() after it last spoke
    bool spoke = false;          // since the last advance()
  };
  std::map<std::string, input, std::less<>> inputs_;
  // With durable_references: what this batch buffered, written as one b/ entry
  // at the next advance() (once per batch, before the batch is made durable),
  // and the entries written, each deleted once the watermark passes its newest.
  buffer_record batch_buffered_;
  struct written_record {
    std::uint64_t sequence;
    timestamp_ns latest;
  };
  std::vector<written_record> records_;
  std::uint64_t next_record_ = 0;
  void write_buffered_record(state_view& state);
  void drop_released_records(timestamp_ns released_until, state_view& state);
  std::string scratch_event_;
  std::string scratch_evidence_key_;
  std::vector<ingest::field_id> scratch_fields_;
  std::vector<target> scratch_targets_;
  std::string scratch_op_key_;
  // The fields the correlations fed by `rule_ids` read: all a buffered copy keeps.
  void fields_read_by(std::string_view rule_ids, std::vector<ingest::field_id>& out) const;
  void restore_references(const std::vector<std::pair<std::string, std::string>>& references);
  // The alerts held back by engine_options::batch_evidence, their evidence read
  // together: at the end of advance() and flush(), where correlations fire.
  void emit_pending(state_view& state, alert_sink& out);
  static std::vector<ingest::source_position> positions_of(const std::vector<std::string>& evidence_keys);
  void add_evidence(alert& a, const std::vector<std::string>& evidence_keys, state_view& state);
  struct pending_alert {
    alert raised;
    std::vector<std::string> evidence_keys;
  };
  std::vector<pending_alert> pending_;  // batch_evidence: raised, evidence not read yet
};

}  // namespace sentrail::correlate
