// `sentrail gen`: synthetic retail traffic with injected attacks, to files or Kafka.
// Numbers are taken as strings and parsed here so that every bad flag exits with 2
// and a message that names the flag.

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "common/result.h"
#include "common/time.h"
#include "gen/generator.h"

namespace sentrail::app {
namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int) { stop_requested.store(true, std::memory_order_relaxed); }

struct gen_flags {
  std::string seed = "1";
  std::string count;
  std::string duration;
  std::string rate;
  std::string attack_rate = "2";
  std::string bad_rate = "0";
  std::string start;
  std::string out_dir;
  std::string brokers;
  std::string truth;
  std::string format = "per-channel";
  std::string topic_prefix = "retail.";
  std::string scenarios;
};

result<std::uint64_t> parse_count(std::string_view flag, const std::string& text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    return error{fmt::format("{} expects a non-negative integer, got '{}'", flag, text)};
  return v;
}

result<double> parse_number(std::string_view flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= 0) || v > 1e12)
    return error{fmt::format("{} expects a non-negative number, got '{}'", flag, text)};
  return v;
}

timestamp_ns wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Where generated events go.
class sink {
 public:
  virtual ~sink() = default;
  [[nodiscard]] virtual status write(const gen::generated& e) = 0;
  /// Called between pacing batches: a chance to serve callbacks.
  virtual void idle() {}
  /// Flushes everything; reports anything that was not written or delivered.
  [[nodiscard]] virtual status finish() = 0;
};

class file_sink final : public sink {
 public:
  static result<std::unique_ptr<file_sink>> open(const std::string& dir, bool single) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return error{fmt::format("cannot create output directory '{}': {}", dir, ec.message())};
    auto s = std::unique_ptr<file_sink>(new file_sink(single));
    const std::size_t files = single ? 1 : gen::channel_count;
    for (std::size_t i = 0; i < files; ++i) {
      const std::string name =
          single ? "events.jsonl"
                 : fmt::format("{}.jsonl", gen::channel_name(static_cast<gen::channel_kind>(i)));
      const auto path = (std::filesystem::path(dir) / name).string();
      std::FILE* f = std::fopen(path.c_str(), "wb");
      if (f == nullptr)
        return error{fmt::format("cannot write '{}': {}", path, std::strerror(errno))};
      std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
      s->files_[i] = f;
      s->paths_[i] = path;
    }
    return s;
  }

  ~file_sink() override {
    for (auto* f : files_)
      if (f != nullptr) std::fclose(f);
  }

  status write(const gen::generated& e) override {
    std::FILE* f = files_[single_ ? 0 : static_cast<int>(e.ch)];
    if (single_ && !e.payload.empty() && e.payload.front() == '{') {
      std::fputs("{\"channel\":\"", f);
      std::fwrite(e.channel.data(), 1, e.channel.size(), f);
      std::fputs("\",", f);
      std::fwrite(e.payload.data() + 1, 1, e.payload.size() - 1, f);
    } else {
      std::fwrite(e.payload.data(), 1, e.payload.size(), f);
    }
    std::fputc('\n', f);
    return {};
  }

  status finish() override {
    status st;
    for (std::size_t i = 0; i < files_.size(); ++i) {
      if (files_[i] == nullptr) continue;
      const bool failed = std::ferror(files_[i]) != 0;
      const bool closed = std::fclose(files_[i]) == 0;
      files_[i] = nullptr;
      if ((failed || !closed) && st.ok())
        st = error{fmt::format("writing '{}' failed: {}", paths_[i], std::strerror(errno))};
    }
    return st;
  }

 private:
  explicit file_sink(bool single) : single_(single) {}
  bool single_;
  std::array<std::FILE*, gen::channel_count> files_{};
  std::array<std::string, gen::channel_count> paths_;
};

class delivery_counter final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() == RdKafka::ERR_NO_ERROR) return;
    if (failed++ == 0) first_error = m.errstr();
  }
  std::uint64_t failed = 0;
  std::string first_error;
};

