#include "triage/service.h"

#include <gtest/gtest.h>

#include <set>

#include "fixture.h"
#include "triage/records.h"
#include "triage/views.h"

using namespace sentrail;
using namespace sentrail::triage;
using namespace sentrail::triage::testing;

namespace {

class triage_service : public triage_fixture {};

action act_of(action_kind k, std::string verdict = {}, std::string assignee = {}, std::string note = {}) {
  return action{k, std::move(verdict), std::move(assignee), std::move(note)};
}

}  // namespace

TEST_F(triage_service, an_alert_moves_new_acknowledged_closed_and_refuses_the_wrong_step_with_a_conflict) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time)});
  EXPECT_EQ(summary("a1").status, "new");

  auto reopen_new = service_->act(alice_, "a1", act_of(action_kind::reopen));
  ASSERT_FALSE(reopen_new);
  EXPECT_EQ(reopen_new.why().why, refusal::conflict);

  auto ack = service_->act(alice_, "a1", act_of(action_kind::acknowledge, {}, {}, "looking"));
  ASSERT_TRUE(ack) << ack.why().message;
  EXPECT_EQ(ack->status, "acknowledged");
  auto again = service_->act(alice_, "a1", act_of(action_kind::acknowledge));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.why().why, refusal::conflict);

  ASSERT_TRUE(service_->act(alice_, "a1", act_of(action_kind::assign, {}, "bob")));
  auto closed = service_->act(alice_, "a1", act_of(action_kind::close, "true_positive", {}, "confirmed"));
  ASSERT_TRUE(closed) << closed.why().message;
  EXPECT_EQ(closed->status, "closed");
  EXPECT_EQ(closed->verdict, "true_positive");
  EXPECT_EQ(closed->assignee, "bob");

  for (auto k : {action_kind::close, action_kind::acknowledge, action_kind::assign}) {
    auto refused_step = service_->act(alice_, "a1", act_of(k, "benign", "carol"));
    ASSERT_FALSE(refused_step) << action_name(k);
    EXPECT_EQ(refused_step.why().why, refusal::conflict) << action_name(k);
  }
  // A note is fine on a closed alert.
  EXPECT_TRUE(service_->act(alice_, "a1", act_of(action_kind::note, {}, {}, "for the record")));

  auto state = summary("a1");
  EXPECT_EQ(state.status, "closed");
  ASSERT_EQ(state.notes.size(), 3u);
  EXPECT_EQ(state.notes[0].text, "looking");
  EXPECT_EQ(state.notes[0].author, "alice");
  EXPECT_EQ(state.notes[2].text, "for the record");

  auto missing = service_->act(alice_, "nope", act_of(action_kind::acknowledge));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.why().why, refusal::not_found);
  EXPECT_FALSE(service_->alert("nope"));
}

TEST_F(triage_service, close_needs_a_verdict) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time)});
  auto r = service_->act(alice_, "a1", act_of(action_kind::close));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.why().why, refusal::bad_input);
  EXPECT_FALSE(service_->act(alice_, "a1", act_of(action_kind::close, "maybe")));
  EXPECT_EQ(summary("a1").status, "new");
}

TEST_F(triage_service, reopen_clears_the_verdict_and_the_audit_log_keeps_before_and_after) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time)});
  ASSERT_TRUE(service_->act(alice_, "a1", act_of(action_kind::close, "false_positive", {}, "noise")));
  actor root{"root", role::admin};
  auto reopened = service_->act(root, "a1", act_of(action_kind::reopen, {}, {}, "not noise after all"));
  ASSERT_TRUE(reopened) << reopened.why().message;
  EXPECT_EQ(reopened->status, "acknowledged");
  EXPECT_EQ(reopened->verdict, "");

  auto d = service_->alert("a1");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->history.size(), 2u);  // oldest first
  simdjson::dom::parser p;
  auto close = parse(p, d->history[0]);
  EXPECT_EQ(std::string_view(close["action"]), "close");
  EXPECT_EQ(std::string_view(close["actor"]), "alice");
  EXPECT_EQ(std::string_view(close["after"]["verdict"]), "false_positive");
  simdjson::dom::parser p2;
  auto reopen = parse(p2, d->history[1]);
  EXPECT_EQ(std::string_view(reopen["action"]), "reopen");
  EXPECT_EQ(std::string_view(reopen["actor"]), "root");
  EXPECT_EQ(std::string_view(reopen["role"]), "admin");
  EXPECT_EQ(std::string_view(reopen["object_type"]), "alert");
  EXPECT_EQ(std::string_view(reopen["object_id"]), "a1");
  EXPECT_EQ(std::string_view(reopen["before"]["status"]), "closed");
  EXPECT_EQ(std::string_view(reopen["before"]["verdict"]), "false_positive");
  EXPECT_EQ(std::string_view(reopen["after"]["status"]), "acknowledged");
  EXPECT_TRUE(reopen["after"]["verdict"].is_null());
  EXPECT_EQ(std::string_view(reopen["note"]), "not noise after all");

  // The whole log is newest first; by object it is the same two entries.
  auto all = service_->audit({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->entries.size(), 2u);
  EXPECT_EQ(all->entries[0], d->history[1]);
}

