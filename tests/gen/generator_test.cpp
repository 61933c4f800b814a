#include "gen/generator.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gen/random.h"

namespace sentrail::gen {
namespace {

struct line {
  channel_kind ch;
  std::string payload;
  timestamp_ns time;
  std::int32_t incident;
  bool bad;
};

std::vector<line> run(options o) {
  generator g(std::move(o));
  std::vector<line> out;
  generated e;
  while (g.next(e)) out.push_back({e.ch, std::string(e.payload), e.time, e.incident, e.bad});
  return out;
}

std::string render(const options& o) {
  generator g(o);
  std::string all;
  generated e;
  while (g.next(e)) {
    all.append(e.channel).append(" ").append(e.payload).append("\n");
  }
  for (const auto& i : g.incidents()) all.append(g.incident_json(i)).append("\n");
  for (const auto& b : g.bad_records()) all.append(g.bad_json(b)).append("\n");
  return all;
}

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

const std::set<std::string> base_fields[] = {
    {"ts", "client_ip", "method", "path", "status", "bytes", "user_agent", "session_id", "user",
     "event"},
    {"ts", "device_id", "app_version", "os", "customer_id", "ip", "geo", "event"},
    {"ts", "store_id", "register_id", "employee_id", "txn_id", "event", "amount", "currency"},
    {"ts", "supplier_id", "user", "ip", "event"},
    {"ts", "badge_id", "employee_id", "site_id", "door_id", "event", "direction"},
};
const std::set<std::string> vocab[] = {
    {"login", "login_failed", "logout", "password_reset", "checkout", "payment_authorized",
     "payment_declined", "add_to_cart", "page_view"},
    {"login", "login_failed", "mfa_challenge", "mfa_failed", "password_reset", "add_payment_card",
     "checkout", "gift_card_redeem"},
    {"employee_login", "sale", "refund", "void", "no_sale", "price_override", "discount",
     "card_declined"},
    {"login", "login_failed", "mfa_failed", "bank_details_change", "invoice_submit", "po_change",
     "api_key_created", "bulk_export"},
    {"access_granted", "access_denied", "door_forced", "door_held"},
};

/// The raw field of a channel that a normalised entity field comes from.
std::string raw_field(channel_kind c, std::string_view normalised) {
  if (normalised == "source.ip") return c == channel_kind::web ? "client_ip" : "ip";
  if (normalised == "user.name") return "user";
  if (normalised == "user.id") return "customer_id";
  if (normalised == "device.id") return "device_id";
  if (normalised == "retail.employee.id") return "employee_id";
  if (normalised == "retail.supplier.id") return "supplier_id";
  if (normalised == "retail.badge.id") return "badge_id";
  if (normalised == "retail.door.id") return "door_id";
  return std::string(normalised);
}

std::string string_field(simdjson::dom::element obj, std::string_view key) {
  std::string_view v;
  if (obj[key].get_string().get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

/// Checks one good event against its channel's reference schema; returns "" or a reason.
std::string schema_problem(simdjson::dom::parser& parser, const line& l) {
  simdjson::dom::element doc;
  if (parser.parse(l.payload).get(doc) != simdjson::SUCCESS) return "invalid json";
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return "not an object";
  const auto c = static_cast<int>(l.ch);
  std::set<std::string> keys;
  for (auto field : obj) keys.insert(std::string(field.key));
  for (const auto& k : base_fields[c])
    if (!keys.count(k)) return "missing " + k;
  for (const auto& k : base_fields[c]) {
    const bool non_string = k == "status" || k == "bytes" || k == "amount" || k == "geo";
    if (!non_string && !obj[k].is_string()) return "not a string: " + k;
  }
  const std::string event = string_field(doc, "event");
  if (!vocab[c].count(event)) return "unknown event " + event;
  const std::string ts = string_field(doc, "ts");
  auto parsed = parse_rfc3339(ts);
  if (!parsed || ts.size() != 24 || ts[19] != '.' || ts.back() != 'Z') return "bad ts " + ts;
  if (*parsed != l.time / 1'000'000 * 1'000'000) return "ts differs from event time";
  std::set<std::string> extra;
  for (const auto& k : keys)
    if (!base_fields[c].count(k)) extra.insert(k);
  const bool money = doc["amount"].is_number() && doc["currency"].is_string();
  switch (l.ch) {
    case channel_kind::web:
      if (!doc["status"].is_int64() || !doc["bytes"].is_int64()) return "status/bytes not ints";
      if (event == "payment_authorized" || event == "payment_declined") {
        if (!money || !luhn_valid(string_field(doc, "card_pan"))) return "payment fields";
        if (extra != std::set<std::string>{"amount", "currency", "card_pan"}) return "web extra";
      } else if (!extra.empty()) {
        return "unexpected web fields";
      }
      break;
    case channel_kind::mobile: {
      simdjson::dom::object geo;
      if (doc["geo"].get_object().get(geo) != simdjson::SUCCESS) return "geo not object";
      if (!doc["geo"]["lat"].is_double() || !doc["geo"]["lon"].is_double() ||
          !doc["geo"]["country"].is_string())
        return "geo fields";
      if ((event == "checkout" || event == "gift_card_redeem") != money) return "mobile money";
      break;
    }
    case channel_kind::pos: {
      if (!money) return "pos amount";
      if (keys.count("card_pan")) {
        const auto entry = string_field(doc, "card_entry");
        if (entry != "chip" && entry != "swipe" && entry != "manual") return "card_entry";
        if (!luhn_valid(string_field(doc, "card_pan"))) return "pos pan";
      }
      if (keys.count("manager_override") && !doc["manager_override"].is_bool())
        return "manager_override";
      break;
    }
    case channel_kind::supplier:
      if ((event == "bulk_export") != keys.count("records")) return "records";
      break;
    case channel_kind::badge: {
      const auto dir = string_field(doc, "direction");
      if (dir != "in" && dir != "out") return "direction";
      if (!extra.empty()) return "badge extra";
      break;
    }
  }
  return {};
}

TEST(generator, same_seed_and_options_give_byte_identical_output) {
  options o;
  o.count = 30000;
  o.attack_rate = 20;
  o.bad_rate = 0.01;
  const auto a = render(o);
  const auto b = render(o);
  EXPECT_EQ(a, b);
}

TEST(generator, a_different_seed_gives_different_output) {
  options o;
  o.count = 5000;
  const auto a = render(o);
  o.seed = 2;
  EXPECT_NE(a, render(o));
}

TEST(generator, emits_exactly_count_events_within_the_simulated_span) {
  options o;
  o.count = 50000;
  o.attack_rate = 10;
  const auto lines = run(o);
  ASSERT_EQ(lines.size(), 50000u);
  EXPECT_GE(lines.front().time, o.start);
  EXPECT_LE(lines.back().time, o.start + o.simulated_span);
  EXPECT_GT(lines.back().time, o.start + o.simulated_span * 9 / 10);
}

TEST(generator, every_line_is_valid_json_of_its_channel_schema_in_event_time_order) {
  options o;
  o.count = 60000;
  o.attack_rate = 20;
  const auto lines = run(o);
  simdjson::dom::parser parser;
  std::array<std::size_t, channel_count> per{};
  std::map<std::string, int> web_events, pos_events;
  timestamp_ns prev = 0;
  for (const auto& l : lines) {
    ASSERT_GE(l.time, prev);
    prev = l.time;
    const auto problem = schema_problem(parser, l);
    ASSERT_EQ(problem, "") << l.payload;
    ++per[static_cast<int>(l.ch)];
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(l.payload).get(doc), simdjson::SUCCESS);
    if (l.incident >= 0) continue;  // mixes are about background traffic
    if (l.ch == channel_kind::web) ++web_events[string_field(doc, "event")];
    if (l.ch == channel_kind::pos) ++pos_events[string_field(doc, "event")];
  }
  for (auto n : per) EXPECT_GT(n, 0u);
  // Realistic mixes: page views dominate the web, sales the tills, success over failure.
  for (const auto& [e, n] : web_events)
    if (e != "page_view") {
      EXPECT_GT(web_events["page_view"], n) << e;
    }
  for (const auto& [e, n] : pos_events)
    if (e != "sale") {
      EXPECT_GT(pos_events["sale"], n) << e;
    }
  EXPECT_GT(web_events["login"], 5 * web_events["login_failed"]);
  EXPECT_GT(web_events["payment_authorized"], 5 * web_events["payment_declined"]);
}

TEST(generator, traffic_follows_the_time_of_day) {
  options o;
  o.count = 100000;
  o.attack_rate = 0;
  const auto lines = run(o);
  std::array<std::array<int, 24>, channel_count> by_hour{};
  for (const auto& l : lines)
    ++by_hour[static_cast<int>(l.ch)][static_cast<int>((l.time - o.start) / 3600'000'000'000LL)];
  const auto web = by_hour[0], pos = by_hour[2], supplier = by_hour[3];
  EXPECT_GT(web[20], 3 * web[4]);  // evening shopping
  EXPECT_EQ(pos[3], 0);            // stores closed at night
  EXPECT_GT(pos[12], 0);
  EXPECT_GT(supplier[10], 10 * std::max(1, supplier[2]));  // office hours
}

TEST(generator, card_pans_are_luhn_valid_sixteen_digit_numbers) {
  for (std::uint64_t h = 0; h < 10000; ++h) {
    const auto pan = std::to_string(make_pan(mix64(h)));
    ASSERT_EQ(pan.size(), 16u);
    ASSERT_TRUE(luhn_valid(pan)) << pan;
  }
  options o;
  o.count = 20000;
  simdjson::dom::parser parser;
  int pans = 0;
  for (const auto& l : run(o)) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(l.payload).get(doc), simdjson::SUCCESS);
    const auto pan = string_field(doc, "card_pan");
    if (pan.empty()) continue;
    ++pans;
    EXPECT_EQ(pan.size(), 16u);
    EXPECT_TRUE(luhn_valid(pan)) << pan;
  }
  EXPECT_GT(pans, 100);
}

TEST(generator, every_scenario_appears_and_its_incident_matches_the_stream) {
  options o;
  o.count = 300000;
  o.attack_rate = 10;
  generator g(o);
  std::vector<line> lines;
  generated e;
  while (g.next(e)) lines.push_back({e.ch, std::string(e.payload), e.time, e.incident, e.bad});
  const auto& incidents = g.incidents();
  std::set<scenario> seen;
  for (const auto& i : incidents) seen.insert(i.kind);
  EXPECT_EQ(seen.size(), scenario_count);

  simdjson::dom::parser parser;
  std::vector<int> tagged(incidents.size(), 0);
  std::vector<int> carrying(incidents.size(), 0);
  // Events in the incident's channel and window that carry its entity.
  for (std::size_t n = 0; n < incidents.size(); ++n) {
    const auto& inc = incidents[n];
    EXPECT_EQ(inc.events, inc.planned);
    EXPECT_LE(inc.start, inc.end);
    EXPECT_NE(inc.entity_value, "");
  }
  for (const auto& l : lines) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(l.payload).get(doc), simdjson::SUCCESS);
    if (l.incident >= 0) {
      const auto& inc = incidents[l.incident];
      ++tagged[l.incident];
      if (!scenario_single_channel(inc.kind)) continue;  // the entity is on the main channel only
      EXPECT_EQ(l.ch, scenario_channel(inc.kind));
      EXPECT_EQ(string_field(doc, raw_field(l.ch, scenario_entity_field(inc.kind))),
                inc.entity_value)
          << l.payload;
    }
  }
  for (std::size_t n = 0; n < incidents.size(); ++n) {
    const auto& inc = incidents[n];
    EXPECT_EQ(tagged[n], static_cast<int>(inc.events));
    const auto field = raw_field(scenario_channel(inc.kind), scenario_entity_field(inc.kind));
    for (const auto& l : lines) {
      if (l.ch != scenario_channel(inc.kind) || l.time < inc.start / 1'000'000 * 1'000'000 ||
          l.time > inc.end)
        continue;
      simdjson::dom::element doc;
      ASSERT_EQ(parser.parse(l.payload).get(doc), simdjson::SUCCESS);
      if (string_field(doc, field) == inc.entity_value) ++carrying[n];
    }
    if (scenario_single_channel(inc.kind))
      EXPECT_GE(carrying[n], static_cast<int>(inc.events)) << g.incident_json(inc);
    else
      EXPECT_GE(carrying[n], 1) << g.incident_json(inc);
    const auto json = g.incident_json(inc);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
    EXPECT_EQ(string_field(doc, "rule"), scenario_rule(inc.kind));
    EXPECT_EQ(string_field(doc["entity"], "value"), inc.entity_value);
    EXPECT_TRUE(parse_rfc3339(string_field(doc, "start")).has_value());
  }
}

int hour_of_day_for_test(timestamp_ns t) {
  return static_cast<int>(t / (3600 * ns_per_second) % 24);
}

/// True when a raw event matches one of the stateless rules the scenarios exercise.
bool stateless_hit(simdjson::dom::element doc, channel_kind c) {
  const auto event = string_field(doc, "event");
  switch (c) {
    case channel_kind::web: {
      const auto path = string_field(doc, "path");
      for (std::string_view bad : {"/.env", "/wp-login.php", "../", "/etc/passwd", "/.git/"})
        if (path.find(bad) != std::string::npos) return true;
      return string_field(doc, "client_ip").rfind("185.220.10", 0) == 0;
    }
    case channel_kind::mobile: {
      const auto ip = string_field(doc, "ip");
      return ip.rfind("185.220.100.", 0) == 0 || ip.rfind("185.220.101.", 0) == 0 ||
             ip.rfind("185.220.102.", 0) == 0 || ip.rfind("185.220.103.", 0) == 0;
    }
    case channel_kind::pos: {
      double amount = 0;
      if (doc["amount"].get_double().get(amount) != simdjson::SUCCESS) amount = 0;
      return (event == "sale" && string_field(doc, "card_entry") == "manual" && amount >= 500) ||
             (string_field(doc, "card_entry") == "manual" && amount >= 200);
    }
    case channel_kind::supplier: {
      std::int64_t records = 0;
      if (doc["records"].get_int64().get(records) != simdjson::SUCCESS) records = 0;
      return event == "bank_details_change" || records > 5000;
    }
    case channel_kind::badge:
      return event == "door_forced";
  }
  return false;
}

TEST(generator, background_traffic_never_matches_the_stateless_attack_rules) {
  options o;
  o.count = 200000;
  o.attack_rate = 0;
  simdjson::dom::parser parser;
  generator g(o);
  generated e;
  while (g.next(e)) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(e.payload).get(doc), simdjson::SUCCESS);
    ASSERT_FALSE(stateless_hit(doc, e.ch)) << e.payload;
    if (e.ch == channel_kind::badge && hour_of_day_for_test(e.time) < 6) {
      ASSERT_FALSE(string_field(doc, "door_id").find("stockroom") != std::string::npos &&
                   string_field(doc, "event") == "access_granted")
          << e.payload;
    }
  }
  EXPECT_TRUE(g.incidents().empty());
}