class kafka_sink final : public sink {
 public:
  static result<std::unique_ptr<kafka_sink>> open(const std::string& brokers,
                                                  const std::string& prefix) {
    auto s = std::unique_ptr<kafka_sink>(new kafka_sink());
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    const std::pair<const char*, std::string> props[] = {
        {"bootstrap.servers", brokers},
        {"enable.idempotence", "true"},
        {"linger.ms", "5"},
        {"client.id", "sentrail-gen"},
        {"queue.buffering.max.messages", "500000"},
        {"compression.type", "lz4"},
    };
    for (const auto& [k, v] : props)
      if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK)
        return error{fmt::format("kafka property {}={}: {}", k, v, err)};
    if (conf->set("dr_cb", &s->deliveries_, err) != RdKafka::Conf::CONF_OK)
      return error{fmt::format("kafka delivery callback: {}", err)};
    s->producer_.reset(RdKafka::Producer::create(conf.get(), err));
    if (!s->producer_) return error{fmt::format("cannot create Kafka producer: {}", err)};
    RdKafka::Metadata* md = nullptr;
    const auto code = s->producer_->metadata(true, nullptr, &md, 10000);
    delete md;
    if (code != RdKafka::ERR_NO_ERROR)
      return error{fmt::format("cannot reach Kafka brokers at {} within 10 s: {}", brokers,
                               RdKafka::err2str(code))};
    for (std::size_t i = 0; i < gen::channel_count; ++i)
      s->topics_[i] = prefix + std::string(gen::channel_name(static_cast<gen::channel_kind>(i)));
    return s;
  }

  status write(const gen::generated& e) override {
    for (;;) {
      const auto code = producer_->produce(
          topics_[static_cast<int>(e.ch)], RdKafka::Topic::PARTITION_UA,
          RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(e.payload.data()), e.payload.size(),
          e.key.empty() ? nullptr : e.key.data(), e.key.size(), e.time / 1'000'000, nullptr);
      if (code == RdKafka::ERR_NO_ERROR) break;
      if (code != RdKafka::ERR__QUEUE_FULL)
        return error{fmt::format("producing to {} failed: {}", topics_[static_cast<int>(e.ch)],
                                 RdKafka::err2str(code))};
      producer_->poll(50);  // the local queue is full: let deliveries drain it
    }
    if (++since_poll_ >= 1024) {
      since_poll_ = 0;
      producer_->poll(0);
    }
    return {};
  }

  void idle() override { producer_->poll(0); }

  status finish() override {
    producer_->flush(30000);
    if (const int left = producer_->outq_len(); left > 0)
      return error{fmt::format("{} messages were not delivered within 30 s", left)};
    if (deliveries_.failed > 0)
      return error{fmt::format("{} messages failed to deliver: {}", deliveries_.failed,
                               deliveries_.first_error)};
    return {};
  }

 private:
  kafka_sink() = default;
  delivery_counter deliveries_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::array<std::string, gen::channel_count> topics_;
  unsigned since_poll_ = 0;
};

struct plan {
  gen::options opts;
  std::optional<double> rate;
  std::optional<double> duration_s;
  std::string truth;
};

result<plan> make_plan(const gen_flags& f) {
  plan p;
  auto seed = parse_count("--seed", f.seed);
  if (!seed) return seed.err();
  p.opts.seed = *seed;
  if (f.out_dir.empty() == f.brokers.empty())
    return error{"give exactly one destination: --out DIR or --brokers HOST:PORT"};
  if (f.format != "per-channel" && f.format != "single")
    return error{fmt::format("--format expects per-channel or single, got '{}'", f.format)};
  if (!f.rate.empty()) {
    auto r = parse_number("--rate", f.rate);
    if (!r) return r.err();
    if (*r <= 0) return error{"--rate must be positive"};
    p.rate = *r;
  }
  if (!f.duration.empty()) {
    auto d = parse_number("--duration", f.duration);
    if (!d) return d.err();
    if (*d <= 0) return error{"--duration must be positive"};
    p.duration_s = *d;
  }
  auto attack = parse_number("--attack-rate", f.attack_rate);
  if (!attack) return attack.err();
  p.opts.attack_rate = *attack;
  auto bad = parse_number("--bad-rate", f.bad_rate);
  if (!bad) return bad.err();
  p.opts.bad_rate = *bad;
  p.opts.live = p.rate.has_value();
  if (p.opts.live) {
    if (!f.start.empty())
      return error{"--start applies to simulated time; --rate follows the clock"};
    p.opts.count = 0;
  }
  if (!f.count.empty()) {
    auto c = parse_count("--count", f.count);
    if (!c) return c.err();
    if (*c == 0) return error{"--count must be positive"};
    p.opts.count = *c;
  }
  if (!p.opts.live) {
    if (p.duration_s) p.opts.simulated_span = static_cast<timestamp_ns>(*p.duration_s * 1e9);
    if (!f.start.empty()) {
      auto t = parse_rfc3339(f.start);
      if (!t) return error{fmt::format("--start expects an RFC 3339 time, got '{}'", f.start)};
      p.opts.start = *t;
    }
  }
  std::size_t from = 0;
  while (from < f.scenarios.size()) {
    auto to = f.scenarios.find(',', from);
    if (to == std::string::npos) to = f.scenarios.size();
    const auto name = std::string_view(f.scenarios).substr(from, to - from);
    const auto s = gen::scenario_from_name(name);
    if (!s) return error{fmt::format("--scenarios: unknown scenario '{}'", name)};
    p.opts.scenarios.push_back(*s);
    from = to + 1;
  }
  if (auto st = gen::validate(p.opts); !st) return error{st.message()};
  p.truth = f.truth;
  if (p.truth.empty() && !f.out_dir.empty())
    p.truth = (std::filesystem::path(f.out_dir) / "truth.jsonl").string();
  return p;
}