TEST_F(triage_service, the_status_index_follows_the_triage_status) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time + 123'456)});  // sub-ms last_seen
  using index = store::durable_store::alert_index;
  auto find = [&](const char* status) { return db_->find_alerts(index::status, status, 0, INT64_MAX, 10); };
  EXPECT_EQ(find("new"), std::vector<std::string>{"a1"});
  ASSERT_TRUE(service_->act(alice_, "a1", act_of(action_kind::close, "benign")));
  EXPECT_TRUE(find("new").empty());
  EXPECT_EQ(find("closed"), std::vector<std::string>{"a1"});
  ASSERT_TRUE(service_->act(alice_, "a1", act_of(action_kind::reopen)));
  EXPECT_TRUE(find("closed").empty());
  EXPECT_EQ(find("acknowledged"), std::vector<std::string>{"a1"});
}

TEST_F(triage_service, paging_with_cursors_returns_every_alert_once_newest_first) {
  // 23 alerts, some sharing a last_seen, raised over several batches.
  for (int batch = 0; batch < 3; ++batch) {
    store::batch b;
    for (int i = 0; i < 8 && batch * 8 + i < 23; ++i) {
      int n = batch * 8 + i;
      auto a = make_alert("id" + std::to_string(100 + n), "rule-x", "low", "user.name", "u" + std::to_string(n),
                          base_time + (n / 3) * minute);
      std::string json = correlate::to_json(a);
      ASSERT_TRUE(db_->add_alert(b, a, json));
    }
    ASSERT_TRUE(db_->commit(b).ok());
  }
  alert_filter f;
  f.limit = 5;
  std::vector<std::string> seen;
  timestamp_ns previous = INT64_MAX;
  for (int page = 0; page < 10; ++page) {
    auto got = service_->list_alerts(f);
    ASSERT_TRUE(got) << got.why().message;
    EXPECT_EQ(got->total, 23u);
    for (const auto& a : got->alerts) {
      EXPECT_LE(a.last_seen, previous);
      previous = a.last_seen;
      seen.push_back(a.id);
    }
    if (got->next_cursor.empty()) break;
    f.cursor = got->next_cursor;
  }
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 23u);
  f.cursor = "zz-not-a-cursor";
  auto bad = service_->list_alerts(f);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.why().why, refusal::bad_input);
}

TEST_F(triage_service, counts_leave_out_their_own_filter_so_the_queue_can_show_tabs) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "ann", base_time),
         make_alert("a2", "rule-x", "high", "user.name", "bob", base_time + minute),
         make_alert("a3", "rule-y", "low", "user.name", "cat", base_time + 2 * minute, "pos"),
         make_alert("a4", "rule-y", "critical", "user.name", "dan", base_time + 3 * minute, "pos")});
  ASSERT_TRUE(service_->act(alice_, "a1", act_of(action_kind::close, "benign")));
  ASSERT_TRUE(service_->act(alice_, "a3", act_of(action_kind::acknowledge)));

  alert_filter f;
  f.statuses = {"new"};
  f.level = "high";
  auto got = service_->list_alerts(f);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->total, 1u);
  ASSERT_EQ(got->alerts.size(), 1u);
  EXPECT_EQ(got->alerts[0].id, "a2");
  // Status counts over level=high (every status); level counts over status=new (every level).
  EXPECT_EQ(got->status_counts["new"], 1u);
  EXPECT_EQ(got->status_counts["closed"], 1u);
  EXPECT_EQ(got->status_counts["acknowledged"], 0u);
  EXPECT_EQ(got->level_counts["high"], 1u);
  EXPECT_EQ(got->level_counts["critical"], 1u);
  EXPECT_EQ(got->level_counts["low"], 0u);

  alert_filter by_channel;
  by_channel.channel = "pos";
  EXPECT_EQ(service_->list_alerts(by_channel)->total, 2u);
  alert_filter by_rule;
  by_rule.rule = "rule-x";
  by_rule.from = base_time + minute;
  auto ranged = service_->list_alerts(by_rule);
  ASSERT_EQ(ranged->alerts.size(), 1u);
  EXPECT_EQ(ranged->alerts[0].id, "a2");
  alert_filter by_entity;
  by_entity.entity = "dan";
  EXPECT_EQ(service_->list_alerts(by_entity)->alerts.at(0).id, "a4");
  ASSERT_TRUE(service_->act(alice_, "a2", act_of(action_kind::assign, {}, "bob")));
  alert_filter bobs, unassigned;
  bobs.assignee = "bob";
  unassigned.assignee = "none";
  EXPECT_EQ(service_->list_alerts(bobs)->alerts.at(0).id, "a2");
  EXPECT_EQ(service_->list_alerts(bobs)->total, 1u);
  EXPECT_EQ(service_->list_alerts(unassigned)->total, 3u);
}

