#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>

#include "common/arena.h"
#include "common/json_writer.h"
#include "correlate/codec.h"
#include "correlate/evidence_key.h"
#include "correlate/op.h"

namespace sentrail::correlate {

using threshold = rules::condition_spec;

namespace {

constexpr std::size_t max_evidence = 20;      // evidence events carried by one alert
constexpr std::size_t max_window_entries = rules::max_window_matches;  // per group; counts saturate beyond

// The window of one group: matches still inside the timespan, oldest first.
// Text is held by view, not copied: into the stored value the window was decoded
// from, into the match being added, or into the window's own arena (text built
// here). Every one of those outlives the op call that decodes, updates and stores
// the window, so a call allocates nothing once its scratch window has warmed up.
struct entry {
  timestamp_ns time = 0;
  std::uint32_t rule = 0;
  double number = 0;
  std::string_view text;
  std::string_view evidence;
};

// A window's entries, oldest first, in a vector with a moving start: the oldest
// leave by moving the start (an attack burst evicts one entry per match, and
// erasing from the front of a plain vector moved the whole window each time).
// The dead prefix is dropped once it outgrows the live entries, so each entry is
// moved at most once more on average.
class entry_list {
 public:
  using iterator = std::vector<entry>::iterator;
  using const_iterator = std::vector<entry>::const_iterator;
  iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  const_iterator end() const { return items_.end(); }
  std::size_t size() const { return items_.size() - head_; }
  bool empty() const { return size() == 0; }
  entry& front() { return items_[head_]; }
  const entry& front() const { return items_[head_]; }
  entry& operator[](std::size_t i) { return items_[head_ + i]; }
  const entry& operator[](std::size_t i) const { return items_[head_ + i]; }
  entry& emplace_back() { return items_.emplace_back(); }
  void push_back(const entry& e) { items_.push_back(e); }
  void clear() {
    reset();
    rewritten_ = true;
  }
  void assign(std::size_t n, const entry& e) {
    items_.assign(n, e);
    head_ = 0;
    rewritten_ = true;
  }
  /// Drops the `n` oldest entries.
  void pop_front(std::size_t n = 1) {
    head_ += n;
    removed_front_ += n;
    if (head_ == items_.size()) {
      reset();
    } else if (head_ >= 64 && head_ >= size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  iterator erase(iterator it) { return erase(it, it + 1); }
  iterator erase(iterator first, iterator last) {
    if (first != begin()) {
      rewritten_ = true;
      return items_.erase(first, last);
    }
    pop_front(static_cast<std::size_t>(last - first));
    return begin();
  }

  /// What happened since mark_unchanged(), for a window stored in segments: how
  /// many entries left from the front, and whether any other change than an
  /// append was made (a clear, an erase in the middle). Changes in place through
  /// operator[] are not seen; the windows stored in segments make none.
  std::size_t removed_front() const { return removed_front_; }
  bool rewritten() const { return rewritten_; }
  void mark_unchanged() {
    removed_front_ = 0;
    rewritten_ = false;
  }

 private:
  void reset() {
    items_.clear();
    head_ = 0;
  }
  std::vector<entry> items_;
  std::size_t head_ = 0;  // items_[0, head_) have left the window
  std::size_t removed_front_ = 0;
  bool rewritten_ = false;
};

// Running sum of a window's numbers, compensated (Neumaier): adding each match
// and taking each evicted one away again would drift from the exact sum with
// plain addition; compensated, the error stays near one rounding of the sum
// (the tests hold it within 1e-9 relative), and it starts over whenever the
// window is read from the state, once a batch.
class running_sum {
 public:
  void add(double x) {
    double t = sum_ + x;
    compensation_ += std::abs(sum_) >= std::abs(x) ? (sum_ - t) + x : (x - t) + sum_;
    sum_ = t;
  }
  double value() const { return sum_ + compensation_; }
  void reset() { sum_ = compensation_ = 0; }

 private:
  double sum_ = 0, compensation_ = 0;
};

struct window_state {
  entry_list entries;
  timestamp_ns mark = INT64_MIN;  // op-specific: last bucket, last location time...
  double a = 0, b = 0, c = 0;     // op-specific scalars
  std::uint64_t n = 0;
  std::uint64_t* pushed_out = nullptr;  // counts the matches the cap pushes out, if set

  /// What a window keeps up to date as entries come and go, so an operator
  /// judges it without a pass over every entry per match. A window that tracks
  /// anything changes its entries only through push(), evict_before() and
  /// clear_entries().
  enum tracking : unsigned {
    distinct_texts = 1,  // entries holding each text (value_count)
    number_sum = 2,      // the sum of the numbers (value_sum, value_avg, risk)
    sorted_numbers = 4,  // the numbers in order (value_percentile)
    rule_counts = 8,     // entries per referenced rule (temporal, ratio)
  };

  /// For a window kept across op calls: what its entries view (the stored value
  /// it was decoded from, each match's text and evidence key) is copied into
  /// its own arena, since those die with the call.
  void keep_bytes() { keep_ = true; }
  void track(unsigned what) { track_ |= what; }
  std::size_t distinct_values() const { return values_.size(); }
  double sum() const { return sum_.value(); }
  /// The numbers in ascending order (with `sorted_numbers`).
  const std::vector<double>& sorted() const { return sorted_; }
  /// How many of the entries came from referenced rule `rule` (with `rule_counts`).
  std::size_t count_of_rule(std::uint32_t rule) const { return rule < per_rule_.size() ? per_rule_[rule] : 0; }
  /// How many referenced rules have entries (with `rule_counts`).
  std::size_t distinct_rules() const { return distinct_rules_; }

  /// Reads a window stored in one value (what encode() makes). A window stored
  /// in segments (store()) is read by load().
  void decode(std::optional<std::string_view> raw) { decode_from(raw, {}, nullptr); }

  /// Reads the window stored under `key` by store(): in one value, or in
  /// segments. For a window kept across op calls (keep_bytes()).
  void load(std::string_view key, state_view& state) {
    decode_from(state.get(key), key, &state);
  }

  /// Writes the window under `key`. A small window is one value, as encode()
  /// makes it. A large one is sealed segments of `segment_entries` (each its own
  /// key, written once) and a value holding the rest: an attack burst holds a
  /// window at 10,000 entries, and rewriting all of it at every batch wrote a
  /// gigabyte a minute for one attacker at 200 events/s. Segments the window's
  /// start has passed are erased.
  void store(std::string_view key, state_view& state, timestamp_ns expires) {
    const bool small = segments_.empty() ? entries.size() <= segment_above : entries.size() < inline_below;
    if (small || entries.rewritten()) {
      for (const auto& seg : segments_) state.erase(segment_key(key, seg.id));
      segments_.clear();
      first_skip_ = 0;
    }
    if (small) {
      state.put(key, encode(), expires);
      entries.mark_unchanged();
      return;
    }
    // The entries in segments, from the front: what the window's start passed is gone.
    std::size_t removed = entries.rewritten() ? 0 : entries.removed_front();
    while (!segments_.empty() && removed >= segments_.front().count - first_skip_) {
      removed -= segments_.front().count - first_skip_;
      state.erase(segment_key(key, segments_.front().id));
      segments_.erase(segments_.begin());
      first_skip_ = 0;
    }
    if (!segments_.empty()) first_skip_ += removed;  // else it reached the rest, which starts later
    std::size_t covered = 0;
    for (const auto& seg : segments_) covered += seg.count;
    covered -= segments_.empty() ? 0 : first_skip_;
    // Seal the rest in full segments, keeping a part of one in the window's value.
    std::size_t i = covered;
    for (; entries.size() - i > segment_entries; i += segment_entries) {
      segments_.push_back({next_segment_++, segment_entries});
      scratch_.clear();
      append_encoded(scratch_, entries_bound(i, i + segment_entries),
                     [&](raw_encoder& e) { encode_entries(e, i, i + segment_entries); });
      state.put(segment_key(key, segments_.back().id), scratch_, expires);
    }
    encoded_.clear();
    encode_window(
        encoded_,
        [&](raw_encoder& e) {
          e.u64(segmented);
          e.u64(first_skip_);
          e.u64(next_segment_);
          e.u64(segments_.size());
          for (const auto& seg : segments_) {
            e.u64(seg.id);
            e.u64(seg.count);
          }
        },
        (4 + 2 * segments_.size()) * raw_encoder::max_u64, i);
    state.put(key, encoded_, expires);
    entries.mark_unchanged();
  }
  /// The window's bytes in one value; valid until the next encode() or decode().
  std::string_view encode() {
    encoded_.clear();
    encode_window(encoded_, [](raw_encoder&) {}, 0);
    return encoded_;
  }
  /// `list` with `key` appended, kept until the next decode(). A list of evidence
  /// keys is '\0' and then each key length-prefixed: keys are binary (their time,
  /// hash and offset may hold any byte), so no separator byte can join them. (Lists
  /// written before were joined by '\n' and lost a key holding one; they start
  /// with a key's time byte, never '\0', and are still read.)
  std::string_view append_key(std::string_view list, std::string_view key) {
    if (key.empty()) return list;
    join_.clear();
    if (list.empty()) join_.push_back('\0');
    else join_.append(list);
    encoder(join_).bytes(key);
    char* p = own_.allocate(join_.size());
    std::memcpy(p, join_.data(), join_.size());
    return {p, join_.size()};
  }
  static void split_keys(std::string_view list, std::vector<std::string>& out) {
    if (list.empty()) return;
    if (list.front() != '\0') {
      while (!list.empty()) {
        auto nl = list.find('\n');
        out.emplace_back(list.substr(0, nl));
        list.remove_prefix(nl == std::string_view::npos ? list.size() : nl + 1);
      }
      return;
    }
    decoder_view d(list.substr(1));
    while (!d.at_end()) {
      std::string_view key = d.bytes();
      if (d.failed()) break;
      out.emplace_back(key);
    }
  }
  void evict_before(timestamp_ns t) {
    auto kept = std::find_if(entries.begin(), entries.end(), [&](const entry& e) { return e.time >= t; });
    if (track_)
      for (auto it = entries.begin(); it != kept; ++it) removed(*it);
    entries.erase(entries.begin(), kept);
  }
  void push(const match& m, double number = 0, std::string_view text = {}) {
    std::string_view evidence = m.evidence_key;
    if (keep_) {
      text = own_.store(text);
      evidence = own_.store(evidence);
    }
    entries.push_back({m.time, static_cast<std::uint32_t>(m.rule_index), number, text, evidence});
    if (track_) added(entries[entries.size() - 1]);
    if (entries.size() > max_window_entries) {
      if (track_) removed(entries.front());
      entries.pop_front();
      if (pushed_out) ++*pushed_out;
    }
  }
  void clear_entries() {
    entries.clear();
    forget_all();
  }
  firing fire(timestamp_ns now) const {
    firing f;
    f.first_seen = entries.empty() ? now : entries.front().time;
    f.last_seen = now;
    f.count = entries.size();
    std::size_t start = entries.size() > max_evidence ? entries.size() - max_evidence : 0;
    for (std::size_t i = start; i < entries.size(); ++i)
      if (!entries[i].evidence.empty()) f.evidence_keys.emplace_back(entries[i].evidence);
    // The window [first, last]: a repeat after suppression is a new alert, not the old one again.
    f.window_id = std::to_string(f.first_seen) + "-" + std::to_string(now);
    return f;
  }

 private:
  struct segment {
    std::uint64_t id = 0;
    std::uint64_t count = 0;  // entries written in it
  };
  static constexpr std::size_t segment_entries = 128;
  static constexpr std::size_t segment_above = 512;  // a window in one value goes to segments past this
  static constexpr std::size_t inline_below = 256;   // and back below this
  static constexpr std::uint64_t segmented = ~std::uint64_t{0};  // in place of the entry count

  // "w/", the window's key length-prefixed (any group value stays apart), the segment id.
  static std::string segment_key(std::string_view window_key, std::uint64_t id) {
    std::string k = "w/";
    encoder(k).bytes(window_key);
    for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>((id >> shift) & 0xFF));
    return k;
  }

  // Appends the window's header, what `extra` writes after it (at most
  // `extra_bound` bytes) and entries[from, end) with their count to `out`: one
  // bound, one append.
  template <class Extra>
  void encode_window(std::string& out, const Extra& extra, std::size_t extra_bound, std::size_t from = 0) {
    using w = raw_encoder;
    std::size_t bound = 2 * w::max_u64 + 3 * w::max_f64 + extra_bound;
    append_encoded(out, bound + entries_bound(from, entries.size()), [&](raw_encoder& e) {
      e.i64(mark);
      e.f64(a);
      e.f64(b);
      e.f64(c);
      e.u64(n);
      extra(e);
      encode_entries(e, from, entries.size());
    });
  }
  std::size_t entries_bound(std::size_t from, std::size_t to) const {
    using w = raw_encoder;
    std::size_t bound = w::max_u64;
    for (std::size_t i = from; i < to; ++i)
      bound += 2 * w::max_u64 + w::max_f64 + w::max_bytes(entries[i].text.size()) +
               w::max_bytes(entries[i].evidence.size());
    return bound;
  }
  // The count of entries[from, to) and the entries.
  void encode_entries(raw_encoder& e, std::size_t from, std::size_t to) const {
    {
      e.u64(to - from);
      for (std::size_t i = from; i < to; ++i) {
        const entry& x = entries[i];
        e.i64(x.time);
        e.u64(x.rule);
        e.f64(x.number);
        e.bytes(x.text);
        e.bytes(x.evidence);
      }
    }
  }

  // Appends `count` entries read from `d`, the first `skip` of them left out.
  [[gnu::always_inline]] void read_entries(decoder_view& d, std::uint64_t count, std::uint64_t skip) {
    entry passed;
    for (std::uint64_t i = 0; i < count && !d.failed(); ++i) {
      entry& e = i < skip ? passed : entries.emplace_back();
      e.time = d.i64();
      e.rule = static_cast<std::uint32_t>(d.u64());
      e.number = d.f64();
      e.text = d.bytes();
      e.evidence = d.bytes();
    }
  }

  // With `state`, segments are read from it; without, a window in segments
  // reads as its header only (never the case: only load() meets them).
  void decode_from(std::optional<std::string_view> raw, std::string_view key, state_view* state) {
    entries.clear();
    forget_all();
    own_.reset();
    segments_.clear();
    first_skip_ = 0;
    next_segment_ = 0;
    mark = INT64_MIN;
    a = b = c = 0;
    n = 0;
    if (raw) {
      if (keep_) raw = own_.store(*raw);
      decoder_view d(*raw);
      mark = d.i64();
      a = d.f64();
      b = d.f64();
      c = d.f64();
      n = d.u64();
      std::uint64_t count = d.u64();
      bool failed = false;
      if (count == segmented) {
        first_skip_ = d.u64();
        next_segment_ = d.u64();
        std::uint64_t listed = d.u64();
        for (std::uint64_t i = 0; i < listed && !d.failed(); ++i) {
          segment seg;
          seg.id = d.u64();
          seg.count = d.u64();
          segments_.push_back(seg);
        }
        // A segment past its expiry is gone: its entries had left the window by then.
        std::vector<segment> found;
        for (const auto& seg : segments_) {
          auto value = state ? state->get(segment_key(key, seg.id)) : std::nullopt;
          if (!value) continue;
          std::string_view bytes = keep_ ? own_.store(*value) : *value;
          decoder_view sd(bytes);
          std::uint64_t written = sd.u64();
          read_entries(sd, written, &seg == &segments_.front() ? first_skip_ : 0);
          failed = failed || sd.failed() || written != seg.count;
          found.push_back(seg);
        }
        if (found.empty() || found.front().id != segments_.front().id) first_skip_ = 0;
        segments_ = std::move(found);
        count = d.u64();
      }
      read_entries(d, count, 0);
      if (failed || d.failed()) {
        entries.clear();
        segments_.clear();  // rewritten whole at the next store (its old segments expire)
      }
    }
    entries.mark_unchanged();
    if (track_) recount();
  }

  void added(const entry& e) {
    if (track_ & distinct_texts) ++values_[e.text];
    if (track_ & number_sum) sum_.add(e.number);
    if (track_ & sorted_numbers) sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), e.number), e.number);
    if (track_ & rule_counts) {
      if (e.rule >= per_rule_.size()) per_rule_.resize(e.rule + 1);
      if (per_rule_[e.rule]++ == 0) ++distinct_rules_;
    }
  }
  void removed(const entry& e) {
    if (track_ & distinct_texts) {
      auto it = values_.find(e.text);
      if (it != values_.end() && --it->second == 0) values_.erase(it);
    }
    if (track_ & number_sum) sum_.add(-e.number);
    if (track_ & sorted_numbers) {
      auto it = std::lower_bound(sorted_.begin(), sorted_.end(), e.number);
      if (it != sorted_.end() && !(e.number < *it)) sorted_.erase(it);
    }
    if (track_ & rule_counts)
      if (e.rule < per_rule_.size() && per_rule_[e.rule] > 0 && --per_rule_[e.rule] == 0) --distinct_rules_;
  }
  // The running figures of a window just decoded: one pass, and one sort for
  // the numbers (inserting them one by one would move the sorted part each time).
  void recount() {
    const unsigned incremental = track_;
    track_ &= ~unsigned{sorted_numbers};
    for (const auto& e : entries) added(e);
    track_ = incremental;
    if (track_ & sorted_numbers) {
      for (const auto& e : entries) sorted_.push_back(e.number);
      std::sort(sorted_.begin(), sorted_.end());
    }
  }
  void forget_all() {
    values_.clear();
    sum_.reset();
    sorted_.clear();
    per_rule_.clear();
    distinct_rules_ = 0;
  }
  arena own_{1024};
  std::string join_;  // append_key's scratch
  std::string encoded_;
  std::string scratch_;                // a segment being sealed
  std::vector<segment> segments_;      // as stored, oldest first
  std::uint64_t first_skip_ = 0;       // entries of the first segment the window's start has passed
  std::uint64_t next_segment_ = 0;
  bool keep_ = false;
  unsigned track_ = 0;
  absl::flat_hash_map<std::string_view, std::uint32_t> values_;  // text -> entries holding it
  running_sum sum_;
  std::vector<double> sorted_;
  std::vector<std::uint32_t> per_rule_;  // rule index -> entries
  std::size_t distinct_rules_ = 0;
};

