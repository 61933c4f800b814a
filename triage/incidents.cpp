#include "triage/incidents.h"

#include <simdjson.h>

#include <algorithm>

namespace sentrail::triage {

struct incident_grouper::parser_holder {
  simdjson::dom::parser parser;
};

incident_grouper::incident_grouper(const store::durable_store& db, incident_options options)
    : db_(db), options_(options), parser_(std::make_unique<parser_holder>()) {}
incident_grouper::~incident_grouper() = default;

std::optional<std::string> incident_grouper::incident_of_entity(std::string_view value) const {
  for (const auto* batch : {&pending_entities_, &sealed_entities_})
    if (auto it = batch->find(std::string(value)); it != batch->end()) return it->second;
  return db_.get(store::table::incidents, records::entity_key(value));
}

std::optional<records::membership> incident_grouper::membership_of(const std::string& id) const {
  for (const auto* batch : {&pending_incidents_, &sealed_incidents_})
    if (auto it = batch->find(id); it != batch->end()) return it->second;
  auto stored = db_.get(store::table::incidents, records::membership_key(id));
  if (!stored) return std::nullopt;
  return records::decode_membership(parser_->parser, *stored);
}

bool incident_grouper::closed(const std::string& id) const {
  auto stored = db_.get(store::table::incidents, records::incident_state_key(id));
  if (!stored) return false;
  auto s = records::decode_incident_state(parser_->parser, *stored);
  return s && s->status == "closed";
}

void incident_grouper::on_alert(store::batch& b, const correlate::alert& a, std::string_view) {
  std::string joined;
  std::optional<records::membership> m;
  for (const auto& [field, value] : a.group) {
    if (value.empty()) continue;
    auto id = incident_of_entity(value);
    if (!id) continue;
    auto candidate = membership_of(*id);
    // A closed incident is done: a new alert on its entity starts a new one.
    if (!candidate || closed(*id)) continue;
    timestamp_ns gap = a.last_seen > candidate->last_seen ? a.last_seen - candidate->last_seen
                                                          : candidate->last_seen - a.last_seen;
    if (gap > options_.span) continue;
    joined = *id;
    m = std::move(candidate);
    break;
  }
  bool any_value = std::any_of(a.group.begin(), a.group.end(), [](const auto& g) { return !g.second.empty(); });
  if (!any_value) return;
  if (joined.empty()) {
    joined = correlate::stable_id({"incident", a.id});
    m = records::membership{a.entity(), a.first_seen, a.last_seen, {}};
  } else if (a.last_seen > m->last_seen) {
    b.tables.push_back({store::table::incidents, records::incident_time_key(m->last_seen, joined), std::nullopt});
  }
  m->first_seen = std::min(m->first_seen, a.first_seen);
  m->last_seen = std::max(m->last_seen, a.last_seen);
  m->alerts.push_back(a.id);
  b.tables.push_back({store::table::incidents, records::membership_key(joined), records::encode(*m)});
  b.tables.push_back({store::table::incidents, records::incident_time_key(m->last_seen, joined), std::string()});
  b.tables.push_back({store::table::incidents, records::alert_incident_key(a.id), joined});
  for (const auto& [field, value] : a.group) {
    if (value.empty()) continue;
    b.tables.push_back({store::table::incidents, records::entity_key(value), joined});
    pending_entities_[value] = joined;
  }
  pending_incidents_[joined] = std::move(*m);
}

void incident_grouper::on_sealed() {
  sealed_entities_ = std::move(pending_entities_);
  sealed_incidents_ = std::move(pending_incidents_);
  pending_entities_.clear();
  pending_incidents_.clear();
}

void incident_grouper::on_committed() {
  sealed_entities_.clear();
  sealed_incidents_.clear();
}

}  // namespace sentrail::triage