TEST(generator, each_stateless_scenario_contains_an_event_its_rule_matches) {
  options o;
  o.count = 200000;
  o.attack_rate = 10;
  simdjson::dom::parser parser;
  generator g(o);
  generated e;
  std::set<scenario> hit;
  while (g.next(e)) {
    if (e.incident < 0) continue;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(e.payload).get(doc), simdjson::SUCCESS);
    if (stateless_hit(doc, e.ch)) hit.insert(g.incidents()[e.incident].kind);
  }
  for (auto s : {scenario::web_path_probe, scenario::badge_door_forced, scenario::mobile_tor_login,
                 scenario::pos_manual_high_value, scenario::supplier_bank_change,
                 scenario::supplier_bulk_export})
    EXPECT_TRUE(hit.count(s)) << scenario_name(s);
}

TEST(generator, bad_rate_produces_every_malformed_kind_and_records_it) {
  options o;
  o.count = 20000;
  o.bad_rate = 0.05;
  generator g(o);
  std::vector<line> lines;
  generated e;
  while (g.next(e)) lines.push_back({e.ch, std::string(e.payload), e.time, e.incident, e.bad});
  const auto& bad = g.bad_records();
  EXPECT_NEAR(static_cast<double>(bad.size()), 1000.0, 200.0);
  std::set<bad_kind> kinds;
  simdjson::dom::parser parser;
  std::size_t flagged = 0;
  for (const auto& l : lines) flagged += l.bad;
  EXPECT_EQ(flagged, bad.size());
  for (const auto& b : bad) {
    kinds.insert(b.kind);
    ASSERT_LT(b.seq, lines.size());
    const auto& l = lines[b.seq];
    ASSERT_TRUE(l.bad);
    ASSERT_EQ(l.ch, b.ch);
    simdjson::dom::element doc;
    const auto err = parser.parse(l.payload).get(doc);
    switch (b.kind) {
      case bad_kind::invalid_json:
        EXPECT_NE(err, simdjson::SUCCESS) << l.payload;
        break;
      case bad_kind::missing_ts:
        ASSERT_EQ(err, simdjson::SUCCESS) << l.payload;
        EXPECT_FALSE(doc["ts"].error() == simdjson::SUCCESS) << l.payload;
        break;
      case bad_kind::unparsable_ts:
        ASSERT_EQ(err, simdjson::SUCCESS) << l.payload;
        EXPECT_FALSE(parse_rfc3339(string_field(doc, "ts")).has_value()) << l.payload;
        break;
      case bad_kind::wrong_type: {
        ASSERT_EQ(err, simdjson::SUCCESS) << l.payload;
        EXPECT_NE(schema_problem(parser, l), "") << l.payload;
        break;
      }
    }
    const auto json = g.bad_json(b);
    EXPECT_EQ(parser.parse(json).error(), simdjson::SUCCESS) << json;
  }
  EXPECT_EQ(kinds.size(), 4u);
  // Per-channel line numbers: channel_seq counts the lines of its channel before it.
  for (const auto& b : bad) {
    std::uint64_t before = 0;
    for (std::uint64_t i = 0; i < b.seq; ++i) before += lines[i].ch == b.ch;
    ASSERT_EQ(before, b.channel_seq);
    break;
  }
}