// The windows of the groups one advance() touches: each is decoded at its first
// use in the advance and written back once, at its end (flush). An attack burst
// puts thousands of matches into one window, and decoding and encoding all of it
// for every match made each event cost as much as the window
// (scripts/bench-burst.sh, correlation_operator in sentrail-micro).
class live_windows {
 public:
  struct live {
    std::string key;
    window_state w;
    std::optional<timestamp_ns> expires;  // none: not changed since it was decoded, so not written back
  };
  /// The window of `key`, tracking `tracking` (window_state::tracking). The
  /// caller sets `expires` when it changes the window.
  live& open(std::string_view key, state_view& state, unsigned tracking) {
    if (auto it = live_.find(key); it != live_.end()) return *it->second;
    live* l = used_ < pool_.size() ? &pool_[used_] : &pool_.emplace_back();
    ++used_;
    l->key.assign(key);
    l->expires.reset();
    l->w.keep_bytes();
    l->w.track(tracking);
    l->w.pushed_out = &pushed_out_;
    l->w.load(key, state);
    live_.emplace(l->key, l);
    return *l;
  }
  void flush(state_view& state) {
    for (std::size_t i = 0; i < used_; ++i)
      if (pool_[i].expires) pool_[i].w.store(pool_[i].key, state, *pool_[i].expires);
    live_.clear();
    used_ = 0;
    // Windows stay for reuse, their memory with them; past a few hundred, a batch
    // that touched many groups gives theirs back.
    if (pool_.size() > 256) pool_.resize(256);
  }
  std::uint64_t pushed_out() const { return pushed_out_; }

