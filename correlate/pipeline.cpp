#include "correlate/pipeline.h"

namespace sentrail::correlate {

pipeline::pipeline(const ingest::channel_catalog& channels, engine& correlations,
                   const ingest::minimiser& privacy, state_view& state, ingest::decoder_options options)
    : channels_(channels), engine_(&correlations), state_(state), decoder_(privacy, options) {
  set_engine(correlations);
}

void pipeline::set_engine(engine& e) {
  engine_ = &e;
  // A late event is still matched by detections; only correlation skips it, so
  // it goes to the dead letters with the reason rather than vanishing.
  engine_->set_late_handler([this](const ingest::event& ev, timestamp_ns watermark) {
    ++counts_.late;
    ++counts_.rejected_by_reason[static_cast<std::size_t>(ingest::rejection_reason::late_event)];
    if (!current_rejections_) return;
    current_rejections_->reject({ingest::rejection_reason::late_event,
                                 "event time " + format_rfc3339(ev.time) + " is behind the watermark " +
                                     format_rfc3339(watermark) + ": detections ran, correlations did not"},
                                current_raw_, ev.channel, ev.source);
  });
}

void pipeline::process(std::string_view raw, const ingest::channel_mapping& channel,
                       const ingest::source_position& from, alert_sink& alerts, rejection_sink& rejections) {
  if (auto why = decoder_.decode(raw, channel, from, event_)) {
    ++counts_.rejected;
    ++counts_.rejected_by_reason[static_cast<std::size_t>(why->reason)];
    rejections.reject(*why, raw, channel.name, from);
    return;
  }
  ++counts_.events;
  partition_.assign(from.topic);
  partition_.push_back('/');
  partition_ += std::to_string(from.partition);
  current_raw_ = raw;
  current_rejections_ = &rejections;
  engine_->on_event(event_, partition_, state_, alerts);
  current_rejections_ = nullptr;
  if (observer_) observer_(event_);
}

}  // namespace sentrail::correlate
