#include "correlate/pipeline.h"

namespace sentrail::correlate {

pipeline::pipeline(const ingest::channel_catalog& channels, engine& correlations,
                   const ingest::minimiser& privacy, state_view& state, ingest::decoder_options options)
    : channels_(channels), engine_(&correlations), state_(state), decoder_(privacy, options), privacy_(privacy) {
  set_engine(correlations);
}

void pipeline::set_engine(engine& e) {
  engine_ = &e;
  // Events no rule matches are thrown away unread beyond the rules' fields, so
  // only those need minimising before matching (hashing, PAN scans of the rest
  // cost half the time of an event); a matched event is finished in full.
  read_fields_.assign(channels_.all().size(), std::nullopt);
  for (std::size_t c = 0; c < channels_.all().size(); ++c) {
    std::vector<ingest::field_id> ids;
    bool known = true;
    for (const rules::detection_rule* rule : e.rule_set().for_channel(channels_.all()[c].name))
      known = known && rule->fields_read(ids);
    // The card token comes from the first PAN in any field: reading it needs every field.
    for (auto id : ids)
      if (id == ingest::fields::card_token || id == ingest::fields::card_last4) known = false;
    if (!known) continue;
    std::vector<bool> marked;
    for (auto id : ids) {
      if (id >= marked.size()) marked.resize(id + 1, false);
      marked[id] = true;
    }
    read_fields_[c] = std::move(marked);
  }
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

namespace {
// Minimises the rest of a partly minimised event, when the engine first keeps it.
class finish_minimising : public event_completion {
 public:
  finish_minimising(const ingest::minimiser& privacy, ingest::event& e, const ingest::channel_mapping& channel,
                    const std::vector<bool>& done)
      : privacy_(privacy), e_(e), channel_(channel), done_(done) {}
  void complete() override { privacy_.apply_part(e_, channel_, done_, false); }

 private:
  const ingest::minimiser& privacy_;
  ingest::event& e_;
  const ingest::channel_mapping& channel_;
  const std::vector<bool>& done_;
};
}  // namespace

void pipeline::process(std::string_view raw, const ingest::channel_mapping& channel,
                       const ingest::source_position& from, alert_sink& alerts, rejection_sink& rejections) {
  const std::vector<bool>* partial = nullptr;
  if (const auto* all = channels_.all().data(); &channel >= all && &channel < all + channels_.all().size())
    if (const auto& read = read_fields_[static_cast<std::size_t>(&channel - all)]) partial = &*read;
  if (auto why = decoder_.decode(raw, channel, from, event_, partial)) {
    ++counts_.rejected;
    ++counts_.rejected_by_reason[static_cast<std::size_t>(why->reason)];
    rejections.reject(*why, raw, channel.name, from);
    return;
  }
  ++counts_.events;
  if (from.partition != partition_id_ || from.topic != partition_topic_) {
    partition_.assign(from.topic);
    partition_.push_back('/');
    partition_ += std::to_string(from.partition);
    partition_topic_ = std::string_view(partition_).substr(0, from.topic.size());
    partition_id_ = from.partition;
  }
  current_raw_ = raw;
  current_rejections_ = &rejections;
  if (partial) {
    finish_minimising finish(privacy_, event_, channel, *partial);
    engine_->on_event(event_, partition_, state_, alerts, &finish);
  } else {
    engine_->on_event(event_, partition_, state_, alerts);
  }
  current_rejections_ = nullptr;
  if (observer_) observer_(event_);
}

}  // namespace sentrail::correlate