 private:
  std::uint64_t pushed_out_ = 0;
  std::deque<live> pool_;  // a deque: the map's keys view pool entries, which must not move
  std::size_t used_ = 0;   // pool_[0, used_) hold this advance's windows
  absl::flat_hash_map<std::string_view, live*> live_;
};

// Shared shape of the sliding-window operators: load, evict, add, judge, store.
class window_op : public op {
 public:
  window_op(const op_context& ctx, threshold t) : timespan_(ctx.timespan), threshold_(t) {}

  std::optional<firing> on_match(const match& m, std::string_view key, state_view& state) override {
    live_windows::live& l = windows_.open(key, state, tracking());
    l.w.evict_before(m.time - timespan_);
    std::optional<firing> result = update(m, l.w);
    l.expires = m.time + timespan_;
    return result;
  }

  void flush(state_view& state) override { windows_.flush(state); }
  std::uint64_t pushed_out() const override { return windows_.pushed_out(); }

 protected:
  /// Adds the match to the window and says whether the condition now holds.
  virtual std::optional<firing> update(const match& m, window_state& w) = 0;
  /// What the operator's windows keep up to date (window_state::tracking).
  virtual unsigned tracking() const { return 0; }

  timestamp_ns timespan_;
  threshold threshold_;

 private:
  live_windows windows_;
};

