#include "alert/sink_dispatcher.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "alert/delivery_queue.h"
#include "common/time.h"

namespace sentrail::alert {

struct sink_dispatcher::lane {
  lane(store::durable_store& db, route r, metrics::engine_metrics* m)
      : config(std::move(r.config)), out(std::move(r.out)), queue(db, config.name), metrics(m) {}

  sink_config config;
  std::unique_ptr<sink> out;
  delivery_queue queue;
  metrics::engine_metrics* metrics;

  std::mutex mutex;
  std::mutex report_mutex;
  std::condition_variable wake;
  bool work = true;  // guarded by mutex: something may be queued
  bool stopping = false;
  std::atomic<std::int64_t> depth{0};
  std::size_t staged = 0;  // queued in the batch being built (worker thread)
  std::size_t sealed = 0;  // queued in the batch being written (worker thread)
  std::uint64_t resume_from = 0;  // every earlier delivery is finished (delivery thread)
  std::thread thread;
  std::mt19937_64 random{std::random_device{}()};

  void report(std::string_view outcome, std::size_t n) {
    if (metrics && n) metrics->sink_deliveries(config.name, outcome, n);
  }
  // Both threads report; reading the depth under the lock makes the last report current.
  void report_depth() {
    if (!metrics) return;
    std::lock_guard l(report_mutex);
    metrics->sink_queue_depth(config.name, static_cast<std::uint64_t>(std::max<std::int64_t>(0, depth.load())));
  }
  bool stop_requested() {
    std::lock_guard l(mutex);
    return stopping;
  }
  // Waits `d` unless asked to stop; new work does not cut a backoff short.
  void pause(std::chrono::nanoseconds d) {
    std::unique_lock l(mutex);
    wake.wait_for(l, d, [&] { return stopping; });
  }

  void run() {
    while (true) {
      {
        std::unique_lock l(mutex);
        wake.wait(l, [&] { return stopping || work; });
        if (stopping) return;
        work = false;
      }
      drain();
    }
  }

  // Delivers the queue front to back until it is empty or a stop is asked for.
  void drain() {
    std::uint64_t one_by_one_until = 0;  // after a rejected batch: find the bad one alone
    int consecutive_failures = 0;
    while (!stop_requested()) {
      auto items = queue.head(out->max_batch(), resume_from);
      if (items.empty()) return;
      if (items.front().sequence <= one_by_one_until) items.resize(1);
      std::vector<std::string_view> payloads;
      for (const auto& d : items) payloads.push_back(d.payload);

      auto started = std::chrono::steady_clock::now();
      delivery_result r = out->deliver(payloads);
      if (metrics)
        metrics->sink_delivery_duration(
            config.name, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

      if (r.what == delivery_result::outcome::delivered) {
        consecutive_failures = 0;
        if (auto s = queue.delivered(items); !s) {
          // Delivered but still queued: it will be delivered again (at least once).
          std::fprintf(stderr, "sentrail sinks: %s: %s\n", config.name.c_str(), s.message().c_str());
          pause(backoff_delay(config.retry, 1, jitter()));
          continue;
        }
        resume_from = items.back().sequence + 1;
        depth -= static_cast<std::int64_t>(items.size());
        report("delivered", items.size());
        report_depth();
        continue;
      }
      if (r.what == delivery_result::outcome::rejected && items.size() > 1) {
        one_by_one_until = items.back().sequence;
        continue;
      }
      auto counts = queue.failed(items, r, config.retry.max_attempts, wall_clock_now());
      if (!counts) {
        std::fprintf(stderr, "sentrail sinks: %s: %s\n", config.name.c_str(), counts.message().c_str());
        pause(backoff_delay(config.retry, 1, jitter()));
        continue;
      }
      std::fprintf(stderr, "sentrail sinks: %s: %s (attempt %d of %d%s)\n", config.name.c_str(), r.error.c_str(),
                   items.front().attempts, config.retry.max_attempts,
                   counts->dead_lettered ? fmt::format(", {} dead-lettered", counts->dead_lettered).c_str() : "");
      if (counts->retried == 0) resume_from = items.back().sequence + 1;
      report("retried", counts->retried);
      report("dead_lettered", counts->dead_lettered);
      depth -= static_cast<std::int64_t>(counts->dead_lettered);
      report_depth();
      if (counts->retried == 0) {
        consecutive_failures = 0;
        continue;  // nothing left to wait for: go on with the next deliveries
      }
      // Back off on the sink's failures in a row, which the head's attempts track
      // (they persist, so a restart does not hammer a sink that is still down).
      consecutive_failures = std::max(consecutive_failures + 1, items.front().attempts);
      pause(backoff_delay(config.retry, consecutive_failures, jitter()));
    }
  }

  double jitter() { return std::uniform_real_distribution<double>(0.0, 1.0)(random); }
};

result<std::unique_ptr<sink_dispatcher>> sink_dispatcher::create(store::durable_store& db,
                                                                 const std::vector<sink_config>& sinks,
                                                                 metrics::engine_metrics* metrics) {
  std::vector<route> routes;
  for (const auto& c : sinks) {
    auto s = make_sink(c);
    if (!s) return error{s.message()};
    routes.push_back({c, std::move(s).value()});
  }
  return std::make_unique<sink_dispatcher>(db, std::move(routes), metrics);
}

sink_dispatcher::sink_dispatcher(store::durable_store& db, std::vector<route> routes,
                                 metrics::engine_metrics* metrics)
    : db_(db), metrics_(metrics) {
  for (auto& r : routes) {
    auto l = std::make_unique<lane>(db_, std::move(r), metrics_);
    l->depth = static_cast<std::int64_t>(l->queue.count());
    if (metrics_) {
      // Series that exist from the start, so rates and alerts see 0 rather than nothing.
      for (const char* outcome : {"delivered", "retried", "dead_lettered"})
        metrics_->sink_deliveries(l->config.name, outcome, 0);
      l->report_depth();
    }
    lanes_.push_back(std::move(l));
  }
}

sink_dispatcher::~sink_dispatcher() { stop(); }

void sink_dispatcher::enqueue(store::batch& b, const correlate::alert& a, std::string_view json) {
  for (auto& l : lanes_) {
    if (!matches(l->config.match, a)) continue;
    l->queue.enqueue(b, a.id, l->out->payload(a, json));
    ++l->staged;
  }
}

void sink_dispatcher::sealed() {
  for (auto& l : lanes_) {
    l->sealed += l->staged;
    l->staged = 0;
  }
}

void sink_dispatcher::committed() {
  for (auto& l : lanes_) {
    if (!l->sealed) continue;
    l->depth += static_cast<std::int64_t>(l->sealed);
    l->sealed = 0;
    l->report_depth();
    {
      std::lock_guard g(l->mutex);
      l->work = true;
    }
    l->wake.notify_one();
  }
}

void sink_dispatcher::start() {
  for (auto& l : lanes_)
    if (!l->thread.joinable()) l->thread = std::thread([lp = l.get()] { lp->run(); });
}

void sink_dispatcher::stop() {
  for (auto& l : lanes_) {
    {
      std::lock_guard g(l->mutex);
      l->stopping = true;
    }
    l->wake.notify_one();
  }
  for (auto& l : lanes_)
    if (l->thread.joinable()) l->thread.join();
}

std::int64_t sink_dispatcher::pending(std::string_view sink) const {
  for (const auto& l : lanes_)
    if (l->config.name == sink) return l->depth;
  return 0;
}

std::size_t sink_dispatcher::size() const { return lanes_.size(); }

}  // namespace sentrail::alert