status write_truth(const std::string& path, const gen::generator& g) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return error{fmt::format("cannot write '{}': {}", path, std::strerror(errno))};
  for (const auto& i : g.incidents()) {
    if (i.events == 0) continue;  // stopped before it began
    const auto line = g.incident_json(i);
    std::fwrite(line.data(), 1, line.size(), f);
    std::fputc('\n', f);
  }
  for (const auto& b : g.bad_records()) {
    const auto line = g.bad_json(b);
    std::fwrite(line.data(), 1, line.size(), f);
    std::fputc('\n', f);
  }
  const bool failed = std::ferror(f) != 0;
  if (std::fclose(f) != 0 || failed)
    return error{fmt::format("writing '{}' failed: {}", path, std::strerror(errno))};
  return {};
}

/// Simulated time: as fast as the sink takes it.
status run_simulated(gen::generator& g, sink& out) {
  gen::generated e;
  std::uint64_t n = 0;
  while (g.next(e)) {
    if (auto st = out.write(e); !st) return st;
    if ((++n & 4095) == 0 && stop_requested.load(std::memory_order_relaxed)) break;
  }
  return {};
}

/// Wall-clock time, paced by a token bucket: events go out in batches every few
/// milliseconds, each batch stamped with the current time.
status run_live(gen::generator& g, sink& out, double rate, std::optional<double> duration_s) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const double burst = std::max(1.0, rate / 200);
  std::uint64_t sent = 0;
  gen::generated e;
  while (!stop_requested.load(std::memory_order_relaxed)) {
    const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
    if (duration_s && elapsed >= *duration_s) break;
    const auto allowed = static_cast<std::uint64_t>(std::min(elapsed * rate + 1, sent + burst));
    if (sent < allowed) {
      const timestamp_ns now = wall_clock_ns();
      for (; sent < allowed; ++sent) {
        if (!g.next_at(now, e)) return {};
        if (auto st = out.write(e); !st) return st;
      }
    }
    out.idle();
    const double next_due = static_cast<double>(sent) / rate;
    const double wait = std::clamp(next_due - elapsed, 0.001, 0.01);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
  return {};
}