class event_count_op : public window_op {
 public:
  using window_op::window_op;
  std::optional<firing> update(const match& m, window_state& w) override {
    w.push(m);
    if (!threshold_.matches(static_cast<double>(w.entries.size()))) return std::nullopt;
    return w.fire(m.time);
  }
};

class value_count_op : public window_op {
 public:
  using window_op::window_op;
  std::optional<firing> update(const match& m, window_state& w) override {
    if (!m.field_text) return std::nullopt;  // events without the field do not count
    w.push(m, 0, *m.field_text);
    const auto distinct = static_cast<double>(w.distinct_values());
    if (!threshold_.matches(distinct)) return std::nullopt;
    firing f = w.fire(m.time);
    f.value = distinct;
    return f;
  }
  unsigned tracking() const override { return window_state::distinct_texts; }
};

enum class aggregate { sum, avg, percentile };

class value_aggregate_op : public window_op {
 public:
  value_aggregate_op(const op_context& ctx, threshold t, aggregate kind, double percentile)
      : window_op(ctx, t), kind_(kind), percentile_(percentile) {}
  std::optional<firing> update(const match& m, window_state& w) override {
    // JSON holds no infinities or NaN, but a chained correlation's value could;
    // one would poison the running sum and the order of the sorted numbers.
    if (!m.field_number || !std::isfinite(*m.field_number)) return std::nullopt;
    w.push(m, *m.field_number);
    double v = 0;
    if (kind_ == aggregate::percentile) {
      // Nearest-rank percentile.
      const auto& values = w.sorted();
      auto rank = static_cast<std::size_t>(std::ceil(percentile_ / 100.0 * static_cast<double>(values.size())));
      v = values[rank == 0 ? 0 : rank - 1];
    } else {
      v = w.sum();
      if (kind_ == aggregate::avg) v /= static_cast<double>(w.entries.size());
    }
    if (!threshold_.matches(v)) return std::nullopt;
    firing f = w.fire(m.time);
    f.value = v;
    return f;
  }
  unsigned tracking() const override {
    return kind_ == aggregate::percentile ? window_state::sorted_numbers : window_state::number_sum;
  }