TEST(generator, the_first_incident_appears_early_even_with_small_counts) {
  options o;
  o.count = 1000;
  generator g(o);
  generated e;
  std::uint64_t first_attack = 0;
  std::uint64_t n = 0;
  while (g.next(e)) {
    if (e.incident >= 0 && first_attack == 0) first_attack = n + 1;
    ++n;
  }
  ASSERT_FALSE(g.incidents().empty());
  EXPECT_GT(first_attack, 0u);
  EXPECT_LT(first_attack, 100u);
}

TEST(generator, live_mode_stamps_events_with_the_callers_clock) {
  options o;
  o.live = true;
  o.count = 0;
  o.attack_rate = 50;
  generator g(o);
  generated e;
  timestamp_ns now = default_start + 5 * 3600 * ns_per_second;
  timestamp_ns prev = 0;
  int attacks = 0;
  for (int i = 0; i < 20000; ++i) {
    now += 10'000'000;  // 100 events per second
    ASSERT_TRUE(g.next_at(now, e));
    ASSERT_LE(e.time, now);
    ASSERT_GE(e.time, prev);
    if (e.incident < 0) {
      EXPECT_EQ(e.time, now);
    }
    attacks += e.incident >= 0;
    prev = e.time;
  }
  EXPECT_GT(attacks, 0);
  EXPECT_FALSE(g.incidents().empty());
}

