#include "triage/incidents.h"

#include <gtest/gtest.h>

#include <set>

#include "fixture.h"

using namespace sentrail;
using namespace sentrail::triage;
using namespace sentrail::triage::testing;

namespace {
class incidents : public triage_fixture {};
}  // namespace

TEST_F(incidents, alerts_on_one_entity_within_the_span_form_one_incident_and_beyond_it_a_new_one) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time)});
  // Another rule, another channel, same entity value under another field, 50 minutes later.
  raise({make_alert("a2", "rule-y", "medium", "retail.employee.id", "ann", base_time + 50 * minute, "pos")});
  // 50 minutes after the incident's last_seen: still within the 1h span.
  raise({make_alert("a3", "rule-x", "high", "user.name", "ann", base_time + 100 * minute)});
  // 61 minutes after: too far, a new incident.
  raise({make_alert("a4", "rule-x", "high", "user.name", "ann", base_time + 161 * minute)});
  // A different entity: its own incident.
  raise({make_alert("a5", "rule-x", "low", "user.name", "bob", base_time + 101 * minute)});

  auto first = summary("a1").incident_id;
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(summary("a2").incident_id, first);
  EXPECT_EQ(summary("a3").incident_id, first);
  EXPECT_NE(summary("a4").incident_id, first);
  EXPECT_NE(summary("a5").incident_id, first);
  EXPECT_NE(summary("a5").incident_id, summary("a4").incident_id);

  auto d = service_->incident(first);
  ASSERT_TRUE(d) << d.why().message;
  EXPECT_EQ(d->summary.entity, "user.name=ann");
  EXPECT_EQ(d->summary.status, "open");
  EXPECT_EQ(d->summary.alert_ids.size(), 3u);
  EXPECT_EQ(d->summary.first_seen, base_time);
  EXPECT_EQ(d->summary.last_seen, base_time + 100 * minute);
  EXPECT_EQ(d->summary.levels["high"], 2);
  EXPECT_EQ(d->summary.levels["medium"], 1);
  EXPECT_EQ(d->summary.rules, (std::vector<std::string>{"rule-x", "rule-y"}));
  EXPECT_EQ(d->summary.channels, (std::vector<std::string>{"web", "pos"}));
  ASSERT_EQ(d->alerts.size(), 3u);
  EXPECT_EQ(d->alerts[0].id, "a1");
  EXPECT_EQ(d->alerts[2].id, "a3");

  auto all = service_->list_incidents({});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 3u);
  ASSERT_EQ(all->incidents.size(), 3u);
  EXPECT_EQ(all->incidents[0].id, summary("a4").incident_id);  // newest last_seen first
}

TEST_F(incidents, alerts_in_one_batch_see_each_other) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time),
         make_alert("a2", "rule-y", "high", "user.name", "ann", base_time + minute)});
  EXPECT_EQ(summary("a1").incident_id, summary("a2").incident_id);
  auto d = service_->incident(summary("a1").incident_id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->summary.alert_ids.size(), 2u);
  EXPECT_EQ(service_->list_incidents({})->total, 1u);  // one listing entry, moved to the newer time
}

// Under a backlog the worker writes a batch while it builds the next: an alert
// of the next batch must join the incident the batch being written started, and
// that batch's commit must not forget what the next one holds.
TEST_F(incidents, an_alert_joins_the_incident_of_the_batch_still_being_written) {
  auto a1 = make_alert("a1", "rule-x", "high", "user.name", "ann", base_time);
  auto a2 = make_alert("a2", "rule-y", "high", "user.name", "ann", base_time + minute);
  auto a3 = make_alert("a3", "rule-x", "low", "user.name", "ann", base_time + 2 * minute);
  store::batch writing;
  std::string json = correlate::to_json(a1);
  ASSERT_TRUE(db_->add_alert(writing, a1, json));
  grouper_->on_alert(writing, a1, json);
  grouper_->on_sealed();  // handed to the store, not yet durable
  store::batch next;
  json = correlate::to_json(a2);
  ASSERT_TRUE(db_->add_alert(next, a2, json));
  grouper_->on_alert(next, a2, json);
  ASSERT_TRUE(db_->commit(writing).ok());
  grouper_->on_committed();
  store::batch after;  // built while `next` is written
  grouper_->on_sealed();
  json = correlate::to_json(a3);
  ASSERT_TRUE(db_->add_alert(after, a3, json));
  grouper_->on_alert(after, a3, json);
  ASSERT_TRUE(db_->commit(next).ok());
  grouper_->on_committed();
  grouper_->on_sealed();
  ASSERT_TRUE(db_->commit(after).ok());
  grouper_->on_committed();

  auto first = summary("a1").incident_id;
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(summary("a2").incident_id, first);
  EXPECT_EQ(summary("a3").incident_id, first);
  EXPECT_EQ(service_->list_incidents({})->total, 1u);
  EXPECT_EQ(service_->incident(first)->summary.alert_ids.size(), 3u);
}