 private:
  aggregate kind_;
  double percentile_;
};

// All referenced rules within the timespan, in any order.
class temporal_op : public window_op {
 public:
  temporal_op(const op_context& ctx, threshold t, std::size_t rules) : window_op(ctx, t), rules_(rules) {}
  std::optional<firing> update(const match& m, window_state& w) override {
    w.push(m);
    auto distinct = static_cast<double>(w.distinct_rules());
    bool holds = threshold_.empty() ? w.distinct_rules() == rules_ : threshold_.matches(distinct);
    if (!holds) return std::nullopt;
    firing f = w.fire(m.time);
    w.clear_entries();  // a completed set starts over
    return f;
  }
  unsigned tracking() const override { return window_state::rule_counts; }

 private:
  std::size_t rules_;
};

// Rules in the given order within the timespan. For each step the state keeps
// the latest start of a partial sequence ending there, which is the one most
// likely to complete in time.
class temporal_ordered_op : public op {
 public:
  temporal_ordered_op(const op_context& ctx, std::size_t steps) : timespan_(ctx.timespan), steps_(steps) {}
  std::optional<firing> on_match(const match& m, std::string_view key, state_view& state) override {
    window_state& w = scratch_;
    w.decode(state.get(key));
    // entries[i] = step i's partial sequence: time = its start, text = its evidence keys (append_key).
    if (w.entries.size() != steps_) w.entries.assign(steps_, entry{INT64_MIN, 0, 0, {}, {}});
    for (auto& e : w.entries)
      if (e.time != INT64_MIN && e.time < m.time - timespan_) e = entry{INT64_MIN, 0, 0, {}, {}};
    std::size_t k = m.rule_index;
    std::optional<firing> result;
    if (k == 0) {
      w.entries[0] = entry{m.time, 1, 0, w.append_key({}, m.evidence_key), {}};
    } else if (w.entries[k - 1].time != INT64_MIN) {
      entry next = w.entries[k - 1];
      next.text = w.append_key(next.text, m.evidence_key);
      next.rule = static_cast<std::uint32_t>(k + 1);
      w.entries[k] = std::move(next);
    }
    if (k + 1 == steps_ && w.entries[k].time != INT64_MIN) {
      firing f;
      f.first_seen = w.entries[k].time;
      f.last_seen = m.time;
      f.count = steps_;
      window_state::split_keys(w.entries[k].text, f.evidence_keys);
      f.window_id = std::to_string(f.first_seen);
      result = std::move(f);
      w.entries.assign(steps_, entry{INT64_MIN, 0, 0, {}, {}});
    }
    state.put(key, w.encode(), m.time + timespan_);
    return result;
  }

 private:
  timestamp_ns timespan_;
  std::size_t steps_;
  window_state scratch_;
};

enum class absence_direction { after, before, either };

// Rule A seen and rule B not seen for the group within the timespan: after A
// (a timer fires when event time passes A + timespan), before A, or either side.
class absence_op : public op {
 public:
  absence_op(const op_context& ctx, absence_direction d) : timespan_(ctx.timespan), direction_(d) {}

  // The window: mark = the last B; entries = the A's still waiting. It stays
  // decoded through an advance (live_windows), since the A's of one group can
  // pile up to the cap when B does not come.
  std::optional<firing> on_match(const match& m, std::string_view key, state_view& state) override {
    live_windows::live& l = windows_.open(key, state, 0);
    window_state& w = l.w;
    std::optional<firing> result;
    if (m.rule_index == 1) {
      w.mark = m.time;
      w.entries.clear();  // B answers every A waiting for it
    } else {
      bool b_before = w.mark != INT64_MIN && m.time - w.mark <= timespan_;
      if (direction_ == absence_direction::before) {
        if (!b_before) {
          w.entries.clear();
          w.push(m);
          result = w.fire(m.time);
          w.entries.clear();
        }
      } else if (!(direction_ == absence_direction::either && b_before)) {
        // At the cap the waiting A's keep their oldest, not their newest: the
        // oldest are due first, and one B answers them all, so turning away the
        // newest A delays no verdict, where pushing out the oldest lost the next one due.
        if (w.entries.size() < max_window_entries) w.push(m);
        else if (w.pushed_out) ++*w.pushed_out;
      }
    }
    l.expires = m.time + 2 * timespan_;
    return result;
  }

  std::optional<timestamp_ns> timer_after(const match& m) const override {
    if (m.rule_index != 0 || direction_ == absence_direction::before) return std::nullopt;
    return m.time + timespan_;
  }

