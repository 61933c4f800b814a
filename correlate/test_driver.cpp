#include "correlate/test_driver.h"

#include <algorithm>

namespace sentrail::correlate {

std::vector<alert> driver_output::of(std::string_view rule) const {
  std::vector<alert> out;
  for (const auto& a : alerts)
    if (a.rule_id == rule) out.push_back(a);
  return out;
}

std::vector<std::string> driver_output::ids() const {
  std::vector<std::string> out;
  for (const auto& a : alerts) out.push_back(a.id);
  std::sort(out.begin(), out.end());
  return out;
}

test_driver::test_driver(const ingest::channel_catalog& channels, const rules::rule_set& rules,
                         engine_options options)
    : channels_(channels) {
  options.idle_timeout = INT64_MAX;  // one input, never idle
  engine_ = std::make_unique<engine>(rules, options, &problems_);
  engine_->set_clock([this] { return last_time_; });
  pipeline_ = std::make_unique<pipeline>(channels_, *engine_, privacy_, state_);
  pipeline_->set_observer([this](const ingest::event& e) { last_time_ = e.time; });
}

driver_output test_driver::run(const std::vector<raw_event>& events, bool flush) {
  return run_batched(events, {}, 1, flush);
}

driver_output test_driver::run_batched(const std::vector<raw_event>& events, const std::vector<std::int32_t>& partitions,
                                       std::size_t per_advance, bool flush) {
  driver_output out;
  std::map<std::int32_t, std::int64_t> offsets;  // the next offset of each partition
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    const std::int32_t partition = i < partitions.size() ? partitions[i] : 0;
    const ingest::channel_mapping* channel = channels_.by_name(e.channel);
    ingest::source_position from{"test", partition, offsets[partition]++};
    if (!channel) {
      out.reject({ingest::rejection_reason::unknown_channel, "no channel '" + e.channel + "'"}, e.json, e.channel, from);
    } else {
      pipeline_->process(e.json, *channel, from, out, out);
    }
    if ((i + 1) % per_advance == 0) pipeline_->advance(0, out);
  }
  if (flush) pipeline_->flush(out);
  return out;
}

}  // namespace sentrail::correlate