TEST(generator, only_the_requested_scenarios_are_injected) {
  options o;
  o.count = 50000;
  o.attack_rate = 20;
  o.scenarios = {scenario::card_testing};
  generator g(o);
  generated e;
  while (g.next(e)) {
  }
  ASSERT_FALSE(g.incidents().empty());
  for (const auto& i : g.incidents()) EXPECT_EQ(i.kind, scenario::card_testing);
}

TEST(generator, validate_rejects_out_of_range_options) {
  options o;
  EXPECT_TRUE(validate(o).ok());
  o.bad_rate = 1.5;
  EXPECT_FALSE(validate(o).ok());
  o = {};
  o.attack_rate = -1;
  EXPECT_FALSE(validate(o).ok());
  o = {};
  o.count = 0;
  EXPECT_FALSE(validate(o).ok());
  o.live = true;
  EXPECT_TRUE(validate(o).ok());
}

TEST(generator, near_misses_are_marked_in_the_ground_truth) {
  options o;
  o.count = 300000;
  o.attack_rate = 10;
  generator g(o);
  generated e;
  while (g.next(e)) {
  }
  int near = 0;
  for (const auto& i : g.incidents()) {
    const auto json = g.incident_json(i);
    EXPECT_EQ(json.find("\"near_miss\":true") != std::string::npos, scenario_near_miss(i.kind)) << json;
    near += scenario_near_miss(i.kind);
    if (!scenario_also(i.kind).empty()) {
      EXPECT_NE(json.find("\"also\":[\""), std::string::npos) << json;
    }
  }
  EXPECT_GT(near, 10);
}

TEST(generator, scenario_names_round_trip) {
  for (std::size_t i = 0; i < scenario_count; ++i) {
    const auto s = static_cast<scenario>(i);
    EXPECT_EQ(scenario_from_name(scenario_name(s)), s);
    EXPECT_EQ(scenario_rule(s).rfind("sentrail-", 0), 0u);
  }
  EXPECT_FALSE(scenario_from_name("nope").has_value());
}

}  // namespace
}  // namespace sentrail::gen