  std::optional<firing> on_timer(timestamp_ns deadline, std::string_view key, state_view& state) override {
    live_windows::live& l = windows_.open(key, state, 0);
    window_state& w = l.w;
    timestamp_ns a_time = deadline - timespan_;
    // The A's wait oldest first, so the one whose timer this is is found by
    // time; it is usually the first. (It is gone when a B answered it, or was
    // never kept: it came with the window at its cap.)
    auto it = std::lower_bound(w.entries.begin(), w.entries.end(), a_time,
                               [](const entry& e, timestamp_ns t) { return e.time < t; });
    if (it != w.entries.end() && it->time == a_time) {
      firing f;
      f.first_seen = f.last_seen = a_time;
      f.count = 1;
      if (!it->evidence.empty()) f.evidence_keys.emplace_back(it->evidence);
      f.window_id = std::to_string(a_time);
      w.entries.erase(it);
      l.expires = deadline + timespan_;
      return f;
    }
    return std::nullopt;
  }

  void flush(state_view& state) override { windows_.flush(state); }
  std::uint64_t pushed_out() const override { return windows_.pushed_out(); }

 private:
  timestamp_ns timespan_;
  absence_direction direction_;
  live_windows windows_;
};

// A value never seen for this group (within the lookback), once the group has history.
class first_seen_op : public op {
 public:
  first_seen_op(timestamp_ns lookback, std::size_t max_values, std::uint64_t min_history)
      : lookback_(lookback), max_values_(max_values), min_history_(min_history) {}
  std::optional<firing> on_match(const match& m, std::string_view key, state_view& state) override {
    if (!m.field_text || m.field_text->empty()) return std::nullopt;
    window_state& w = scratch_;
    w.decode(state.get(key));  // entries: known values, most recently seen last; n = events seen
    std::optional<firing> result;
    auto it = std::find_if(w.entries.begin(), w.entries.end(), [&](const entry& e) { return e.text == *m.field_text; });
    bool known = it != w.entries.end() && m.time - it->time <= lookback_;
    if (it != w.entries.end()) w.entries.erase(it);
    if (!known && w.n >= min_history_) {
      firing f;
      f.first_seen = f.last_seen = m.time;
      f.count = 1;
      if (!m.evidence_key.empty()) f.evidence_keys.emplace_back(m.evidence_key);
      f.window_id = std::string(*m.field_text);
      result = std::move(f);
    }
    w.push(m, 0, *m.field_text);
    if (w.entries.size() > max_values_)  // forget the least recently seen
      w.entries.erase(w.entries.begin(), w.entries.end() - static_cast<std::ptrdiff_t>(max_values_));
    ++w.n;
    state.put(key, w.encode(), m.time + lookback_);
    return result;
  }

 private:
  timestamp_ns lookback_;
  std::size_t max_values_;
  std::uint64_t min_history_;
  window_state scratch_;
};

double haversine_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double r = 6371.0, rad = M_PI / 180.0;
  double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * r * std::asin(std::min(1.0, std::sqrt(h)));
}

// Two events of a group whose places imply travel faster than max_kmh.
class geo_velocity_op : public op {
 public:
  struct config {
    timestamp_ns timespan;
    double max_kmh;
    double min_km = 50;  // below this, location noise dominates
    std::string lat_field, lon_field, location_key;
    const std::map<std::string, std::pair<double, double>>* table = nullptr;
  };
  explicit geo_velocity_op(config c) : c_(std::move(c)) {
    lat_ = ingest::field_table::global().intern(c_.lat_field);
    lon_ = ingest::field_table::global().intern(c_.lon_field);
    if (!c_.location_key.empty()) key_ = ingest::field_table::global().intern(c_.location_key);
  }
  std::vector<ingest::field_id> event_fields_read() const override {
    std::vector<ingest::field_id> read{lat_, lon_};
    if (key_ != ingest::no_field) read.push_back(key_);
    return read;
  }
  std::optional<firing> on_match(const match& m, std::string_view key, state_view& state) override {
    if (!m.event) return std::nullopt;
    double lat, lon;
    if (!locate(*m.event, lat, lon)) return std::nullopt;
    window_state& w = scratch_;
    w.decode(state.get(key));  // mark = last time, a/b = last lat/lon, entries[0] = its evidence
    std::optional<firing> result;
    if (w.mark != INT64_MIN && m.time - w.mark <= c_.timespan) {
      double km = haversine_km(w.a, w.b, lat, lon);
      double hours = static_cast<double>(m.time - w.mark) / (3600.0 * ns_per_second);
      double kmh = hours > 0 ? km / hours : INFINITY;
      if (km >= c_.min_km && kmh > c_.max_kmh) {
        firing f;
        f.first_seen = w.mark;
        f.last_seen = m.time;
        f.count = 2;
        f.value = std::isfinite(kmh) ? std::round(kmh) : 1e9;
        if (!w.entries.empty() && !w.entries.front().evidence.empty()) f.evidence_keys.emplace_back(w.entries.front().evidence);
        if (!m.evidence_key.empty()) f.evidence_keys.emplace_back(m.evidence_key);
        f.window_id = std::to_string(w.mark) + ">" + std::to_string(m.time);
        result = std::move(f);
      }
    }
    w.mark = m.time;
    w.a = lat;
    w.b = lon;
    w.entries.clear();
    w.push(m);
    state.put(key, w.encode(), m.time + c_.timespan);
    return result;
  }

 private:
  bool locate(const ingest::event& e, double& lat, double& lon) const {
    if (c_.table && key_ != ingest::no_field) {
      if (const auto* k = e.get(key_)) {
        auto it = c_.table->find(std::string(k->text));
        if (it != c_.table->end()) {
          lat = it->second.first;
          lon = it->second.second;
          return true;
        }
      }
    }
    const auto* la = e.get(lat_);
    const auto* lo = e.get(lon_);
    if (!la || !lo || la->kind != ingest::value_kind::number || lo->kind != ingest::value_kind::number) return false;
    lat = la->number;
    lon = lo->number;
    return true;
  }
  config c_;
  ingest::field_id lat_, lon_, key_ = ingest::no_field;
  window_state scratch_;
};