// A long-run queue is mostly closed alerts. The usual view (some statuses, maybe a
// time range) is then answered from the status index, reading only the selected
// alerts; it must give what the full scan gives (a filter that every alert passes
// makes the service scan).
TEST_F(triage_service, the_usual_queue_view_from_the_status_index_equals_the_full_scan) {
  const char* levels[] = {"low", "medium", "high", "critical"};
  for (int n = 0; n < 16; ++n)
    raise({make_alert("q" + std::to_string(n), n % 2 ? "rule-x" : "rule-y", levels[n % 4], "user.name",
                      "u" + std::to_string(n), base_time + n * minute)});
  for (int n = 0; n < 12; ++n)
    ASSERT_TRUE(service_->act(alice_, "q" + std::to_string(n), act_of(action_kind::close, "benign")));
  ASSERT_TRUE(service_->act(alice_, "q12", act_of(action_kind::acknowledge)));
  auto same = [](const alert_page& a, const alert_page& b) {
    std::vector<std::string> ids_a, ids_b;
    for (const auto& x : a.alerts) ids_a.push_back(x.id + "/" + x.status + "/" + x.level);
    for (const auto& x : b.alerts) ids_b.push_back(x.id + "/" + x.status + "/" + x.level);
    EXPECT_EQ(ids_a, ids_b);
    EXPECT_EQ(a.total, b.total);
    EXPECT_EQ(a.status_counts, b.status_counts);
    EXPECT_EQ(a.level_counts, b.level_counts);
    EXPECT_EQ(a.next_cursor, b.next_cursor);
  };
  std::vector<alert_filter> views(4);
  views[0].statuses = {"new"};
  views[1].statuses = {"new", "acknowledged"};
  views[1].limit = 2;
  views[2].statuses = {"acknowledged"};
  views[2].from = base_time + 5 * minute;
  views[3].statuses = {"closed"};  // the majority: scanned either way
  for (const auto& view : views) {
    auto indexed = service_->list_alerts(view);
    alert_filter scanned = view;
    scanned.channel = "web";  // every alert's channel
    auto full = service_->list_alerts(scanned);
    ASSERT_TRUE(indexed && full);
    same(indexed.value(), full.value());
  }
  auto fresh = service_->list_alerts(views[0]);
  ASSERT_EQ(fresh->alerts.size(), 3u);
  EXPECT_EQ(fresh->alerts[0].id, "q15");
  EXPECT_EQ(fresh->status_counts["closed"], 12u);
  EXPECT_EQ(fresh->level_counts["critical"], 1u);  // q15
  // The tabs of the indexed view come from the index: an index entry whose alert
  // is gone is counted there, and by nothing that reads alerts.
  using index = store::durable_store::alert_index;
  ASSERT_TRUE(db_->write({{store::table::alert_index,
                           store::durable_store::alert_index_key(index::status, "closed", base_time, "gone"),
                           std::string()}})
                  .ok());
  EXPECT_EQ(service_->list_alerts(views[0])->status_counts["closed"], 13u);
  alert_filter scanned = views[0];
  scanned.channel = "web";
  EXPECT_EQ(service_->list_alerts(scanned)->status_counts["closed"], 12u);
}

TEST_F(triage_service, text_search_looks_in_rule_title_entity_and_notes_ignoring_case) {
  raise({make_alert("a1", "sentrail-pos-refund", "high", "user.name", "Ann.Smith", base_time),
         make_alert("a2", "sentrail-web-probe", "low", "source.ip", "192.0.2.7", base_time + minute)});
  ASSERT_TRUE(service_->act(alice_, "a2", act_of(action_kind::note, {}, {}, "Known PENTEST window")));
  auto ids = [&](const char* q) {
    alert_filter f;
    f.text = q;
    std::vector<std::string> out;
    auto page = service_->list_alerts(f);
    for (const auto& a : page->alerts) out.push_back(a.id);
    return out;
  };
  EXPECT_EQ(ids("REFUND"), std::vector<std::string>{"a1"});
  EXPECT_EQ(ids("title of sentrail-web"), std::vector<std::string>{"a2"});
  EXPECT_EQ(ids("ann.smith"), std::vector<std::string>{"a1"});
  EXPECT_EQ(ids("pentest"), std::vector<std::string>{"a2"});
  EXPECT_TRUE(ids("nothing-like-this").empty());
}

