#pragma once
// The engine's configuration: a YAML file (docs/configuration.md), then flags
// on top. Every option has its default here.

#include <string>
#include <utility>
#include <vector>

#include "alert/sink_config.h"
#include "common/result.h"
#include "correlate/engine.h"
#include "rules/loader.h"
#include "store/store.h"
#include "triage/http_api.h"
#include "worker/worker.h"

namespace sentrail::app {

struct engine_config {
  worker::worker_options worker;
  correlate::engine_options correlation;
  store::store_options store;
  /// correlation.evidence: `stored` keeps a copy of each correlated event in
  /// state; `reference` keeps where it came from and reads it back from its topic
  /// when an alert cites it or a restart buffers it again. Default: stored.
  bool evidence_by_reference = false;
  /// correlation.evidence_memory_mb: by reference, the latest input records kept
  /// in memory, so the events an alert cites are read from there while they are
  /// recent rather than from Kafka. Default: 64 MiB.
  std::size_t evidence_memory_bytes = std::size_t{64} << 20;
  std::string rules_path;                    // file or folder of Sigma rules
  /// `logsources:` (Sigma logsources outside product retail → channel) and
  /// `placeholders:` (values of %name% for the expand modifier). Default: none.
  rules::load_options rule_loading;
  std::string state_dir;                     // RocksDB state
  std::string mappings_dir;                  // Default: none (the built-in channels only)
  std::string hmac_key_file;                 // Default: <state>/hmac.key
  int metrics_port = 9464;                   // Default: 9464; 0 turns it off
  std::vector<alert::sink_config> sinks;     // Default: none (the alerts topic only; docs/sinks.md)
  /// api: {port, bind, tokens_file, incident_span, max_body_bytes, tls_cert, tls_key};
  /// the top-level api_port key (and --api-port) is a synonym for api.port. Default: port 0 (off).
  triage::api_options api;
};

/// Reads `file` over the defaults; errors name file:line:column and the cause.
result<engine_config> load_config(const std::string& file, engine_config defaults = {});

}  // namespace sentrail::app
