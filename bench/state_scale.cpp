// How state behaves as the number of live entities grows: for each entity count
// N, N distinct source IPs each send one failed login (one live window per IP
// under "≥ 5 failures per IP in 1 h"), through the real pipeline and the RocksDB
// state, committed in batches as the worker does. Prints throughput, resident
// memory and state size per N. Memory should stay near the configured budget
// (state cache entries + block cache + write buffers), not grow with N.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "correlate/pipeline.h"
#include "ingest/mapping.h"
#include "rules/loader.h"
#include "store/state.h"
#include "store/store.h"

namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

const char* rules_yaml = R"(
title: Failed web login
name: web_login_failed
id: bench-failed
logsource: {product: retail, service: web}
detection: {sel: {event.action: login_failed}, condition: sel}
---
title: Five failures per IP
id: bench-five
correlation: {type: event_count, rules: [web_login_failed], group-by: [source.ip], timespan: 1h, condition: {gte: 5}}
)";

struct null_sinks : sentrail::correlate::alert_sink, sentrail::correlate::rejection_sink {
  std::uint64_t alerts = 0, rejected = 0;
  void emit(const sentrail::correlate::alert&) override { ++alerts; }
  void reject(const sentrail::ingest::rejection&, std::string_view, std::string_view,
              const sentrail::ingest::source_position&) override {
    ++rejected;
  }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace sentrail;
  if (argc < 3 || std::string_view(argv[1]) == "--help") {
    std::fprintf(stderr,
                 "usage: sentrail-bench-state DIR N [N...]\n"
                 "  For each N: N distinct entities with live windows through the pipeline and RocksDB\n"
                 "  state in DIR/N (deleted after). Budget: 100k cached state entries, 64 MiB block cache,\n"
                 "  32 MiB write buffers. Prints events/s, resident memory and state bytes.\n");
    return argc < 3 ? 2 : 0;
  }
  std::filesystem::path root = argv[1];
  auto channels = ingest::default_catalog().value();
  auto loaded = rules::parse_rules(rules_yaml, "bench.yml");
  ingest::minimiser privacy("bench-key-0123456789abcdef");
  std::printf("%12s %12s %10s %10s %12s\n", "entities", "events/s", "rss MiB", "state MiB", "rss growth");
  long baseline_rss = 0;
  for (int i = 2; i < argc; ++i) {
    long n = std::strtol(argv[i], nullptr, 10);
    auto dir = root / std::to_string(n);
    std::filesystem::remove_all(dir);
    {
      store::store_options options;
      options.sync_writes = false;
      options.block_cache_bytes = 64 << 20;
      options.write_buffer_bytes = 32 << 20;
      auto db = store::durable_store::open(dir, options);
      if (!db) {
        std::fprintf(stderr, "%s\n", db.message().c_str());
        return 1;
      }
      store::cached_state state(**db, 100'000);
      correlate::engine_options eo;
      eo.idle_timeout = INT64_MAX;
      eo.allowed_lateness = 0;
      correlate::engine engine(loaded.rules, eo);
      correlate::pipeline pipe(channels, engine, privacy, state);
      null_sinks sinks;
      const auto& web = *channels.by_name("web");
      timestamp_ns t0 = *parse_rfc3339("2026-11-23T00:00:00Z");
      std::string json;
      auto started = std::chrono::steady_clock::now();
      for (long k = 0; k < n; ++k) {
        json = fmt::format(R"({{"ts":"{}","client_ip":"10.{}.{}.{}","user":"u","event":"login_failed"}})",
                           format_rfc3339(t0 + k * 100'000), (k >> 16) & 255, (k >> 8) & 255, k & 255);
        if (k >= 16'777'216) json.insert(json.find("10."), "1");  // beyond 2^24 IPs: another /8
        pipe.process(json, web, {"bench", 0, k}, sinks, sinks);
        if ((k + 1) % 20'000 == 0 || k + 1 == n) {
          pipe.advance(0, sinks);
          store::batch b;
          state.flush_into(b);
          if (auto s = (*db)->commit(b); !s) {
            std::fprintf(stderr, "%s\n", s.message().c_str());
            return 1;
          }
          state.trim();
        }
      }
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      long rss = rss_kib();
      if (baseline_rss == 0) baseline_rss = rss;
      std::printf("%12ld %12.0f %10.1f %10.1f %11.2fx\n", n, static_cast<double>(n) / secs, rss / 1024.0,
                  static_cast<double>((*db)->state_bytes()) / (1 << 20), static_cast<double>(rss) / baseline_rss);
      std::fflush(stdout);
    }
    std::filesystem::remove_all(dir);
  }
  return 0;
}