TEST_F(triage_service, detail_has_evidence_in_time_order_and_the_alert_as_raised) {
  auto a = make_alert("a1", "rule-x", "high", "user.name", "ann", base_time + 5 * minute);
  auto later = a.events[0];
  later.channel = "pos";
  later.topic = "retail.pos";
  later.time = base_time + 5 * minute;
  a.events[0].time = base_time + 4 * minute;
  auto earliest = a.events[0];
  earliest.channel = "badge";
  earliest.time = base_time;
  a.events = {later, a.events[0], earliest};
  raise({a});
  auto d = service_->alert("a1");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->evidence.size(), 3u);
  EXPECT_EQ(d->evidence[0].channel, "badge");
  EXPECT_EQ(d->evidence[1].channel, "web");
  EXPECT_EQ(d->evidence[2].channel, "pos");
  EXPECT_EQ(d->evidence[0].fields_json, R"({"event.action":"login"})");
  EXPECT_EQ(d->stored_json, correlate::to_json(a));
  EXPECT_EQ(d->summary.channels, (std::vector<std::string>{"pos", "web", "badge"}));
  simdjson::dom::parser p;
  auto doc = parse(p, to_json(d.value()));
  EXPECT_EQ(std::string_view(doc["evidence"].at(0)["time"]), format_rfc3339(base_time));
  EXPECT_EQ(std::string_view(doc["detail"]["status"]), "new");
  EXPECT_TRUE(doc["alert"]["verdict"].is_null());
}

TEST_F(triage_service, rule_stats_count_verdicts_per_rule_most_false_positives_first) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "a", base_time),
         make_alert("a2", "rule-x", "high", "user.name", "b", base_time),
         make_alert("a3", "rule-y", "low", "user.name", "c", base_time),
         make_alert("a4", "rule-y", "low", "user.name", "d", base_time),
         make_alert("a5", "rule-y", "low", "user.name", "e", base_time)});
  ASSERT_TRUE(service_->act(alice_, "a1", act_of(action_kind::close, "true_positive")));
  ASSERT_TRUE(service_->act(alice_, "a3", act_of(action_kind::close, "false_positive")));
  ASSERT_TRUE(service_->act(alice_, "a4", act_of(action_kind::close, "false_positive")));
  ASSERT_TRUE(service_->act(alice_, "a5", act_of(action_kind::close, "benign")));
  auto stats = compute_rule_stats(*db_);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].rule_id, "rule-y");
  EXPECT_EQ(stats[0].alerts, 3);
  EXPECT_EQ(stats[0].open, 0);
  EXPECT_EQ(stats[0].false_positive, 2);
  EXPECT_EQ(stats[0].benign, 1);
  EXPECT_EQ(stats[0].precision(), 0.0);
  EXPECT_EQ(stats[1].rule_id, "rule-x");
  EXPECT_EQ(stats[1].open, 1);
  EXPECT_EQ(stats[1].true_positive, 1);
  EXPECT_EQ(stats[1].precision(), 1.0);
}

TEST_F(triage_service, audit_pages_newest_first_with_a_cursor) {
  raise({make_alert("a1", "rule-x", "high", "user.name", "a", base_time)});
  for (int i = 0; i < 7; ++i)
    ASSERT_TRUE(service_->act(alice_, "a1", act_of(action_kind::note, {}, {}, "note " + std::to_string(i))));
  audit_query q;
  q.limit = 3;
  std::vector<std::string> notes;
  for (int page = 0; page < 5; ++page) {
    auto got = service_->audit(q);
    ASSERT_TRUE(got);
    for (const auto& e : got->entries) {
      simdjson::dom::parser p;
      notes.emplace_back(std::string_view(parse(p, e)["note"]));
    }
    if (got->next_cursor.empty()) break;
    q.cursor = got->next_cursor;
  }
  EXPECT_EQ(notes, (std::vector<std::string>{"note 6", "note 5", "note 4", "note 3", "note 2", "note 1", "note 0"}));
  q = {};
  q.object = "a1";
  q.limit = 2;
  auto by_object = service_->audit(q);
  ASSERT_TRUE(by_object);
  EXPECT_EQ(by_object->entries.size(), 2u);
  EXPECT_FALSE(by_object->next_cursor.empty());
}
