#include "app/file_backtest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace sentrail::app {

// A read-only view of a whole file; lines are split without copying.
class mapped_file {
 public:
  explicit mapped_file(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) return;
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return;
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) {
      ok_ = true;
      return;
    }
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) return;
    ::madvise(p, size_, MADV_SEQUENTIAL);
    data_ = static_cast<const char*>(p);
    ok_ = true;
  }
  ~mapped_file() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  bool ok() const { return ok_; }
  std::string_view text() const { return {data_ ? data_ : "", size_}; }

 private:
  int fd_ = -1;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  bool ok_ = false;
};

file_backtest::file_backtest(const ingest::channel_catalog& channels, const rules::rule_set& rules,
                             const ingest::minimiser& privacy, correlate::engine_options options)
    : channels_(channels), privacy_(privacy) {
  // Files have no wall-clock idleness: an input holds the watermark until it ends.
  options.idle_timeout = INT64_MAX;
  // The files outlive the run, so evidence need not be copied into state: most
  // correlated events are never cited, and copying each one was a third of the
  // time of a pack replay and most of its memory.
  options.reread = [this](const ingest::source_position& from, ingest::event& out) { return reread(from, out); };
  engine_ = std::make_unique<correlate::engine>(rules, options, &problems_);
  // Alerts carry event time, not the run's clock, so a backtest is repeatable.
  engine_->set_clock([this] { return last_event_time_; });
  pipeline_ = std::make_unique<correlate::pipeline>(channels_, *engine_, privacy, state_);
  pipeline_->set_observer([this](const ingest::event& e) {
    last_event_time_ = e.time;
    ++events_seen_;
  });
}

file_backtest::~file_backtest() = default;

bool file_backtest::reread(const ingest::source_position& from, ingest::event& out) {
  for (auto& in : inputs_) {
    if (in.path != from.topic || from.partition != 0) continue;
    if (from.offset < 1 || static_cast<std::uint64_t>(from.offset) > in.line_starts.size()) return false;
    std::string_view text = in.file->text().substr(in.line_starts[static_cast<std::size_t>(from.offset - 1)]);
    std::string_view line = text.substr(0, text.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const ingest::channel_mapping* channel = in.by_name;
    if (!channel) {
      auto name = ingest::peek_string_field(line, "channel");
      channel = name ? channels_.by_name(*name) : nullptr;
    }
    if (!channel) return false;
    if (!rereader_) rereader_ = std::make_unique<ingest::decoder>(privacy_);
    return !rereader_->decode(line, *channel, from, out);
  }
  return false;
}

result<backtest_totals> file_backtest::run(const std::vector<std::string>& files,
                                           const ingest::channel_mapping* fixed, correlate::alert_sink& alerts,
                                           correlate::rejection_sink& rejections) {
  // The files are read side by side, like a consumer reading its partitions at
  // once: a few lines at a time from whichever file is furthest behind in event
  // time. Read one after another, every file would hold the watermark back until
  // the last began, and every correlated event of the run would wait in the
  // reorder buffer (memory growing with the input).
  std::vector<input>& inputs = inputs_;
  inputs.clear();
  inputs.reserve(files.size());  // the engine's keys view each path: they must not move
  for (const auto& path : files) {
    input in;
    in.path = path;
    in.partition = path + "/0";
    in.file = std::make_unique<mapped_file>(path);
    if (!in.file->ok()) return error{"cannot read " + path};
    in.rest = in.file->text();
    in.by_name = fixed ? fixed : channels_.by_name(std::filesystem::path(path).stem().string());
    engine_->expect_partition(in.partition);
    inputs.push_back(std::move(in));
  }
  constexpr int lines_per_turn = 64;  // small next to any rule's window, large next to the choice
  backtest_totals totals;
  std::size_t open = inputs.size();
  while (open > 0) {
    input* in = nullptr;
    for (auto& candidate : inputs)
      if (!candidate.ended && (!in || candidate.last_time < in->last_time)) in = &candidate;
    for (int n = 0; n < lines_per_turn && !in->rest.empty(); ++n) {
      std::size_t nl = in->rest.find('\n');
      std::string_view line = in->rest.substr(0, nl);
      in->line_starts.push_back(static_cast<std::uint64_t>(line.data() - in->file->text().data()));
      in->rest.remove_prefix(nl == std::string_view::npos ? in->rest.size() : nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      ++totals.lines;
      const ingest::channel_mapping* channel = in->by_name;
      if (!channel) {
        auto name = ingest::peek_string_field(line, "channel");
        channel = name ? channels_.by_name(*name) : nullptr;
      }
      ingest::source_position from{in->path, 0, static_cast<std::int64_t>(in->line_starts.size())};  // line number
      if (!channel) {
        ++totals.unrouted;
        rejections.reject({ingest::rejection_reason::unknown_channel,
                           "no --channel, no channel named like the file, and no known 'channel' field"},
                          line, "", from);
        continue;
      }
      std::uint64_t seen = events_seen_;
      pipeline_->process(line, *channel, from, alerts, rejections);
      if (events_seen_ != seen) in->last_time = std::max(in->last_time, last_event_time_);
      if ((totals.lines & 255) == 0) pipeline_->advance(0, alerts);
    }
    if (in->rest.empty()) {
      // An ended file holds event time back no more (as a revoked partition).
      engine_->forget_partition(in->partition, state_);
      in->ended = true;  // still mapped: alerts may cite its lines
      --open;
    }
  }
  pipeline_->flush(alerts);
  return totals;
}

}  // namespace sentrail::app