int run_gen(const gen_flags& flags, const std::vector<std::string>& extras) {
  if (!extras.empty()) {
    fmt::print(stderr, "sentrail gen: unexpected argument '{}' (see sentrail gen --help)\n",
               extras.front());
    return 2;
  }
  auto p = make_plan(flags);
  if (!p) {
    fmt::print(stderr, "sentrail gen: {}\n", p.message());
    return 2;
  }
  std::unique_ptr<sink> out;
  if (!flags.out_dir.empty()) {
    auto s = file_sink::open(flags.out_dir, flags.format == "single");
    if (!s) {
      fmt::print(stderr, "sentrail gen: {}\n", s.message());
      return 2;
    }
    out = std::move(*s);
  } else {
    auto s = kafka_sink::open(flags.brokers, flags.topic_prefix);
    if (!s) {
      fmt::print(stderr, "sentrail gen: {}\n", s.message());
      return 2;
    }
    out = std::move(*s);
  }
  if (!p->truth.empty()) {  // fail now, not after a long run
    std::FILE* f = std::fopen(p->truth.c_str(), "wb");
    if (f == nullptr) {
      fmt::print(stderr, "sentrail gen: cannot write '{}': {}\n", p->truth, std::strerror(errno));
      return 2;
    }
    std::fclose(f);
  }

  stop_requested.store(false);
  auto old_int = std::signal(SIGINT, on_stop_signal);
  auto old_term = std::signal(SIGTERM, on_stop_signal);
  gen::generator g(p->opts);
  const auto started = std::chrono::steady_clock::now();
  status st = p->rate ? run_live(g, *out, *p->rate, p->duration_s) : run_simulated(g, *out);
  const status flushed = out->finish();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  if (st.ok()) st = flushed;
  if (st.ok() && !p->truth.empty()) st = write_truth(p->truth, g);

  const auto per = g.emitted_per_channel();
  std::size_t incidents = 0;
  for (const auto& i : g.incidents()) incidents += i.events > 0;
  fmt::print(stderr,
             "sentrail gen: {} events (web {}, mobile {}, pos {}, supplier {}, badge {}), "
             "{} incidents, {} malformed in {:.2f} s ({:.0f} events/s){}\n",
             g.emitted(), per[0], per[1], per[2], per[3], per[4], incidents, g.bad_records().size(),
             secs, secs > 0 ? static_cast<double>(g.emitted()) / secs : 0.0,
             p->truth.empty() ? "" : fmt::format("; truth in {}", p->truth));
  if (!st) {
    fmt::print(stderr, "sentrail gen: {}\n", st.message());
    return 2;
  }
  return 0;
}

}  // namespace

void add_gen_command(CLI::App& app, command_result& out) {
  auto flags = std::make_shared<gen_flags>();
  auto* cmd = app.add_subcommand(
      "gen",
      "Synthetic multichannel retail traffic (web, mobile, pos, supplier, badge) with injected "
      "attack incidents and a ground-truth file, to JSON-lines files or to Kafka.");
  cmd->add_option("--seed", flags->seed,
                  "Random seed; same seed and flags give identical output (default 1)");
  cmd->add_option("--count", flags->count,
                  "Events to generate (default 100000 for files; unbounded with --rate)");
  cmd->add_option(
      "--duration", flags->duration,
      "Seconds: with --rate stop after this wall time (whichever of --count and "
      "--duration comes first); otherwise the event time the events span (default 86400)");
  cmd->add_option("--rate", flags->rate,
                  "Events per second in real time; event time follows the wall clock (live mode)");
  cmd->add_option("--attack-rate", flags->attack_rate,
                  "Incidents per 10,000 events; 0 disables attacks (default 2)");
  cmd->add_option("--bad-rate", flags->bad_rate,
                  "Fraction of malformed events for dead-letter demos (default 0)");
  cmd->add_option("--start", flags->start,
                  "Event time of the first event, RFC 3339 (default 2026-11-23T00:00:00Z)");
  cmd->add_option("--out", flags->out_dir, "Write JSON lines into this directory");
  cmd->add_option("--brokers", flags->brokers, "Produce to Kafka at HOST:PORT[,HOST:PORT...]");
  cmd->add_option("--truth", flags->truth,
                  "Ground-truth JSON lines (default DIR/truth.jsonl with --out)");
  cmd->add_option("--format", flags->format,
                  "per-channel: DIR/<channel>.jsonl; single: DIR/events.jsonl with a \"channel\" "
                  "field (default per-channel)");
  cmd->add_option("--topic-prefix", flags->topic_prefix,
                  "Kafka topic prefix; events go to <prefix><channel> (default retail.)");
  cmd->add_option("--scenarios", flags->scenarios,
                  "Comma-separated scenarios to inject (default all): web_path_probe, "
                  "badge_door_forced, mobile_tor_login, pos_manual_high_value, "
                  "supplier_bank_change, supplier_bulk_export, credential_stuffing, "
                  "brute_force_then_success, card_testing, refund_fraud, no_sale_drawer, "
                  "after_hours_stockroom, gift_card_draining");
  cmd->footer(
      "Examples:\n"
      "  sentrail gen --out data --count 1000000\n"
      "  sentrail gen --brokers 127.0.0.1:9092 --rate 200 --truth truth.jsonl\n"
      "Exit code 2 on bad flags, unwritable output or unreachable brokers.");
  cmd->allow_extras();
  cmd->callback([flags, cmd, &out] { out.exit_code = run_gen(*flags, cmd->remaining()); });
}

}  // namespace sentrail::app