// Matches per bucket far above the group's own moving (EWMA) baseline.
class rate_anomaly_op : public op {
 public:
  rate_anomaly_op(timestamp_ns bucket, double factor, double min_count, double baseline_buckets)
      : bucket_(bucket), factor_(factor), min_count_(min_count), buckets_(baseline_buckets),
        alpha_(2.0 / (baseline_buckets + 1)) {}
  std::optional<firing> on_match(const match& m, std::string_view key, state_view& state) override {
    window_state& w = scratch_;
    // mark = current bucket start, a = its count, b = baseline, n = buckets seen, c = fired flag
    w.decode(state.get(key));
    timestamp_ns start = m.time - ((m.time % bucket_) + bucket_) % bucket_;
    if (w.mark == INT64_MIN) {
      w.mark = start;
    } else if (start > w.mark) {
      // Close the finished bucket and any empty ones after it (bounded, then they stop mattering).
      auto closed = std::min<std::int64_t>((start - w.mark) / bucket_, static_cast<std::int64_t>(4 * buckets_));
      for (std::int64_t i = 0; i < closed; ++i) {
        double count = i == 0 ? w.a : 0.0;
        w.b = w.n == 0 ? count : alpha_ * count + (1 - alpha_) * w.b;
        ++w.n;
      }
      w.mark = start;
      w.a = 0;
      w.c = 0;
      w.entries.clear();
    }
    w.a += 1;
    if (w.entries.size() < max_evidence) w.push(m);
    std::optional<firing> result;
    bool warmed = static_cast<double>(w.n) >= buckets_ / 2;
    if (warmed && w.c == 0 && w.a >= min_count_ && w.a > factor_ * std::max(w.b, 1.0)) {
      firing f = w.fire(m.time);
      f.count = static_cast<std::uint64_t>(w.a);
      f.value = w.b;
      f.window_id = std::to_string(start);
      w.c = 1;
      result = std::move(f);
    }
    state.put(key, w.encode(), m.time + static_cast<timestamp_ns>(bucket_ * (4 * buckets_ + 1)));
    return result;
  }

 private:
  timestamp_ns bucket_;
  double factor_, min_count_, buckets_, alpha_;
  window_state scratch_;
};

// Risk-based alerting: rules score an entity; alert when the window's sum crosses the threshold.
class risk_op : public window_op {
 public:
  risk_op(const op_context& ctx, threshold t, std::vector<double> scores)
      : window_op(ctx, t), scores_(std::move(scores)) {}
  std::optional<firing> update(const match& m, window_state& w) override {
    w.push(m, m.rule_index < scores_.size() ? scores_[m.rule_index] : 0);
    double sum = w.sum();
    if (!threshold_.matches(sum)) return std::nullopt;
    firing f = w.fire(m.time);
    f.value = sum;
    return f;
  }
  unsigned tracking() const override { return window_state::number_sum; }

 private:
  std::vector<double> scores_;
};

// Numerator matches per denominator match (voids per sale) in the window.
class ratio_op : public window_op {
 public:
  ratio_op(const op_context& ctx, threshold t, double min_denominator)
      : window_op(ctx, t), min_denominator_(min_denominator) {}
  std::optional<firing> update(const match& m, window_state& w) override {
    w.push(m);
    auto num = static_cast<double>(w.count_of_rule(0));
    double den = static_cast<double>(w.entries.size()) - num;
    if (m.rule_index != 0 || den < min_denominator_ || den == 0) return std::nullopt;
    double ratio = num / den;
    if (!threshold_.matches(ratio)) return std::nullopt;
    firing f = w.fire(m.time);
    f.value = ratio;
    return f;
  }
  unsigned tracking() const override { return window_state::rule_counts; }

 private:
  double min_denominator_;
};

template <class T, class... Args>
op_factory window_factory(Args... args) {
  return [=](const op_context& ctx) -> result<std::unique_ptr<op>> {
    return std::unique_ptr<op>(new T(ctx, ctx.rule.threshold, args...));
  };
}

}  // namespace

result<std::map<std::string, std::pair<double, double>>> load_location_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error{path + ": cannot read the location table"};
  std::map<std::string, std::pair<double, double>> table;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto c1 = line.find(',');
    auto c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string::npos) return error{path + ":" + std::to_string(n) + ": expected id,lat,lon"};
    std::string lat_text = line.substr(c1 + 1, c2 - c1 - 1), lon_text = line.substr(c2 + 1);
    char *lat_end = nullptr, *lon_end = nullptr;
    double lat = std::strtod(lat_text.c_str(), &lat_end), lon = std::strtod(lon_text.c_str(), &lon_end);
    bool numbers = lat_end != lat_text.c_str() && *lat_end == '\0' && lon_end != lon_text.c_str() && *lon_end == '\0';
    if (!numbers) {
      if (n == 1) continue;  // the header
      return error{path + ":" + std::to_string(n) + ": latitude and longitude must be numbers"};
    }
    if (lat < -90 || lat > 90 || lon < -180 || lon > 180)
      return error{path + ":" + std::to_string(n) + ": coordinates out of range"};
    table[line.substr(0, c1)] = {lat, lon};
  }
  return table;
}

namespace {
// An evidence key as people read it: the event's time and where it came from.
void describe_evidence(json_writer& j, std::string_view key) {
  j.begin_object();
  if (key.size() >= 8) j.key("time").value(format_rfc3339(evidence_time(key)));
  if (auto from = evidence_source(key)) {
    j.key("topic").value(from->topic);
    j.key("partition").value(static_cast<std::int64_t>(from->partition));
    j.key("offset").value(from->offset);
  }
  j.end_object();
}
}  // namespace

