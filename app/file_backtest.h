#pragma once
// Running the live pipeline over files, for `sentrail replay` and `sentrail eval`:
// an engine with in-memory state whose clock is event time, each file an input
// read side by side with the others by event time, lines read from an mmap without copies.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "correlate/memory_state.h"
#include "correlate/pipeline.h"
#include "ingest/decoder.h"

namespace sentrail::app {

struct backtest_totals {
  std::uint64_t lines = 0;     // non-empty lines read
  std::uint64_t unrouted = 0;  // lines no channel could be found for (rejected)
};

class mapped_file;

class file_backtest {
 public:
  file_backtest(const ingest::channel_catalog& channels, const rules::rule_set& rules,
                const ingest::minimiser& privacy, correlate::engine_options options);
  ~file_backtest();

  /// Feeds every non-empty line of `files` to the pipeline, routed to `fixed`, else
  /// the channel the file is named after (web.jsonl), else the line's `channel`
  /// field; unroutable lines are rejected. Ends the input (flush) after the last file.
  result<backtest_totals> run(const std::vector<std::string>& files, const ingest::channel_mapping* fixed,
                              correlate::alert_sink& alerts, correlate::rejection_sink& rejections);

  /// Correlations that could not be built.
  const std::vector<std::string>& problems() const { return problems_; }
  correlate::engine& correlations() { return *engine_; }
  correlate::pipeline& pipeline() { return *pipeline_; }

 private:
  /// One input file, mapped for the whole run: alerts cite its lines by number
  /// (evidence by reference) and reread them, so no copy of an event is kept.
  struct input {
    std::string path;
    std::string partition;
    std::unique_ptr<mapped_file> file;
    std::string_view rest;         // not read yet
    std::vector<std::uint64_t> line_starts;  // byte offset of line n + 1
    const ingest::channel_mapping* by_name = nullptr;
    timestamp_ns last_time = INT64_MIN;  // of its latest decoded event
    bool ended = false;
  };
  /// The line `from` names, decoded and minimised again; false when it is not one of ours.
  bool reread(const ingest::source_position& from, ingest::event& out);

  const ingest::channel_catalog& channels_;
  const ingest::minimiser& privacy_;
  std::unique_ptr<ingest::decoder> rereader_;
  std::vector<input> inputs_;
  std::vector<std::string> problems_;
  std::unique_ptr<correlate::engine> engine_;
  correlate::memory_state state_;
  std::unique_ptr<correlate::pipeline> pipeline_;
  timestamp_ns last_event_time_ = 0;
  std::uint64_t events_seen_ = 0;
};

}  // namespace sentrail::app
