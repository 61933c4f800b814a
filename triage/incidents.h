#pragma once
// Groups related alerts into incidents as the worker raises them: an alert
// joins the open incident of any of its entity values (group values) when its
// last_seen lies within the span of that incident's last_seen; otherwise it
// starts one. An alert without group values gets none.

#include <memory>
#include <string>
#include <unordered_map>

#include "common/time.h"
#include "store/store.h"
#include "triage/records.h"
#include "worker/worker.h"

namespace sentrail::triage {

struct incident_options {
  timestamp_ns span = 3600 * ns_per_second;  // Default: 1h
};

/// Writes incident membership into the batch that raises the alert, so an alert
/// and its membership are durable together. Runs on the worker thread only; it
/// writes only worker-owned keys (records.h), never an incident's status.
class incident_grouper : public worker::alert_observer {
 public:
  incident_grouper(const store::durable_store& db, incident_options options);
  ~incident_grouper() override;

  void on_alert(store::batch& b, const correlate::alert& a, std::string_view json) override;
  void on_sealed() override;
  void on_committed() override;

 private:
  std::optional<std::string> incident_of_entity(std::string_view value) const;
  std::optional<records::membership> membership_of(const std::string& incident_id) const;
  bool closed(const std::string& incident_id) const;

  const store::durable_store& db_;
  incident_options options_;
  // Written into the batch in hand but not yet committed: later alerts of the same batch see them.
  std::unordered_map<std::string, std::string> pending_entities_;
  std::unordered_map<std::string, records::membership> pending_incidents_;
  // The same for the batch sealed before it, which may still be being written.
  std::unordered_map<std::string, std::string> sealed_entities_;
  std::unordered_map<std::string, records::membership> sealed_incidents_;
  struct parser_holder;
  std::unique_ptr<parser_holder> parser_;
};

}  // namespace sentrail::triage