TEST_F(incidents, an_alert_without_group_values_gets_no_incident) {
  raise({make_alert("a1", "rule-x", "high", "", "", base_time)});
  EXPECT_EQ(summary("a1").incident_id, "");
  EXPECT_EQ(service_->list_incidents({})->total, 0u);
}

TEST_F(incidents, closing_an_incident_closes_its_open_alerts_and_a_later_alert_starts_a_new_one) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time),
         make_alert("a2", "rule-y", "high", "user.name", "ann", base_time + minute),
         make_alert("a3", "rule-y", "high", "user.name", "ann", base_time + 2 * minute)});
  auto id = summary("a1").incident_id;
  ASSERT_TRUE(service_->act(alice_, "a3", {action_kind::close, "benign", {}, {}}));
  auto ack = service_->act_on_incident(alice_, id, {action_kind::acknowledge, {}, {}, {}});
  ASSERT_TRUE(ack) << ack.why().message;
  EXPECT_EQ(ack->status, "acknowledged");
  auto no_verdict = service_->act_on_incident(alice_, id, {action_kind::close, {}, {}, {}});
  ASSERT_FALSE(no_verdict);
  EXPECT_EQ(no_verdict.why().why, refusal::bad_input);

  auto closed = service_->act_on_incident(alice_, id, {action_kind::close, "true_positive", {}, "account takeover"});
  ASSERT_TRUE(closed) << closed.why().message;
  EXPECT_EQ(closed->status, "closed");
  EXPECT_EQ(closed->verdict, "true_positive");
  EXPECT_EQ(summary("a1").status, "closed");
  EXPECT_EQ(summary("a1").verdict, "true_positive");
  EXPECT_EQ(summary("a2").verdict, "true_positive");
  EXPECT_EQ(summary("a3").verdict, "benign");  // already closed: left as it was
  auto again = service_->act_on_incident(alice_, id, {action_kind::close, "benign", {}, {}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.why().why, refusal::conflict);

  // Each alert closed through the incident is audited on its own.
  auto a1 = service_->alert("a1");
  ASSERT_EQ(a1->history.size(), 1u);
  EXPECT_NE(a1->history[0].find("closed with incident " + id), std::string::npos);
  EXPECT_EQ(service_->incident(id)->history.size(), 2u);

  raise({make_alert("a4", "rule-x", "high", "user.name", "ann", base_time + 3 * minute)});
  EXPECT_NE(summary("a4").incident_id, id);
  EXPECT_FALSE(summary("a4").incident_id.empty());

  incident_filter open_only;
  open_only.statuses = {"open"};
  auto open = service_->list_incidents(open_only);
  ASSERT_EQ(open->incidents.size(), 1u);
  EXPECT_EQ(open->incidents[0].id, summary("a4").incident_id);

  auto reopened = service_->act_on_incident(alice_, id, {action_kind::reopen, {}, {}, {}});
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->status, "acknowledged");
  EXPECT_EQ(reopened->verdict, "");
  EXPECT_FALSE(service_->incident("nope"));
}

TEST_F(incidents, a_batch_commit_does_not_undo_an_analysts_status_change) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time)});
  auto id = summary("a1").incident_id;
  ASSERT_TRUE(service_->act_on_incident(alice_, id, {action_kind::assign, {}, "bob", {}}));
  // The worker adds a member to the incident afterwards.
  raise({make_alert("a2", "rule-x", "high", "user.name", "ann", base_time + minute)});
  auto d = service_->incident(id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->summary.alert_ids.size(), 2u);
  EXPECT_EQ(d->summary.assignee, "bob");
}

TEST_F(incidents, incident_listing_pages_with_a_cursor) {
  for (int i = 0; i < 7; ++i)
    raise({make_alert("a" + std::to_string(i), "rule-x", "high", "user.name", "u" + std::to_string(i),
                      base_time + i * minute)});
  incident_filter f;
  f.limit = 3;
  std::set<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto got = service_->list_incidents(f);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->total, 7u);
    for (const auto& i : got->incidents) EXPECT_TRUE(seen.insert(i.id).second);
    if (got->next_cursor.empty()) break;
    f.cursor = got->next_cursor;
  }
  EXPECT_EQ(seen.size(), 7u);
}