std::string describe_state(std::string_view key,
                           const std::function<std::optional<std::string>(std::string_view key)>& read) {
  // Reads through `read` only: inspecting changes nothing.
  struct reader final : state_view {
    const std::function<std::optional<std::string>(std::string_view)>& read;
    std::optional<std::string> last;
    explicit reader(const std::function<std::optional<std::string>(std::string_view)>& r) : read(r) {}
    std::optional<std::string_view> get(std::string_view k) override {
      last = read(k);
      return last ? std::optional<std::string_view>(*last) : std::nullopt;
    }
    void put(std::string_view, std::string_view, timestamp_ns) override {}
    void erase(std::string_view) override {}
    void for_each_from(std::string_view, std::string_view, const visitor&) override {}
    void set_now(timestamp_ns) override {}
  } state(read);
  window_state w;
  w.keep_bytes();  // each read's bytes are kept: the next read replaces `last`
  w.load(key, state);
  std::string out;
  json_writer j(out);
  j.begin_object();
  j.key("window").begin_array();
  std::vector<std::string> keys;
  for (const auto& e : w.entries) {
    j.begin_object();
    j.key("time").value(e.time == INT64_MIN ? std::string("-") : format_rfc3339(e.time));
    j.key("rule").value(static_cast<std::int64_t>(e.rule));
    if (e.number != 0) j.key("value").value(e.number);
    // A sequence's steps hold their evidence keys where other windows hold a value
    // (append_key): binary, so they are shown decoded, never as text.
    keys.clear();
    if (!e.text.empty() && e.text.front() == '\0') window_state::split_keys(e.text, keys);
    else if (!e.text.empty()) j.key("text").value(e.text);
    if (!e.evidence.empty()) keys.emplace_back(e.evidence);
    if (!keys.empty()) {
      j.key("evidence").begin_array();
      for (const auto& k : keys) describe_evidence(j, k);
      j.end_array();
    }
    j.end_object();
  }
  j.end_array();
  if (w.mark != INT64_MIN) j.key("mark").value(format_rfc3339(w.mark));
  j.key("scalars").begin_array().value(w.a).value(w.b).value(w.c).end_array();
  j.key("n").value(static_cast<std::int64_t>(w.n));
  j.end_object();
  return out;
}

void register_builtin_ops(op_registry& r) {
  r.add("event_count", window_factory<event_count_op>());
  r.add("value_count", window_factory<value_count_op>());
  r.add("value_sum", window_factory<value_aggregate_op>(aggregate::sum, 0.0));
  r.add("value_avg", window_factory<value_aggregate_op>(aggregate::avg, 0.0));
  r.add("value_percentile", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    return std::unique_ptr<op>(
        new value_aggregate_op(ctx, ctx.rule.threshold, aggregate::percentile, ctx.rule.percentile.value_or(95)));
  });
  r.add("temporal", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    return std::unique_ptr<op>(new temporal_op(ctx, ctx.rule.threshold, ctx.rule.rules.size()));
  });
  r.add("temporal_ordered", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    return std::unique_ptr<op>(new temporal_ordered_op(ctx, ctx.rule.rules.size()));
  });
  r.add("absence", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    const std::string& d = ctx.rule.direction;
    absence_direction dir = d == "before" ? absence_direction::before
                            : d == "either" ? absence_direction::either
                                            : absence_direction::after;
    return std::unique_ptr<op>(new absence_op(ctx, dir));
  });
  r.add("first_seen", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    std::int64_t min_history = 1;
    for (const auto& [k, v] : ctx.rule.options)
      if (k == "min_history") min_history = std::strtoll(v.c_str(), nullptr, 10);
    return std::unique_ptr<op>(new first_seen_op(ctx.rule.lookback_ns.value_or(30 * 86400 * ns_per_second),
                                                 static_cast<std::size_t>(std::max<std::int64_t>(1, ctx.rule.max_values.value_or(64))),
                                                 static_cast<std::uint64_t>(std::max<std::int64_t>(0, min_history))));
  });
  r.add("geo_velocity", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    const auto& rule = ctx.rule;
    geo_velocity_op::config c;
    c.timespan = ctx.timespan > 0 ? ctx.timespan : 24 * 3600 * ns_per_second;
    c.max_kmh = rule.max_kmh.value_or(900);
    c.lat_field = rule.lat_field.empty() ? "source.geo.location.lat" : rule.lat_field;
    c.lon_field = rule.lon_field.empty() ? "source.geo.location.lon" : rule.lon_field;
    c.location_key = rule.location_key;
    if (!rule.location_table.empty()) {
      std::filesystem::path path(rule.location_table);
      if (path.is_relative()) path = std::filesystem::path(rule.file).parent_path() / path;
      if (!ctx.locations) return error{"location tables are not available here"};
      auto t = ctx.locations(path.lexically_normal().string());
      if (!t) return t.err();
      c.table = *t;
      if (c.location_key.empty()) return error{"location_table needs location_key (the field naming the place)"};
    }
    return std::unique_ptr<op>(new geo_velocity_op(std::move(c)));
  });
  r.add("rate_anomaly", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    if (ctx.timespan <= 0) return error{"rate_anomaly needs a timespan (the bucket size)"};
    return std::unique_ptr<op>(new rate_anomaly_op(ctx.timespan, ctx.rule.factor.value_or(5),
                                                   static_cast<double>(ctx.rule.min_count.value_or(10)),
                                                   static_cast<double>(ctx.rule.baseline_buckets.value_or(24))));
  });
  r.add("risk", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    return std::unique_ptr<op>(new risk_op(ctx, ctx.rule.threshold, ctx.scores));
  });
  r.add("ratio", [](const op_context& ctx) -> result<std::unique_ptr<op>> {
    return std::unique_ptr<op>(new ratio_op(ctx, ctx.rule.threshold, ctx.rule.min_denominator.value_or(1)));
  });
}

}  // namespace sentrail::correlate
