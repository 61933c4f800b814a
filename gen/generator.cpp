#include "gen/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "gen/random.h"

namespace sentrail::gen {
namespace {

constexpr std::int64_t ns_per_hour = 3600 * ns_per_second;
constexpr std::int64_t ns_per_day = 24 * ns_per_hour;

constexpr std::string_view channel_names[] = {"web", "mobile", "pos", "supplier", "badge"};

struct scenario_info {
  std::string_view name;
  std::string_view rule;
  channel_kind ch;
  std::string_view entity_field;
  int first_hour;  // eligible start hours, inclusive (store-local = UTC)
  int last_hour;
  bool near_miss = false;
  std::string_view also = {};
  bool single_channel = true;
};

constexpr scenario_info scenarios[scenario_count] = {
    {"web_path_probe", "sentrail-web-sensitive-path-probe", channel_kind::web, "source.ip", 0, 23},
    {"badge_door_forced", "sentrail-badge-door-forced", channel_kind::badge, "retail.door.id", 0,
     23},
    {"mobile_tor_login", "sentrail-mobile-login-from-tor-exit", channel_kind::mobile, "source.ip",
     0, 23},
    {"pos_manual_high_value", "sentrail-pos-manual-entry-high-value", channel_kind::pos,
     "retail.employee.id", 9, 20},
    {"supplier_bank_change", "sentrail-supplier-bank-details-change", channel_kind::supplier,
     "retail.supplier.id", 0, 23},
    {"supplier_bulk_export", "sentrail-supplier-bulk-export-large", channel_kind::supplier,
     "retail.supplier.id", 0, 23},
    {"credential_stuffing", "sentrail-web-credential-stuffing", channel_kind::web, "source.ip", 0,
     23},
    {"brute_force_then_success", "sentrail-web-brute-force-then-success", channel_kind::web,
     "user.name", 0, 23},
    {"card_testing", "sentrail-web-card-testing", channel_kind::web, "source.ip", 0, 23},
    {"refund_fraud", "sentrail-pos-refund-fraud", channel_kind::pos, "retail.employee.id", 9, 18},
    {"no_sale_drawer", "sentrail-pos-no-sale-abuse", channel_kind::pos, "retail.employee.id", 9,
     19},
    {"after_hours_stockroom", "sentrail-badge-after-hours-stockroom", channel_kind::badge,
     "retail.badge.id", 1, 3},
    {"gift_card_draining", "sentrail-mobile-gift-card-draining", channel_kind::mobile, "device.id",
     0, 23},
    {"denied_then_forced", "sentrail-badge-denied-then-forced", channel_kind::badge,
     "retail.door.id", 0, 23, false, "sentrail-badge-door-forced"},
    {"mobile_takeover", "sentrail-mobile-new-device-card-checkout", channel_kind::mobile, "user.id",
     0, 23},
    {"card_impossible_travel", "sentrail-card-impossible-travel", channel_kind::mobile, "user.id", 9,
     20, false, {}, false},
    {"sweethearting", "sentrail-pos-sweethearting", channel_kind::pos, "retail.employee.id", 9, 19},
    {"manager_override_abuse", "sentrail-pos-manager-override-abuse", channel_kind::pos,
     "retail.employee.id", 9, 18},
    {"pos_login_without_badge", "sentrail-pos-login-without-badge-in", channel_kind::pos,
     "retail.employee.id", 9, 20},
    {"insider_risk", "sentrail-insider-risk-employee", channel_kind::pos, "retail.employee.id", 9, 17,
     false, {}, false},
    {"supplier_takeover", "sentrail-supplier-takeover-bank-change", channel_kind::supplier,
     "retail.supplier.id", 0, 23, false, "sentrail-supplier-bank-details-change"},
    {"supplier_export_volume", "sentrail-supplier-bulk-export-daily-volume", channel_kind::supplier,
     "retail.supplier.id", 0, 17},
    {"credential_stuffing_near_miss", "sentrail-web-credential-stuffing", channel_kind::web,
     "source.ip", 0, 23, true},
    {"brute_force_near_miss", "sentrail-web-brute-force-then-success", channel_kind::web,
     "user.name", 0, 23, true},
    {"card_testing_near_miss", "sentrail-web-card-testing", channel_kind::web, "source.ip", 0, 23,
     true},
    {"gift_card_near_miss", "sentrail-mobile-gift-card-draining", channel_kind::mobile, "device.id",
     0, 23, true},
    {"no_sale_near_miss", "sentrail-pos-no-sale-abuse", channel_kind::pos, "retail.employee.id", 9,
     19, true},
    {"refund_fraud_near_miss", "sentrail-pos-refund-fraud", channel_kind::pos, "retail.employee.id",
     9, 18, true},
    {"manager_override_near_miss", "sentrail-pos-manager-override-abuse", channel_kind::pos,
     "retail.employee.id", 9, 18, true},
    {"sweethearting_near_miss", "sentrail-pos-sweethearting", channel_kind::pos,
     "retail.employee.id", 9, 19, true},
    {"denied_then_forced_near_miss", "sentrail-badge-denied-then-forced", channel_kind::badge,
     "retail.door.id", 0, 23, true, "sentrail-badge-door-forced"},
    {"mobile_takeover_near_miss", "sentrail-mobile-new-device-card-checkout", channel_kind::mobile,
     "user.id", 0, 23, true},
    {"supplier_takeover_near_miss", "sentrail-supplier-takeover-bank-change", channel_kind::supplier,
     "retail.supplier.id", 0, 23, true, "sentrail-supplier-bank-details-change"},
    {"supplier_export_near_miss", "sentrail-supplier-bulk-export-daily-volume",
     channel_kind::supplier, "retail.supplier.id", 0, 17, true},
    {"insider_risk_near_miss", "sentrail-insider-risk-employee", channel_kind::pos,
     "retail.employee.id", 9, 17, true, {}, false},
    {"card_travel_near_miss", "sentrail-card-impossible-travel", channel_kind::mobile, "user.id", 9,
     16, true, {}, false},
    {"pos_login_badge_near_miss", "sentrail-pos-login-without-badge-in", channel_kind::pos,
     "retail.employee.id", 9, 20, true, {}, false},
};

constexpr std::string_view bad_names[] = {"invalid_json", "missing_ts", "unparsable_ts",
                                          "wrong_type"};

struct city {
  std::string_view name;
  double lat, lon;
  std::string_view country, currency;
};
// The first 14 are US (stores are only there); customers also live in CA and GB.
constexpr city cities[] = {
    {"new_york", 40.7128, -74.0060, "US", "USD"},
    {"los_angeles", 34.0522, -118.2437, "US", "USD"},
    {"chicago", 41.8781, -87.6298, "US", "USD"},
    {"houston", 29.7604, -95.3698, "US", "USD"},
    {"phoenix", 33.4484, -112.0740, "US", "USD"},
    {"philadelphia", 39.9526, -75.1652, "US", "USD"},
    {"san_antonio", 29.4241, -98.4936, "US", "USD"},
    {"dallas", 32.7767, -96.7970, "US", "USD"},
    {"columbus", 39.9612, -82.9988, "US", "USD"},
    {"seattle", 47.6062, -122.3321, "US", "USD"},
    {"denver", 39.7392, -104.9903, "US", "USD"},
    {"atlanta", 33.7490, -84.3880, "US", "USD"},
    {"miami", 25.7617, -80.1918, "US", "USD"},
    {"boston", 42.3601, -71.0589, "US", "USD"},
    {"toronto", 43.6532, -79.3832, "CA", "CAD"},
    {"vancouver", 49.2827, -123.1207, "CA", "CAD"},
    {"london", 51.5074, -0.1278, "GB", "GBP"},
};
constexpr std::uint32_t us_cities = 14;
constexpr std::uint32_t city_count = sizeof(cities) / sizeof(cities[0]);

constexpr std::string_view first_names[] = {
    "anna", "ben",    "carla", "david",  "emma",   "felix", "grace", "henry", "isla", "jack",
    "kara", "liam",   "mia",   "noah",   "olivia", "paul",  "quinn", "rosa",  "sam",  "tara",
    "uma",  "victor", "wendy", "xavier", "yara",   "zoe",   "omar",  "priya", "chen", "lucia"};
constexpr std::string_view last_names[] = {
    "smith",  "jones",    "garcia", "miller",  "davis",  "lopez",   "wilson", "moore",
    "taylor", "thomas",   "white",  "harris",  "martin", "clark",   "lewis",  "walker",
    "young",  "king",     "wright", "hill",    "green",  "baker",   "adams",  "nelson",
    "carter", "mitchell", "perez",  "roberts", "turner", "phillips"};
constexpr std::uint32_t first_count = 30, last_count = 30;

constexpr std::string_view company_a[] = {"acme",   "north",  "blue",   "prime", "apex",
                                          "summit", "harbor", "golden", "atlas", "cedar"};
constexpr std::string_view company_b[] = {"supply", "foods",      "textiles", "logistics",
                                          "goods",  "packaging",  "trading",  "brands",
                                          "farms",  "electronics"};

constexpr std::string_view browser_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36"};
constexpr std::string_view tool_agents[] = {"python-requests/2.32.3", "Mozilla/5.0 zgrab/0.x",
                                            "curl/8.5.0", "Go-http-client/1.1"};

constexpr std::string_view mobile_os[] = {"iOS 18.1", "iOS 17.6", "Android 15", "Android 14"};
constexpr std::string_view app_versions[] = {"6.4.0", "6.4.1", "6.5.0", "6.5.2"};

constexpr std::string_view categories[] = {"women",  "men",     "kids", "home",    "electronics",
                                           "beauty", "holiday", "toys", "grocery", "sale"};
constexpr std::string_view search_terms[] = {"winter+coat", "tv",         "lego",    "boots",
                                             "air+fryer",   "headphones", "sweater", "gift+card"};

// Paths the stateless probe rule looks for; background never requests them.
constexpr std::string_view probe_paths[] = {"/.env",
                                            "/wp-login.php",
                                            "/.git/config",
                                            "/../../../../etc/passwd",
                                            "/static/../../etc/passwd",
                                            "/api/.env",
                                            "/.git/HEAD",
                                            "/backup/.env",
                                            "/wp-admin/../wp-login.php"};

constexpr std::string_view door_names[] = {"staff", "front", "stockroom", "office", "loading"};
enum door : std::uint8_t { door_staff, door_front, door_stockroom, door_office, door_loading };

// First octets for background public IPs: never 185 (Tor range 185.220.100.0/22) and
// never 193/194, which are reserved for injected attackers.
constexpr std::uint8_t background_octets[] = {24,  31,  37,  47,  50,  62,  66,  68,  71,
                                              73,  76,  81,  86,  90,  98,  99,  104, 108,
                                              142, 151, 173, 174, 176, 188, 212, 217};

std::uint32_t public_ip(std::uint64_t h) {
  const std::uint32_t first = background_octets[h % sizeof(background_octets)];
  const auto mid = static_cast<std::uint32_t>((h >> 8) & 0xffff);
  const auto last = static_cast<std::uint32_t>(1 + (h >> 24) % 254);
  return (first << 24) | (mid << 8) | last;
}

std::uint32_t attacker_ip(std::uint64_t h) {
  const std::uint32_t first = 193 + static_cast<std::uint32_t>(h & 1);
  const auto mid = static_cast<std::uint32_t>((h >> 8) & 0xffff);
  const auto last = static_cast<std::uint32_t>(1 + (h >> 24) % 254);
  return (first << 24) | (mid << 8) | last;
}

std::uint32_t tor_ip(std::uint64_t h) {
  return (185u << 24) | (220u << 16) | (101u << 8) | static_cast<std::uint32_t>(1 + h % 254);
}

/// Appends JSON fragments to a reused buffer without format-string parsing.
class writer {
 public:
  explicit writer(fmt::memory_buffer& b) : b_(b) {}
  void raw(std::string_view s) { b_.append(s.data(), s.data() + s.size()); }
  void ch(char c) { b_.push_back(c); }
  void u(std::uint64_t v) {
    fmt::format_int f(v);
    b_.append(f.data(), f.data() + f.size());
  }
  void pad(std::uint64_t v, int width) {
    char tmp[24];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n < width) tmp[n++] = '0';
    while (n > 0) b_.push_back(tmp[--n]);
  }
  void hex(std::uint64_t v, int width) {
    static constexpr char digits[] = "0123456789abcdef";
    for (int i = width - 1; i >= 0; --i) b_.push_back(digits[(v >> (4 * i)) & 15]);
  }
  void ip(std::uint32_t a) {
    u(a >> 24);
    ch('.');
    u((a >> 16) & 255);
    ch('.');
    u((a >> 8) & 255);
    ch('.');
    u(a & 255);
  }
  void cents(std::int64_t c) {
    u(static_cast<std::uint64_t>(c / 100));
    ch('.');
    pad(static_cast<std::uint64_t>(c % 100), 2);
  }
  void fixed4(std::int64_t e4) {
    if (e4 < 0) {
      ch('-');
      e4 = -e4;
    }
    u(static_cast<std::uint64_t>(e4 / 10000));
    ch('.');
    pad(static_cast<std::uint64_t>(e4 % 10000), 4);
  }
  std::size_t size() const { return b_.size(); }

 private:
  fmt::memory_buffer& b_;
};

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/// "YYYY-MM-DDTHH:MM:SS" is recomputed once per second; events share it.
class ts_cache {
 public:
  void write(writer& w, timestamp_ns t) {
    const std::int64_t sec = floor_div(t, ns_per_second);
    if (sec != sec_) fill(sec);
    w.raw(std::string_view(text_, 19));
    w.ch('.');
    w.pad(static_cast<std::uint64_t>((t - sec * ns_per_second) / 1'000'000), 3);
    w.ch('Z');
  }

 private:
  void fill(std::int64_t sec) {
    sec_ = sec;
    int y;
    unsigned mo, d;
    civil_from_days(floor_div(sec, 86400), y, mo, d);
    const auto tod = static_cast<unsigned>(sec - floor_div(sec, 86400) * 86400);
    auto put = [this](int pos, unsigned v, int width) {
      for (int i = width - 1; i >= 0; --i) {
        text_[pos + i] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
    };
    put(0, static_cast<unsigned>(y), 4);
    text_[4] = '-';
    put(5, mo, 2);
    text_[7] = '-';
    put(8, d, 2);
    text_[10] = 'T';
    put(11, tod / 3600, 2);
    text_[13] = ':';
    put(14, tod / 60 % 60, 2);
    text_[16] = ':';
    put(17, tod % 60, 2);
  }
  std::int64_t sec_ = std::numeric_limits<std::int64_t>::min();
  char text_[19] = {};
};

int hour_of(timestamp_ns t) { return static_cast<int>(floor_div(t, ns_per_hour) % 24); }
bool weekend(timestamp_ns t) {
  const std::int64_t dow = (floor_div(t, ns_per_day) + 4) % 7;  // 1970-01-01 was a Thursday
  return dow == 0 || dow == 6;
}

// Relative events per hour of day, per channel: web/mobile peak in the evening, POS in
// store hours (08-22), supplier in office hours on weekdays, badge at shift changes.
constexpr double web_w[24] = {2, 1.5, 1,   0.8, 0.8, 1, 1.5, 2.5, 3.5, 4, 4, 4.5,
                              5, 5,   4.5, 4.5, 5,   6, 7.5, 9,   10,  9, 7, 4};
constexpr double mobile_w[24] = {1.5, 1, 0.6, 0.5, 0.5, 0.7, 1.2, 2, 2.5, 2.5, 2.5, 3,
                                 3.5, 3, 3,   3,   3.5, 4,   5,   6, 7,   7,   5.5, 3};
constexpr double pos_w[24] = {0,   0, 0, 0, 0,   0,   0, 0, 2,   3, 4, 5,
                              6.5, 6, 5, 5, 5.5, 6.5, 7, 6, 4.5, 3, 0, 0};
constexpr double supplier_w[24] = {0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.1,
                                   0.6,  0.9,  1,    1,    0.7,  0.9,  1,    0.9,
                                   0.7,  0.4,  0.1,  0.05, 0.02, 0.02, 0.02, 0.02};
constexpr double badge_w[24] = {0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 1.2, 2.5, 0.8, 0.5, 0.5, 0.5,
                                0.5,  0.5,  0.5,  0.5,  2,    0.8, 0.4, 0.4, 0.6, 1.5, 0.3, 0.1};

struct customer {
  std::uint32_t ip;
  std::int32_t lat_e4, lon_e4;
  std::uint32_t device[2];
  std::uint64_t pan[2];
  std::uint8_t city, devices, cards, agent;
  std::uint8_t os[2], app[2];
};

struct employee {
  std::uint32_t store;
  std::uint32_t badge;
  bool night;
  bool manager;
};

struct store {
  std::uint32_t city;
  std::uint32_t registers;
  std::vector<std::uint32_t> day, night;
};

struct supplier {
  std::uint32_t ip;
  std::uint32_t first_user;
  std::uint32_t users;
};

/// Everything an injected incident needs to render its events, fixed when scheduled.
struct plan {
  scenario kind;
  std::uint64_t seed;
  std::uint32_t ip = 0;
  std::uint32_t a = 0;  // customer / employee / supplier / store, by scenario
  std::uint32_t b = 0;  // register / user / badge / stride, by scenario
  std::uint32_t c = 0;  // a scenario-specific count or flag
  std::uint32_t steps = 0;
};

struct pending {
  timestamp_ns time;
  std::uint64_t order;
  std::uint32_t incident;
  std::uint32_t step;
  bool operator>(const pending& o) const {
    return time != o.time ? time > o.time : order > o.order;
  }
};

struct segment {
  double t0, t1, intensity, cum;
};

}  // namespace

std::string_view channel_name(channel_kind c) { return channel_names[static_cast<int>(c)]; }
std::string_view scenario_name(scenario s) { return scenarios[static_cast<int>(s)].name; }
std::string_view scenario_rule(scenario s) { return scenarios[static_cast<int>(s)].rule; }
channel_kind scenario_channel(scenario s) { return scenarios[static_cast<int>(s)].ch; }
bool scenario_single_channel(scenario s) { return scenarios[static_cast<int>(s)].single_channel; }
bool scenario_near_miss(scenario s) { return scenarios[static_cast<int>(s)].near_miss; }
std::string_view scenario_also(scenario s) { return scenarios[static_cast<int>(s)].also; }
std::string_view scenario_entity_field(scenario s) {
  return scenarios[static_cast<int>(s)].entity_field;
}
std::optional<scenario> scenario_from_name(std::string_view name) {
  for (std::size_t i = 0; i < scenario_count; ++i)
    if (scenarios[i].name == name) return static_cast<scenario>(i);
  return std::nullopt;
}
std::string_view bad_kind_name(bad_kind k) { return bad_names[static_cast<int>(k)]; }

status validate(const options& o) {
  if (!(o.attack_rate >= 0) || o.attack_rate > 10000)
    return error{
        fmt::format("attack rate must be between 0 and 10000 incidents per 10,000 "
                    "events, got {}",
                    o.attack_rate)};
  if (!(o.bad_rate >= 0) || o.bad_rate > 1)
    return error{fmt::format("bad rate must be a fraction between 0 and 1, got {}", o.bad_rate)};
  if (!o.live && o.count == 0) return error{"count must be positive for simulated event time"};
  if (!o.live && (o.simulated_span <= 0 || o.simulated_span > 3660 * ns_per_day))
    return error{"simulated span must be between 1 ns and 10 years"};
  if (o.customers < 10 || o.stores < 1 || o.stores > 999 || o.employees < o.stores * 3 ||
      o.employees > 99999 || o.suppliers < 1 || o.suppliers > 9999 || o.customers > 9'999'999)
    return error{
        "population: need 10..9999999 customers, 1..999 stores, at least 3 employees per store "
        "(at most 99999) and 1..9999 suppliers"};
  return {};
}

struct generator::impl {
  options o;
  rng r;
  std::vector<customer> customers;
  std::vector<employee> employees;
  std::vector<store> stores;
  std::vector<supplier> suppliers;
  std::vector<std::string> supplier_users;
  std::vector<std::uint32_t> day_staff, night_staff;
  std::vector<scenario> allowed;
  std::vector<std::vector<std::uint32_t>> city_customers;  // US customers by home city
  static constexpr timestamp_ns never = std::numeric_limits<timestamp_ns>::min();
  std::vector<timestamp_ns> badged_in;                      // last background badge-in

  fmt::memory_buffer buf, path_buf, user_buf;
  std::string bad_buf, key_buf;
  std::size_t key_begin = 0, key_end = 0;
  ts_cache clock;

  std::vector<plan> plans;
  std::vector<incident> incidents;
  std::vector<pending> heap;
  std::vector<bad_record> bad;
  std::vector<timestamp_ns> offsets;
  std::uint64_t uses[scenario_count] = {};

  std::uint64_t emitted = 0;
  std::array<std::uint64_t, channel_count> per_channel{};
  std::uint64_t bg_index = 0;
  double next_trigger = 0;
  double spacing = 0;
  std::uint64_t order = 0;
  std::uint64_t txn = 0;
  timestamp_ns last_time = std::numeric_limits<timestamp_ns>::min();

  std::vector<segment> segments;
  std::size_t seg = 0;
  double total_mass = 0;

  explicit impl(options opts) : o(std::move(opts)), r(mix64(o.seed, 0x5e47a11)) {
    build_population();
    if (o.scenarios.empty()) {
      for (std::size_t i = 0; i < scenario_count; ++i) allowed.push_back(static_cast<scenario>(i));
    } else {
      allowed = o.scenarios;
    }
    if (o.attack_rate > 0) {
      spacing = std::max(1.0, 10000.0 / o.attack_rate);
      // The first incident comes early so a demo shows alerts within seconds.
      double first = std::min(200.0, spacing / 4);
      if (!o.live) first = std::min(first, static_cast<double>(o.count) / 20);
      next_trigger = std::max(1.0, std::floor(first));
    }
    if (!o.live) build_segments();
    buf.reserve(1024);
    bad_buf.reserve(1024);
    key_buf.reserve(128);
    heap.reserve(256);
  }

  // ---- population -------------------------------------------------------------------

  void build_population() {
    rng p(mix64(o.seed, 0x909));
    customers.resize(o.customers);
    for (std::uint32_t i = 0; i < o.customers; ++i) {
      auto& c = customers[i];
      c.city = static_cast<std::uint8_t>(p.chance(0.9) ? p.below(us_cities) : p.below(city_count));
      c.lat_e4 = static_cast<std::int32_t>(std::lround(cities[c.city].lat * 10000)) +
                 static_cast<std::int32_t>(p.between(-1500, 1500));
      c.lon_e4 = static_cast<std::int32_t>(std::lround(cities[c.city].lon * 10000)) +
                 static_cast<std::int32_t>(p.between(-1500, 1500));
      c.ip = public_ip(p.next());
      c.devices = static_cast<std::uint8_t>(p.chance(0.35) ? 2 : 1);
      c.cards = static_cast<std::uint8_t>(p.chance(0.3) ? 2 : 1);
      c.agent = static_cast<std::uint8_t>(p.below(6));
      for (int k = 0; k < 2; ++k) {
        c.device[k] = static_cast<std::uint32_t>(p.next());
        c.pan[k] = make_pan(p.next());
        c.os[k] = static_cast<std::uint8_t>(p.below(4));
        c.app[k] = static_cast<std::uint8_t>(p.below(4));
      }
    }
    stores.resize(o.stores);
    for (std::uint32_t i = 0; i < o.stores; ++i) {
      auto& s = stores[i];
      (void)p.below(us_cities);
      // Fixed by index, not seed: rules/pack/data/stores.csv lists the same places.
      s.city = i % us_cities;
      s.registers = static_cast<std::uint32_t>(p.between(4, 8));
    }
    city_customers.assign(us_cities, {});
    for (std::uint32_t i = 0; i < o.customers; ++i)
      if (customers[i].city < us_cities) city_customers[customers[i].city].push_back(i);
    employees.resize(o.employees);
    badged_in.assign(o.employees, never);
    for (std::uint32_t i = 0; i < o.employees; ++i) {
      auto& e = employees[i];
      e.store = i % o.stores;
      const std::uint32_t rank = i / o.stores;  // 0 is the store manager
      e.manager = rank == 0;
      e.night = rank % 3 == 2;
      e.badge = static_cast<std::uint32_t>(
          (static_cast<std::uint64_t>(i) * 7919 + 104729) % 900000 + 100000);
      (e.night ? stores[e.store].night : stores[e.store].day).push_back(i);
      (e.night ? night_staff : day_staff).push_back(i);
    }
    suppliers.resize(o.suppliers);
    for (std::uint32_t i = 0; i < o.suppliers; ++i) {
      auto& s = suppliers[i];
      s.ip = public_ip(p.next());
      s.first_user = static_cast<std::uint32_t>(supplier_users.size());
      s.users = static_cast<std::uint32_t>(p.between(1, 3));
      const auto domain = fmt::format("{}{}{}.com", company_a[i % 10], company_b[(i / 10) % 10],
                                      i >= 100 ? fmt::format("{}", i / 100) : std::string());
      for (std::uint32_t k = 0; k < s.users; ++k)
        supplier_users.push_back(fmt::format("{}.{}@{}", first_names[p.below(first_count)],
                                             last_names[p.below(last_count)], domain));
    }
  }

  double intensity(timestamp_ns t, int ch) const {
    const int h = hour_of(t);
    const bool we = weekend(t);
    switch (ch) {
      case 0:
        return web_w[h] * (we ? 1.2 : 1.0);
      case 1:
        return mobile_w[h] * (we ? 1.2 : 1.0);
      case 2:
        return pos_w[h] * (we ? 1.3 : 1.0);
      case 3:
        return supplier_w[h] * (we ? 0.05 : 1.0);
      default:
        return badge_w[h];
    }
  }
  double total_intensity(timestamp_ns t) const {
    double s = 0;
    for (int c = 0; c < 5; ++c) s += intensity(t, c);
    return s;
  }

  // Event time follows the daily intensity curve: event i sits where the cumulative
  // intensity reaches i/count of the total, so busy hours get more events.
  void build_segments() {
    const double span = static_cast<double>(o.simulated_span);
    timestamp_ns off = 0;
    double cum = 0;
    while (off < o.simulated_span) {
      const timestamp_ns abs = o.start + off;
      const timestamp_ns boundary = (floor_div(abs, ns_per_hour) + 1) * ns_per_hour - o.start;
      const timestamp_ns end = std::min(boundary, o.simulated_span);
      const double in = total_intensity(abs);
      segments.push_back({static_cast<double>(off), static_cast<double>(end), in, cum});
      cum += in * static_cast<double>(end - off);
      off = end;
    }
    total_mass = cum;
    (void)span;
  }

  timestamp_ns simulated_time(std::uint64_t i) {
    const double m =
        total_mass * (static_cast<double>(i) + r.unit()) / static_cast<double>(o.count);
    while (seg + 1 < segments.size() && segments[seg + 1].cum <= m) ++seg;
    const auto& s = segments[seg];
    double off = s.t0 + (m - s.cum) / s.intensity;
    off = std::clamp(off, s.t0, s.t1);
    auto t = o.start + static_cast<timestamp_ns>(off);
    return std::max(t, last_time);
  }

  // ---- entity text -------------------------------------------------------------------

  static void customer_name(writer& w, std::uint32_t c) {
    w.raw(first_names[c % first_count]);
    w.ch('.');
    w.raw(last_names[(c / first_count) % last_count]);
    w.u(c + 1);
  }
  static void customer_id(writer& w, std::uint32_t c) {
    w.raw("c-");
    w.pad(c + 1, 7);
  }
  static void employee_id(writer& w, std::uint32_t e) {
    w.raw("e-");
    w.pad(e + 1, 5);
  }
  static void store_id(writer& w, std::uint32_t s) {
    w.raw("s-");
    w.pad(s + 1, 3);
  }
  static void badge_id(writer& w, std::uint32_t b) {
    w.raw("b-");
    w.pad(b, 6);
  }
  static void device_id(writer& w, std::uint32_t d) {
    w.raw("d-");
    w.hex(d, 8);
  }
  static void supplier_id(writer& w, std::uint32_t s) {
    w.raw("sup-");
    w.pad(s + 1, 4);
  }
  static void door_id(writer& w, std::uint32_t s, std::uint32_t door) {
    store_id(w, s);
    w.ch('-');
    w.raw(door_names[door]);
  }

  void key_start() { key_begin = buf.size(); }
  void key_stop() { key_end = buf.size(); }

  // ---- channel writers (field order as in DESIGN.md) ------------------------------

  void write_web(timestamp_ns t, std::uint32_t ip, std::string_view method, std::string_view path,
                 unsigned status, std::uint64_t bytes, std::string_view agent,
                 std::uint64_t session, std::string_view user, std::string_view event,
                 std::int64_t cents = -1, std::string_view currency = {}, std::uint64_t pan = 0) {
    writer w(buf);
    w.raw("{\"ts\":\"");
    clock.write(w, t);
    w.raw("\",\"client_ip\":\"");
    key_start();
    w.ip(ip);
    key_stop();
    w.raw("\",\"method\":\"");
    w.raw(method);
    w.raw("\",\"path\":\"");
    w.raw(path);
    w.raw("\",\"status\":");
    w.u(status);
    w.raw(",\"bytes\":");
    w.u(bytes);
    w.raw(",\"user_agent\":\"");
    w.raw(agent);
    w.raw("\",\"session_id\":\"");
    w.hex(session, 16);
    w.raw("\",\"user\":\"");
    w.raw(user);
    w.raw("\",\"event\":\"");
    w.raw(event);
    w.ch('"');
    if (cents >= 0) {
      w.raw(",\"amount\":");
      w.cents(cents);
      w.raw(",\"currency\":\"");
      w.raw(currency);
      w.raw("\",\"card_pan\":\"");
      w.u(pan);
      w.ch('"');
    }
    w.ch('}');
  }

  void write_mobile(timestamp_ns t, std::uint32_t device, std::string_view app, std::string_view os,
                    std::uint32_t cust, std::uint32_t ip, std::int64_t lat_e4, std::int64_t lon_e4,
                    std::string_view country, std::string_view event, std::int64_t cents = -1,
                    std::string_view currency = {}, std::uint64_t pan = 0) {
    writer w(buf);
    w.raw("{\"ts\":\"");
    clock.write(w, t);
    w.raw("\",\"device_id\":\"");
    key_start();
    device_id(w, device);
    key_stop();
    w.raw("\",\"app_version\":\"");
    w.raw(app);
    w.raw("\",\"os\":\"");
    w.raw(os);
    w.raw("\",\"customer_id\":\"c-");
    w.pad(cust + 1, 7);
    w.raw("\",\"ip\":\"");
    w.ip(ip);
    w.raw("\",\"geo\":{\"lat\":");
    w.fixed4(lat_e4);
    w.raw(",\"lon\":");
    w.fixed4(lon_e4);
    w.raw(",\"country\":\"");
    w.raw(country);
    w.raw("\"},\"event\":\"");
    w.raw(event);
    w.ch('"');
    if (cents >= 0) {
      w.raw(",\"amount\":");
      w.cents(cents);
      w.raw(",\"currency\":\"");
      w.raw(currency);
      w.ch('"');
    }
    if (pan != 0) {
      w.raw(",\"card_pan\":\"");
      w.u(pan);
      w.ch('"');
    }
    w.ch('}');
  }

  /// entry: 0 none, 1 chip, 2 swipe, 3 manual. override: -1 absent, 0 false, 1 true.
  void write_pos(timestamp_ns t, std::uint32_t st, std::uint32_t reg, std::uint32_t emp,
                 std::string_view event, std::int64_t cents, std::uint64_t pan, int entry,
                 int override_flag) {
    writer w(buf);
    w.raw("{\"ts\":\"");
    clock.write(w, t);
    w.raw("\",\"store_id\":\"");
    store_id(w, st);
    w.raw("\",\"register_id\":\"");
    store_id(w, st);
    w.raw("-r");
    w.pad(reg, 2);
    w.raw("\",\"employee_id\":\"");
    key_start();
    employee_id(w, emp);
    key_stop();
    w.raw("\",\"txn_id\":\"t-");
    w.pad(st + 1, 3);
    w.ch('-');
    w.pad(++txn, 9);
    w.raw("\",\"event\":\"");
    w.raw(event);
    w.raw("\",\"amount\":");
    w.cents(cents);
    w.raw(",\"currency\":\"USD\"");
    if (entry > 0) {
      w.raw(",\"card_pan\":\"");
      w.u(pan);
      w.raw("\",\"card_entry\":\"");
      w.raw(entry == 1 ? "chip" : entry == 2 ? "swipe" : "manual");
      w.ch('"');
    }
    if (override_flag >= 0)
      w.raw(override_flag ? ",\"manager_override\":true" : ",\"manager_override\":false");
    w.ch('}');
  }

  void write_supplier(timestamp_ns t, std::uint32_t sup, std::string_view user, std::uint32_t ip,
                      std::string_view event, std::int64_t records = -1,
                      std::string_view extra = {}) {
    writer w(buf);
    w.raw("{\"ts\":\"");
    clock.write(w, t);
    w.raw("\",\"supplier_id\":\"");
    key_start();
    supplier_id(w, sup);
    key_stop();
    w.raw("\",\"user\":\"");
    w.raw(user);
    w.raw("\",\"ip\":\"");
    w.ip(ip);
    w.raw("\",\"event\":\"");
    w.raw(event);
    w.ch('"');
    if (records >= 0) {
      w.raw(",\"records\":");
      w.u(static_cast<std::uint64_t>(records));
    }
    w.raw(extra);
    w.ch('}');
  }

  /// badge 0 = no badge presented (forced door): badge_id and employee_id are empty.
  void write_badge(timestamp_ns t, std::uint32_t badge, std::uint32_t emp, std::uint32_t site,
                   std::uint32_t door, std::string_view event, std::string_view direction) {
    writer w(buf);
    w.raw("{\"ts\":\"");
    clock.write(w, t);
    w.raw("\",\"badge_id\":\"");
    key_start();
    if (badge != 0) badge_id(w, badge);
    key_stop();
    w.raw("\",\"employee_id\":\"");
    if (badge != 0 && emp != std::numeric_limits<std::uint32_t>::max()) employee_id(w, emp);
    w.raw("\",\"site_id\":\"");
    store_id(w, site);
    w.raw("\",\"door_id\":\"");
    const std::size_t door_begin = buf.size();
    door_id(w, site, door);
    if (badge == 0) {
      key_begin = door_begin;
      key_end = buf.size();
    }
    w.raw("\",\"event\":\"");
    w.raw(event);
    w.raw("\",\"direction\":\"");
    w.raw(direction);
    w.raw("\"}");
  }

  // ---- background ------------------------------------------------------------------

  int pick_channel(timestamp_ns t) {
    double w[5];
    double total = 0;
    for (int c = 0; c < 5; ++c) total += (w[c] = intensity(t, c));
    double x = r.unit() * total;
    for (int c = 0; c < 4; ++c) {
      if (x < w[c]) return c;
      x -= w[c];
    }
    return 4;
  }

  static std::int64_t skewed_cents(rng& g, std::int64_t lo, std::int64_t hi) {
    const double u = g.unit();
    return lo + static_cast<std::int64_t>(u * u * static_cast<double>(hi - lo));
  }

  void background_web(timestamp_ns t) {
    const auto day = static_cast<std::uint64_t>(floor_div(t, ns_per_day));
    path_buf.clear();
    writer p(path_buf);
    user_buf.clear();
    if (r.chance(0.35)) {  // anonymous visitor browsing
      const std::uint64_t h = mix64(o.seed, r.below(50000), 11);
      const bool cart = r.chance(0.08);
      if (cart) {
        p.raw("/api/cart");
      } else {
        page_path(p);
      }
      write_web(t, public_ip(h), cart ? "POST" : "GET", {path_buf.data(), path_buf.size()},
                cart ? 200 : page_status(), 1200 + r.below(80000), browser_agents[h % 6],
                mix64(h, day), "-", cart ? "add_to_cart" : "page_view");
      return;
    }
    const std::uint32_t ci = r.below(o.customers);
    const customer& c = customers[ci];
    const std::uint32_t ip = r.chance(0.9) ? c.ip : public_ip(mix64(o.seed, ci, day * 7 + 3));
    writer u(user_buf);
    customer_name(u, ci);
    const std::string_view user{user_buf.data(), user_buf.size()};
    const std::string_view agent = browser_agents[c.agent];
    const std::uint64_t session = mix64(o.seed ^ 0x5e55, ci, day);
    const std::uint32_t x = r.below(10000);
    if (x < 6600) {
      page_path(p);
      write_web(t, ip, "GET", {path_buf.data(), path_buf.size()}, page_status(),
                1200 + r.below(90000), agent, session, user, "page_view");
    } else if (x < 7800) {
      write_web(t, ip, "POST", "/api/cart", 200, 300 + r.below(900), agent, session, user,
                "add_to_cart");
    } else if (x < 8500) {
      write_web(t, ip, "POST", "/login", 200, 400 + r.below(400), agent, session, user, "login");
    } else if (x < 8800) {
      write_web(t, ip, "GET", "/logout", 302, 200 + r.below(100), agent, session, user, "logout");
    } else if (x < 9350) {
      write_web(t, ip, "POST", "/checkout", 200, 2000 + r.below(6000), agent, session, user,
                "checkout");
    } else if (x < 9900) {
      write_web(t, ip, "POST", "/api/payments", 200, 300 + r.below(300), agent, session, user,
                "payment_authorized", skewed_cents(r, 999, 45000), cities[c.city].currency,
                c.pan[r.below(c.cards)]);
    } else if (x < 9950) {
      write_web(t, ip, "POST", "/login", 401, 300 + r.below(200), agent, session, user,
                "login_failed");
    } else if (x < 9975) {
      write_web(t, ip, "POST", "/api/payments", 402, 300 + r.below(300), agent, session, user,
                "payment_declined", skewed_cents(r, 999, 45000), cities[c.city].currency,
                c.pan[r.below(c.cards)]);
    } else {
      write_web(t, ip, "POST", "/account/password-reset", 200, 500 + r.below(300), agent, session,
                user, "password_reset");
    }
  }

  unsigned page_status() {
    const std::uint32_t x = r.below(1000);
    return x < 940 ? 200 : x < 990 ? 304 : 404;
  }

  void page_path(writer& p) {
    const std::uint32_t x = r.below(100);
    if (x < 10) {
      p.ch('/');
    } else if (x < 60) {
      p.raw("/products/");
      p.u(100000 + r.below(900000));
    } else if (x < 80) {
      p.raw("/category/");
      p.raw(categories[r.below(10)]);
    } else if (x < 90) {
      p.raw("/search?q=");
      p.raw(search_terms[r.below(8)]);
    } else if (x < 95) {
      p.raw("/cart");
    } else {
      p.raw("/account/orders");
    }
  }

  void background_mobile(timestamp_ns t) {
    const std::uint32_t ci = r.below(o.customers);
    const customer& c = customers[ci];
    const std::uint32_t d = r.below(c.devices);
    const auto day = static_cast<std::uint64_t>(floor_div(t, ns_per_day));
    const std::uint32_t ip = r.chance(0.6) ? c.ip : public_ip(mix64(o.seed, ci, day * 7 + 5));
    const std::int64_t lat = c.lat_e4 + r.between(-200, 200);
    const std::int64_t lon = c.lon_e4 + r.between(-200, 200);
    const city& home = cities[c.city];
    const std::uint32_t x = r.below(10000);
    std::string_view event;
    std::int64_t cents = -1;
    if (x < 3500) {
      event = "login";
    } else if (x < 4600) {
      event = "mfa_challenge";
    } else if (x < 8500) {
      event = "checkout";
      cents = skewed_cents(r, 1500, 30000);
    } else if (x < 9000) {
      event = "add_payment_card";
    } else if (x < 9350) {
      event = "gift_card_redeem";
      cents = 1000 + 500 * r.below(9);
    } else if (x < 9500) {
      event = "password_reset";
    } else if (x < 9900) {
      event = "login_failed";
    } else {
      event = "mfa_failed";
    }
    write_mobile(t, c.device[d], app_versions[c.app[d]], mobile_os[c.os[d]], ci, ip, lat, lon,
                 home.country, event, cents, home.currency);
  }

  /// A till event, or the badge-in that starts the employee's shift: nobody works a
  /// till without having badged in at that store within the last 10 hours.
  channel_kind background_pos(timestamp_ns t) {
    const std::uint32_t si = r.below(o.stores);
    const store& s = stores[si];
    const std::uint32_t emp =
        s.day.empty() ? s.night[0] : s.day[r.below(static_cast<std::uint32_t>(s.day.size()))];
    if (badged_in[emp] == never || t - badged_in[emp] > 10 * ns_per_hour) {
      badged_in[emp] = t;
      write_badge(t, employees[emp].badge, emp, si, door_staff, "access_granted", "in");
      return channel_kind::badge;
    }
    const std::uint32_t reg = 1 + r.below(s.registers);
    const std::uint32_t x = r.below(10000);
    // Shoppers use stores in their home city, so a card moves only within a city.
    const auto& locals = city_customers[s.city];
    const std::uint64_t pan =
        customers[locals.empty() ? r.below(o.customers)
                                 : locals[r.below(static_cast<std::uint32_t>(locals.size()))]]
            .pan[0];
    auto entry_for = [this](std::int64_t cents) {
      const std::uint32_t e = r.below(1000);
      if (e < 850) return 1;
      if (e < 985) return 2;
      return cents < 20000 ? 3 : 1;  // manual entry only for small amounts in background
    };
    if (x < 7150) {
      const auto cents = skewed_cents(r, 199, 30000);
      const bool card = r.chance(0.8);
      write_pos(t, si, reg, emp, "sale", cents, pan, card ? entry_for(cents) : 0, -1);
    } else if (x < 8050) {
      write_pos(t, si, reg, emp, "employee_login", 0, 0, 0, -1);
    } else if (x < 8650) {
      write_pos(t, si, reg, emp, "discount", 100 + r.below(3000), 0, 0, -1);
    } else if (x < 9100) {
      const auto cents = skewed_cents(r, 199, 15000);
      const bool card = r.chance(0.6);
      write_pos(t, si, reg, emp, "refund", cents, pan, card ? (r.chance(0.85) ? 1 : 2) : 0,
                r.chance(0.3));
    } else if (x < 9450) {
      write_pos(t, si, reg, emp, "void", skewed_cents(r, 199, 15000), 0, 0, r.chance(0.25));
    } else if (x < 9700) {
      write_pos(t, si, reg, emp, "price_override", 100 + r.below(5000), 0, 0, r.chance(0.6));
    } else if (x < 9850) {
      write_pos(t, si, reg, emp, "no_sale", 0, 0, 0, -1);
    } else {
      const auto cents = skewed_cents(r, 199, 30000);
      write_pos(t, si, reg, emp, "card_declined", cents, pan, entry_for(cents), -1);
    }
    return channel_kind::pos;
  }

  void background_supplier(timestamp_ns t) {
    const std::uint32_t si = r.below(o.suppliers);
    const supplier& s = suppliers[si];
    const std::string& user = supplier_users[s.first_user + r.below(s.users)];
    const std::uint32_t x = r.below(10000);
    if (x < 4000) {
      write_supplier(t, si, user, s.ip, "login");
    } else if (x < 6600) {
      write_supplier(t, si, user, s.ip, "invoice_submit");
    } else if (x < 8800) {
      write_supplier(t, si, user, s.ip, "po_change");
    } else if (x < 9500) {
      write_supplier(t, si, user, s.ip, "bulk_export", 10 + r.below(4991));
    } else if (x < 9850) {
      write_supplier(t, si, user, s.ip, "login_failed");
    } else if (x < 9950) {
      write_supplier(t, si, user, s.ip, "mfa_failed");
    } else {
      write_supplier(t, si, user, s.ip, "api_key_created");
    }
  }

  void background_badge(timestamp_ns t) {
    const int h = hour_of(t);
    // Day staff move through every door in the day; night staff (and anyone outside
    // 08-20) only use the staff and front doors, so stock rooms are quiet at night.
    const bool day = (h >= 8 && h <= 20) || ((h == 6 || h == 7) && r.chance(0.5));
    const auto& pool = day && !day_staff.empty() ? day_staff : night_staff;
    const std::uint32_t ei = pool[r.below(static_cast<std::uint32_t>(pool.size()))];
    const employee& e = employees[ei];
    std::uint32_t door;
    if (h >= 8 && h <= 20) {
      const std::uint32_t x = r.below(100);
      door = x < 35   ? door_staff
             : x < 55 ? door_front
             : x < 80 ? door_stockroom
             : x < 90 ? door_office
                      : door_loading;
    } else {
      door = r.chance(0.7) ? door_staff : door_front;
    }
    const std::uint32_t x = r.below(10000);
    const std::string_view event = x < 9500   ? "access_granted"
                                   : x < 9800 ? "access_denied"
                                              : "door_held";
    std::string_view dir;
    if (h == 6 || h == 7)
      dir = e.night ? "out" : "in";
    else if (h == 16 || h == 17)
      dir = e.night ? "in" : "out";
    else
      dir = r.chance(0.5) ? "in" : "out";
    write_badge(t, e.badge, ei, e.store, door, event, dir);
    if (event == "access_granted" && dir == "in") badged_in[ei] = t;
  }

  // ---- injected incidents ------------------------------------------------------------

  std::uint32_t pick_day_employee(rng& g) const {
    return day_staff[g.below(static_cast<std::uint32_t>(day_staff.size()))];
  }

  void entity_text(const plan& p, fmt::memory_buffer& out) const {
    writer w(out);
    switch (p.kind) {
      case scenario::web_path_probe:
      case scenario::mobile_tor_login:
      case scenario::credential_stuffing:
      case scenario::card_testing:
      case scenario::credential_stuffing_near_miss:
      case scenario::card_testing_near_miss:
        w.ip(p.ip);
        break;
      case scenario::badge_door_forced:
        door_id(w, p.a, door_stockroom);
        break;
      case scenario::denied_then_forced:
      case scenario::denied_then_forced_near_miss:
        door_id(w, p.a, p.b);
        break;
      case scenario::mobile_takeover:
      case scenario::mobile_takeover_near_miss:
        customer_id(w, p.a);
        break;
      case scenario::card_impossible_travel:
      case scenario::card_travel_near_miss:
        customer_id(w, p.c);
        break;
      case scenario::sweethearting:
      case scenario::manager_override_abuse:
      case scenario::pos_login_without_badge:
      case scenario::insider_risk:
      case scenario::no_sale_near_miss:
      case scenario::refund_fraud_near_miss:
      case scenario::manager_override_near_miss:
      case scenario::sweethearting_near_miss:
      case scenario::insider_risk_near_miss:
      case scenario::pos_login_badge_near_miss:
      case scenario::pos_manual_high_value:
      case scenario::refund_fraud:
      case scenario::no_sale_drawer:
        employee_id(w, p.a);
        break;
      case scenario::supplier_bank_change:
      case scenario::supplier_bulk_export:
      case scenario::supplier_takeover:
      case scenario::supplier_export_volume:
      case scenario::supplier_takeover_near_miss:
      case scenario::supplier_export_near_miss:
        supplier_id(w, p.a);
        break;
      case scenario::brute_force_near_miss:
      case scenario::brute_force_then_success:
        customer_name(w, p.a);
        break;
      case scenario::gift_card_near_miss:
        device_id(w, p.b);
        break;
      case scenario::after_hours_stockroom:
        badge_id(w, employees[p.a].badge);
        break;
      case scenario::gift_card_draining:
        device_id(w, p.b);
        break;
    }
  }

  /// Fills the plan and the event offsets (from the incident start) of one incident.
  void make_plan(plan& p, rng& g) {
    offsets.clear();
    auto steps = [&](std::int64_t n, std::int64_t gap_lo_s, std::int64_t gap_hi_s) {
      p.steps = static_cast<std::uint32_t>(n);
      timestamp_ns off = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        if (i > 0) off += g.between(gap_lo_s * 1000, gap_hi_s * 1000) * 1'000'000;
        offsets.push_back(off);
      }
    };
    switch (p.kind) {
      case scenario::web_path_probe:
        p.ip = attacker_ip(g.next());
        p.a = g.below(9);
        steps(g.between(6, 9), 1, 4);
        break;
      case scenario::badge_door_forced:
        p.a = g.below(o.stores);
        p.b = employees[g.below(o.employees)].badge;
        steps(1, 5, 30);  // a forced door alone (denied_then_forced has the refusals)
        break;
      case scenario::mobile_tor_login:
        p.ip = tor_ip(g.next());
        p.a = g.below(o.customers);
        p.b = static_cast<std::uint32_t>(g.next());  // the attacker's device
        p.c = g.below(2);                            // failed attempts first
        steps(p.c + 1 + g.below(2), 10, 40);
        break;
      case scenario::pos_manual_high_value:
        p.a = pick_day_employee(g);
        p.b = 1 + g.below(stores[employees[p.a].store].registers);
        steps(g.between(2, 3), 60, 300);
        break;
      case scenario::supplier_bank_change:
        p.a = g.below(o.suppliers);
        p.b = suppliers[p.a].first_user + g.below(suppliers[p.a].users);
        p.ip = suppliers[p.a].ip;  // from the office: login, then the change
        steps(2, 20, 90);
        break;
      case scenario::supplier_bulk_export:
        p.a = g.below(o.suppliers);
        p.b = suppliers[p.a].first_user + g.below(suppliers[p.a].users);
        p.ip = suppliers[p.a].ip;
        steps(2, 30, 120);
        break;
      case scenario::credential_stuffing:
        p.ip = attacker_ip(g.next());
        p.a = g.below(o.customers);
        p.b = g.below(4);  // tool agent
        p.c = g.below(2);  // one hit at the end
        steps(g.between(25, 60), 1, 6);
        break;
      case scenario::brute_force_then_success:
        p.ip = attacker_ip(g.next());
        p.a = g.below(o.customers);
        steps(g.between(11, 21), 3, 15);
        break;
      case scenario::card_testing:
        p.ip = attacker_ip(g.next());
        p.c = g.below(2);  // one card finally authorised
        steps(g.between(15, 30), 5, 20);
        break;
      case scenario::refund_fraud:
        p.a = pick_day_employee(g);
        p.b = 1 + g.below(stores[employees[p.a].store].registers);
        steps(g.between(8, 15), 240, 600);
        break;
      case scenario::no_sale_drawer:
        p.a = pick_day_employee(g);
        p.b = 1 + g.below(stores[employees[p.a].store].registers);
        steps(g.between(8, 12), 60, 180);  // at most 60 risk points: no insider alert
        break;
      case scenario::after_hours_stockroom: {
        p.a = pick_day_employee(g);
        p.steps = static_cast<std::uint32_t>(g.between(3, 4));
        timestamp_ns off = 0;
        offsets.push_back(0);                                         // staff door, in
        offsets.push_back(off += g.between(40, 90) * ns_per_second);  // stock room, in
        if (p.steps == 4) offsets.push_back(off += g.between(60, 120) * ns_per_second);
        offsets.push_back(off += g.between(600, 1500) * ns_per_second);  // stock room, out
        break;
      }
      case scenario::gift_card_draining:
        p.a = g.below(o.customers);
        p.b = static_cast<std::uint32_t>(g.next());
        p.ip = public_ip(g.next());
        steps(g.between(11, 26), 15, 60);
        break;
      case scenario::gift_card_near_miss:
        p.a = g.below(o.customers);
        p.b = static_cast<std::uint32_t>(g.next());
        p.ip = public_ip(g.next());
        steps(8, 15, 60);  // a login and 7 redemptions: one short
        break;
      case scenario::denied_then_forced:
      case scenario::denied_then_forced_near_miss:
        p.a = g.below(o.stores);
        p.b = door_stockroom + g.below(3);  // stock room, office or loading dock
        p.c = employees[g.below(o.employees)].badge;
        steps(p.kind == scenario::denied_then_forced ? g.between(2, 3) : 2, 20, 90);
        break;
      case scenario::mobile_takeover:
      case scenario::mobile_takeover_near_miss:
        p.a = g.below(o.customers);
        p.b = static_cast<std::uint32_t>(g.next());
        p.ip = attacker_ip(g.next());
        steps(4, 60, 300);
        break;
      case scenario::card_impossible_travel:
      case scenario::card_travel_near_miss: {
        // A local customer with a second card (background tills only see first cards).
        std::uint32_t c = g.below(o.customers);
        for (std::uint32_t k = 0; k < o.customers; ++k, c = (c + 1) % o.customers)
          if (customers[c].cards == 2 && customers[c].city < us_cities) break;
        p.a = c;
        p.b = customers[c].city % o.stores;  // a store in the customer's city (if any)
        for (std::uint32_t s = customers[c].city; s < o.stores; s += us_cities) p.b = s;
        p.c = 8'999'999 + g.below(999'999);  // the fraudster's own app account
        p.ip = attacker_ip(g.next());
        p.steps = 2;
        offsets.push_back(0);
        if (p.kind == scenario::card_impossible_travel) {
          offsets.push_back(g.between(300, 1800) * ns_per_second);
        } else {
          // Online in another US city at 800 km/h: fast, but not impossible.
          const auto [slat, slon] = store_location(p.b);
          for (std::uint32_t y = 0; y < us_cities; ++y) {
            const double km = distance_km(slat, slon, cities[y].lat, cities[y].lon);
            if (km >= 1000 && km <= 4000) {
              offsets.push_back(static_cast<timestamp_ns>(km / 800.0 * 3600.0 * 1e9));
              break;
            }
          }
          if (offsets.size() == 1) offsets.push_back(6 * ns_per_hour);
        }
        break;
      }
      case scenario::sweethearting:
      case scenario::sweethearting_near_miss: {
        p.a = p.kind == scenario::sweethearting ? pick_day_employee(g) : pick_night_employee(g);
        p.b = 1 + g.below(stores[employees[p.a].store].registers);
        const auto pairs = p.kind == scenario::sweethearting ? g.between(3, 4) : 3;
        p.steps = static_cast<std::uint32_t>(2 * pairs);
        timestamp_ns off = 0;
        for (std::int64_t i = 0; i < pairs; ++i) {
          if (i > 0) off += g.between(360, 900) * ns_per_second;
          offsets.push_back(off);
          offsets.push_back(off + g.between(30, 120) * ns_per_second);
        }
        break;
      }
      case scenario::manager_override_abuse:
      case scenario::manager_override_near_miss:
        p.a = p.kind == scenario::manager_override_abuse ? pick_day_employee(g)
                                                         : pick_night_employee(g);
        p.b = 1 + g.below(stores[employees[p.a].store].registers);
        steps(p.kind == scenario::manager_override_abuse ? g.between(10, 13) : 9, 180, 480);
        break;
      case scenario::pos_login_without_badge:
      case scenario::pos_login_badge_near_miss:
        p.a = pick_day_employee(g);
        p.b = (employees[p.a].store + 1 + g.below(std::max<std::uint32_t>(1, o.stores - 1))) %
              o.stores;  // another store: the employee never badges in there
        steps(3, 60, 600);
        break;
      case scenario::insider_risk:
      case scenario::insider_risk_near_miss:
        p.a = p.kind == scenario::insider_risk ? pick_day_employee(g) : pick_night_employee(g);
        p.b = 1 + g.below(stores[employees[p.a].store].registers);
        steps(p.kind == scenario::insider_risk ? 3 : 4, 600, 2400);
        break;
      case scenario::supplier_takeover:
      case scenario::supplier_takeover_near_miss:
        p.a = g.below(o.suppliers);
        p.b = suppliers[p.a].first_user + g.below(suppliers[p.a].users);
        p.ip = attacker_ip(g.next());
        steps(4, 30, 300);
        break;
      case scenario::supplier_export_volume:
      case scenario::supplier_export_near_miss:
        p.a = g.below(o.suppliers);
        p.b = suppliers[p.a].first_user + g.below(suppliers[p.a].users);
        p.ip = suppliers[p.a].ip;
        steps(p.kind == scenario::supplier_export_volume ? g.between(8, 10) : 4, 600, 2400);
        break;
      case scenario::credential_stuffing_near_miss:
        p.ip = attacker_ip(g.next());
        p.a = g.below(o.customers);
        p.b = g.below(4);
        steps(19, 1, 6);  // one victim short of 20
        break;
      case scenario::brute_force_near_miss:
        p.ip = attacker_ip(g.next());
        p.a = g.below(o.customers);
        steps(10, 3, 15);  // nine failures, then the success
        break;
      case scenario::card_testing_near_miss:
        p.ip = attacker_ip(g.next());
        steps(9, 5, 20);  // one card short of 10
        break;
      case scenario::no_sale_near_miss:
        p.a = pick_night_employee(g);
        p.b = 1 + g.below(stores[employees[p.a].store].registers);
        steps(7, 60, 180);
        break;
      case scenario::refund_fraud_near_miss:
        p.a = pick_night_employee(g);
        p.b = 1 + g.below(stores[employees[p.a].store].registers);
        steps(7, 240, 600);  // seven refunds of 150-300: the total is there, the count is not
        break;
    }
  }

  std::uint32_t pick_night_employee(rng& g) {
    // Night staff work no tills in the background, and each near miss gets its own
    // (in turn), so a near miss stays exactly as far short of its threshold as planned.
    if (night_staff.empty()) return pick_day_employee(g);
    return night_staff[(next_night++ + static_cast<std::uint32_t>(o.seed)) %
                       static_cast<std::uint32_t>(night_staff.size())];
  }
  std::uint32_t next_night = 0;

  std::pair<double, double> store_location(std::uint32_t s) const {
    const auto& c = cities[stores[s].city];
    return {c.lat + static_cast<double>(static_cast<int>((s * 37) % 11) - 5) * 0.01,
            c.lon + static_cast<double>(static_cast<int>((s * 53) % 11) - 5) * 0.01};
  }

  static double distance_km(double lat1, double lon1, double lat2, double lon2) {
    constexpr double rad = 3.14159265358979323846 / 180.0;
    const double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                     std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dlon / 2) *
                         std::sin(dlon / 2);
    return 2 * 6371.0 * std::asin(std::min(1.0, std::sqrt(h)));
  }

  void schedule(timestamp_ns now) {
    const int h = hour_of(now);
    const scenario* best = nullptr;
    for (const auto& s : allowed) {
      const auto& info = scenarios[static_cast<int>(s)];
      if (h < info.first_hour || h > info.last_hour) continue;
      // Least used first; on a tie the scenario with the narrower time window, so
      // night-only and store-hours scenarios get their turn while they can.
      if (best == nullptr) {
        best = &s;
        if (incidents.empty()) break;  // the first one in list order: a quick stateless hit
        continue;
      }
      const auto& b = scenarios[static_cast<int>(*best)];
      const auto su = uses[static_cast<int>(s)], bu = uses[static_cast<int>(*best)];
      if (su < bu || (su == bu && info.last_hour - info.first_hour < b.last_hour - b.first_hour))
        best = &s;
    }
    if (best != nullptr) inject(*best, now);
    // The stock-room scenario only makes sense at night: the first trigger books one
    // for the coming night, so every stream that spans a night contains it.
    if (!night_booked) {
      night_booked = true;
      const auto kind = scenario::after_hours_stockroom;
      if (std::find(allowed.begin(), allowed.end(), kind) != allowed.end() && uses[11] == 0) {
        timestamp_ns at = floor_div(now, ns_per_day) * ns_per_day + 3 * ns_per_hour +
                          r.between(0, 45 * 60 * 1000) * 1'000'000;
        if (at <= now) at += ns_per_day;
        if (o.live || at < o.start + o.simulated_span - ns_per_hour) inject(kind, at);
      }
    }
  }

  /// Plans one incident of `kind` starting at `now` and queues its events.
  void inject(scenario kind, timestamp_ns now) {
    plan p{kind, r.next()};
    rng g(p.seed);
    make_plan(p, g);
    if (!o.live) {
      if (emitted + heap.size() + p.steps > o.count) return;  // does not fit the count
      // Squeeze an incident that would run past the simulated span.
      const timestamp_ns limit = o.start + o.simulated_span;
      const timestamp_ns dur = offsets.back();
      if (dur > 0 && now + dur > limit) {
        const double scale =
            static_cast<double>(std::max<timestamp_ns>(0, limit - now)) / static_cast<double>(dur);
        for (auto& off : offsets) off = static_cast<timestamp_ns>(static_cast<double>(off) * scale);
      }
    }
    ++uses[static_cast<int>(p.kind)];
    incident rec;
    rec.number = static_cast<std::uint32_t>(incidents.size() + 1);
    rec.kind = p.kind;
    rec.planned = p.steps;
    fmt::memory_buffer ent;
    entity_text(p, ent);
    rec.entity_value.assign(ent.data(), ent.size());
    const auto index = static_cast<std::uint32_t>(incidents.size());
    incidents.push_back(std::move(rec));
    plans.push_back(p);
    for (std::uint32_t i = 0; i < p.steps; ++i) {
      heap.push_back({now + offsets[i], order++, index, i});
      std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    }
  }

  /// Writes one event of an incident; returns its channel.
  channel_kind write_attack(const pending& ev) {
    const plan& p = plans[ev.incident];
    rng g(mix64(p.seed, ev.step + 1));
    const timestamp_ns t = ev.time;
    const std::uint32_t i = ev.step;
    const bool last = i + 1 == p.steps;
    switch (p.kind) {
      case scenario::web_path_probe:
        write_web(t, p.ip, "GET", probe_paths[(p.a + i) % 9], 404, 150 + g.below(200),
                  tool_agents[1 + (p.a % 2)], mix64(p.seed, i), "-", "page_view");
        break;
      case scenario::badge_door_forced:
        if (last)
          write_badge(t, 0, 0, p.a, door_stockroom, "door_forced", "in");
        else
          write_badge(t, p.b, std::numeric_limits<std::uint32_t>::max(), p.a, door_stockroom,
                      "access_denied", "in");
        break;
      case scenario::mobile_tor_login: {
        static constexpr std::int64_t exits[][2] = {{501109, 86821}, {523676, 49041}};
        static constexpr std::string_view exit_country[] = {"DE", "NL"};
        const auto x = p.ip & 1;
        const std::string_view event = i < p.c    ? "login_failed"
                                       : i == p.c ? "login"
                                                  : "add_payment_card";
        write_mobile(t, p.b, app_versions[0], mobile_os[2], p.a, p.ip, exits[x][0], exits[x][1],
                     exit_country[x], event);
        break;
      }
      case scenario::pos_manual_high_value: {
        const auto& e = employees[p.a];
        if (i == 0)  // an ordinary chip sale first (a login would need a badge-in)
          write_pos(t, e.store, p.b, p.a, "sale", g.between(500, 5000), make_pan(g.next()), 1, -1);
        else
          write_pos(t, e.store, p.b, p.a, "sale", g.between(50000, 250000), make_pan(g.next()), 3,
                    -1);
        break;
      }
      case scenario::supplier_bank_change: {
        const std::string& user = supplier_users[p.b];
        if (i == 0) {
          write_supplier(t, p.a, user, p.ip, "login");
        } else if (!last) {
          write_supplier(t, p.a, user, p.ip, "mfa_failed");
        } else {
          path_buf.clear();
          writer x(path_buf);
          x.raw(",\"new_account_last4\":\"");
          x.pad(g.below(10000), 4);
          x.ch('"');
          write_supplier(t, p.a, user, p.ip, "bank_details_change", -1,
                         {path_buf.data(), path_buf.size()});
        }
        break;
      }
      case scenario::supplier_bulk_export: {
        const std::string& user = supplier_users[p.b];
        if (i == 0)
          write_supplier(t, p.a, user, p.ip, "login");
        else
          write_supplier(t, p.a, user, p.ip, "bulk_export", g.between(12000, 30000));
        break;
      }
      case scenario::credential_stuffing: {
        // Distinct victims: a fixed stride through the customer list.
        const std::uint32_t victim =
            static_cast<std::uint32_t>((p.a + static_cast<std::uint64_t>(i) * 7919) % o.customers);
        user_buf.clear();
        writer u(user_buf);
        customer_name(u, victim);
        const bool hit = last && p.c == 1;
        write_web(t, p.ip, "POST", "/login", hit ? 200 : 401, 300 + g.below(200),
                  p.b == 0 ? tool_agents[0] : browser_agents[p.b], mix64(p.seed, i),
                  {user_buf.data(), user_buf.size()}, hit ? "login" : "login_failed");
        break;
      }
      case scenario::brute_force_then_success: {
        user_buf.clear();
        writer u(user_buf);
        customer_name(u, p.a);
        write_web(t, p.ip, "POST", "/login", last ? 200 : 401, 300 + g.below(200), tool_agents[2],
                  mix64(p.seed, i), {user_buf.data(), user_buf.size()},
                  last ? "login" : "login_failed");
        break;
      }
      case scenario::card_testing: {
        const bool ok = last && p.c == 1;
        write_web(t, p.ip, "POST", "/api/payments", ok ? 200 : 402, 300 + g.below(200),
                  browser_agents[0], p.seed, "-", ok ? "payment_authorized" : "payment_declined",
                  g.between(50, 199), "USD", make_pan(mix64(p.seed, i, 77)));
        break;
      }
      case scenario::refund_fraud: {
        const auto& e = employees[p.a];
        write_pos(t, e.store, p.b, p.a, "refund", g.between(15000, 30000),
                  make_pan(mix64(p.seed, g.below(2), 3)), g.chance(0.7) ? 2 : 1, 0);
        break;
      }
      case scenario::no_sale_drawer: {
        const auto& e = employees[p.a];
        write_pos(t, e.store, p.b, p.a, "no_sale", 0, 0, 0, -1);
        break;
      }
      case scenario::after_hours_stockroom: {
        const auto& e = employees[p.a];
        if (i == 0)
          write_badge(t, e.badge, p.a, e.store, door_staff, "access_granted", "in");
        else if (last)
          write_badge(t, e.badge, p.a, e.store, door_stockroom, "access_granted", "out");
        else if (i == 1)
          write_badge(t, e.badge, p.a, e.store, door_stockroom, "access_granted", "in");
        else
          write_badge(t, e.badge, p.a, e.store, door_stockroom, "door_held", "in");
        break;
      }
      case scenario::gift_card_draining: {
        const customer& c = customers[p.a];
        write_mobile(t, p.b, app_versions[3], mobile_os[3], p.a, p.ip, c.lat_e4 + 3000,
                     c.lon_e4 - 2000, cities[c.city].country, i == 0 ? "login" : "gift_card_redeem",
                     i == 0 ? std::int64_t{-1} : std::int64_t{2500} * (1 + g.below(4)),
                     cities[c.city].currency);
        break;
      }
      case scenario::gift_card_near_miss: {
        const customer& c = customers[p.a];
        write_mobile(t, p.b, app_versions[3], mobile_os[3], p.a, p.ip, c.lat_e4 + 3000,
                     c.lon_e4 - 2000, cities[c.city].country, i == 0 ? "login" : "gift_card_redeem",
                     i == 0 ? std::int64_t{-1} : std::int64_t{2500} * (1 + g.below(4)),
                     cities[c.city].currency);
        break;
      }
      case scenario::denied_then_forced:
      case scenario::denied_then_forced_near_miss: {
        // In order: refusals, then the break-in. The near miss: forced, then a refusal.
        const bool forced = p.kind == scenario::denied_then_forced ? last : i == 0;
        if (forced)
          write_badge(t, 0, 0, p.a, p.b, "door_forced", "in");
        else
          write_badge(t, p.c, std::numeric_limits<std::uint32_t>::max(), p.a, p.b, "access_denied",
                      "in");
        break;
      }
      case scenario::mobile_takeover:
      case scenario::mobile_takeover_near_miss: {
        const customer& c = customers[p.a];
        const bool near = p.kind == scenario::mobile_takeover_near_miss;
        if (i == 0) {  // the owner on their own phone: the account has history
          write_mobile(t, c.device[0], app_versions[c.app[0]], mobile_os[c.os[0]], p.a, c.ip,
                       c.lat_e4, c.lon_e4, cities[c.city].country, "login");
          break;
        }
        std::string_view event = "login";
        std::int64_t cents = -1;
        if (i == 2) event = near ? "checkout" : "add_payment_card";
        if (i == 3) event = near ? "add_payment_card" : "checkout";
        if (event == "checkout") cents = g.between(60000, 150000);
        write_mobile(t, p.b, app_versions[1], mobile_os[2], p.a, p.ip, c.lat_e4 + 900,
                     c.lon_e4 - 700, cities[c.city].country, event, cents,
                     cities[c.city].currency);
        break;
      }
      case scenario::card_impossible_travel:
      case scenario::card_travel_near_miss: {
        const customer& c = customers[p.a];
        if (i == 0) {
          const store& s = stores[p.b];
          const std::uint32_t emp =
              s.day.empty() ? s.night[0] : s.day[g.below(static_cast<std::uint32_t>(s.day.size()))];
          write_pos(t, p.b, 1 + g.below(s.registers), emp, "sale", g.between(2000, 15000), c.pan[1],
                    1, -1);
          return channel_kind::pos;
        }
        std::int64_t lat = 65244, lon = 33792;  // Lagos
        std::string_view country = "NG";
        if (p.kind == scenario::card_travel_near_miss) {
          const auto [slat, slon] = store_location(p.b);
          for (std::uint32_t y = 0; y < us_cities; ++y) {
            const double km = distance_km(slat, slon, cities[y].lat, cities[y].lon);
            if (km >= 1000 && km <= 4000) {
              lat = std::lround(cities[y].lat * 10000);
              lon = std::lround(cities[y].lon * 10000);
              country = "US";
              break;
            }
          }
        }
        write_mobile(t, static_cast<std::uint32_t>(p.seed), app_versions[2], mobile_os[0], p.c, p.ip,
                     lat, lon, country, "checkout", g.between(20000, 48000), "USD", c.pan[1]);
        return channel_kind::mobile;
      }
      case scenario::sweethearting:
      case scenario::sweethearting_near_miss: {
        const auto& e = employees[p.a];
        const bool first = i % 2 == 0;
        const bool sale = p.kind == scenario::sweethearting ? first : !first;
        write_pos(t, e.store, p.b, p.a, sale ? "sale" : "void",
                  2000 + static_cast<std::int64_t>(mix64(p.seed, i / 2) % 18000), 0, 0, -1);
        break;
      }
      case scenario::manager_override_abuse:
      case scenario::manager_override_near_miss: {
        const auto& e = employees[p.a];
        write_pos(t, e.store, p.b, p.a, "price_override", g.between(500, 8000), 0, 0, 1);
        break;
      }
      case scenario::pos_login_without_badge:
      case scenario::pos_login_badge_near_miss: {
        const auto& e = employees[p.a];
        const bool near = p.kind == scenario::pos_login_badge_near_miss;
        if (near && i == 0) {
          write_badge(t, e.badge, p.a, p.b, door_staff, "access_granted", "in");
          return channel_kind::badge;
        }
        if (i == (near ? 1u : 0u))
          write_pos(t, p.b, 1, p.a, "employee_login", 0, 0, 0, -1);
        else
          write_pos(t, p.b, 1, p.a, "sale", g.between(500, 6000), 0, 0, -1);
        break;
      }
      case scenario::insider_risk:
      case scenario::insider_risk_near_miss: {
        // Positive: a refused office swipe (25) and two refunds to keyed cards (80).
        // Near miss: two refused swipes (50), one keyed refund (40), one no-sale (5) = 95.
        const auto& e = employees[p.a];
        const bool near = p.kind == scenario::insider_risk_near_miss;
        const bool badge = i == 0 || (near && i == 1);
        if (badge) {
          write_badge(t, e.badge, p.a, e.store, i == 0 ? door_office : door_stockroom,
                      "access_denied", "in");
          return channel_kind::badge;
        }
        if (near && last)
          write_pos(t, e.store, p.b, p.a, "no_sale", 0, 0, 0, -1);
        else
          write_pos(t, e.store, p.b, p.a, "refund", g.between(4000, 15000), make_pan(g.next()), 3,
                    0);
        break;
      }
      case scenario::supplier_takeover:
      case scenario::supplier_takeover_near_miss: {
        const std::string& user = supplier_users[p.b];
        const bool near = p.kind == scenario::supplier_takeover_near_miss;
        if (i == 0)
          write_supplier(t, p.a, user, suppliers[p.a].ip, "invoice_submit");
        else if (i == 1)
          write_supplier(t, p.a, user, p.ip, "login");
        else if ((i == 2) != near)
          write_supplier(t, p.a, user, p.ip, "mfa_failed");
        else
          write_supplier(t, p.a, user, p.ip, "bank_details_change");
        break;
      }
      case scenario::supplier_export_volume:
      case scenario::supplier_export_near_miss: {
        const std::string& user = supplier_users[p.b];
        write_supplier(t, p.a, user, p.ip, "bulk_export",
                       p.kind == scenario::supplier_export_volume ? g.between(6500, 9500)
                                                                  : g.between(6000, 8000));
        break;
      }
      case scenario::credential_stuffing_near_miss: {
        const std::uint32_t victim =
            static_cast<std::uint32_t>((p.a + static_cast<std::uint64_t>(i) * 7919) % o.customers);
        user_buf.clear();
        writer u(user_buf);
        customer_name(u, victim);
        write_web(t, p.ip, "POST", "/login", 401, 300 + g.below(200),
                  p.b == 0 ? tool_agents[0] : browser_agents[p.b], mix64(p.seed, i),
                  {user_buf.data(), user_buf.size()}, "login_failed");
        break;
      }
      case scenario::brute_force_near_miss: {
        user_buf.clear();
        writer u(user_buf);
        customer_name(u, p.a);
        write_web(t, p.ip, "POST", "/login", last ? 200 : 401, 300 + g.below(200), tool_agents[2],
                  mix64(p.seed, i), {user_buf.data(), user_buf.size()},
                  last ? "login" : "login_failed");
        break;
      }
      case scenario::card_testing_near_miss:
        write_web(t, p.ip, "POST", "/api/payments", 402, 300 + g.below(200), browser_agents[0],
                  p.seed, "-", "payment_declined", g.between(50, 199), "USD",
                  make_pan(mix64(p.seed, i, 77)));
        break;
      case scenario::no_sale_near_miss: {
        const auto& e = employees[p.a];
        write_pos(t, e.store, p.b, p.a, "no_sale", 0, 0, 0, -1);
        break;
      }
      case scenario::refund_fraud_near_miss: {
        const auto& e = employees[p.a];
        write_pos(t, e.store, p.b, p.a, "refund", g.between(15000, 30000),
                  make_pan(mix64(p.seed, g.below(2), 3)), 1, 0);
        break;
      }
    }
    return scenario_channel(p.kind);
  }

  // ---- malformed events --------------------------------------------------------------

  static std::string_view wrong_type_field(channel_kind c) {
    switch (c) {
      case channel_kind::web:
        return "\"status\":";
      case channel_kind::mobile:
        return "\"geo\":";
      case channel_kind::pos:
        return "\"amount\":";
      case channel_kind::supplier:
        return "\"user\":";
      default:
        return "\"door_id\":";
    }
  }

  bad_kind corrupt(channel_kind c, std::uint64_t channel_seq, timestamp_ns t) {
    const auto kind = static_cast<bad_kind>(r.below(4));
    bad_buf.assign(buf.data(), buf.size());
    switch (kind) {
      case bad_kind::invalid_json: {
        // Any proper prefix of an object leaves a brace open.
        const auto cut = 10 + r.below(static_cast<std::uint32_t>(bad_buf.size() - 11));
        bad_buf.resize(cut);
        break;
      }
      case bad_kind::missing_ts:
        bad_buf.erase(1, 32);
        break;  // {"ts":"<24 chars>",
      case bad_kind::unparsable_ts: {
        static constexpr std::string_view junk[] = {"yesterday at noon", "not-a-time",
                                                    "2026-13-45T25:61:00Z", "32/13/2026"};
        bad_buf.replace(7, 24, junk[r.below(4)]);
        break;
      }
      case bad_kind::wrong_type: {
        // Wrap the field's value in an object or array where a scalar/object belongs.
        const auto field = wrong_type_field(c);
        const auto at = bad_buf.find(field);
        if (at == std::string::npos) break;
        const std::size_t vs = at + field.size();
        std::size_t ve = vs;
        if (bad_buf[vs] == '"') {
          ve = bad_buf.find('"', vs + 1) + 1;
        } else if (bad_buf[vs] == '{') {
          ve = bad_buf.find('}', vs) + 1;
        } else {
          while (ve < bad_buf.size() && bad_buf[ve] != ',' && bad_buf[ve] != '}') ++ve;
        }
        const bool array = c == channel_kind::mobile || c == channel_kind::badge;
        bad_buf.insert(ve, array ? "]" : "}");
        bad_buf.insert(vs, array                    ? "["
                           : c == channel_kind::web ? "{\"code\":"
                           : c == channel_kind::pos ? "{\"value\":"
                                                    : "{\"name\":");
        break;
      }
    }
    bad.push_back({kind, c, emitted, channel_seq, t});
    return kind;
  }

  // ---- emission ----------------------------------------------------------------------

  void finish(generated& out, channel_kind c, timestamp_ns t, std::int32_t inc, bool is_bad) {
    key_buf.assign(buf.data() + key_begin, key_end - key_begin);
    out.ch = c;
    out.channel = channel_names[static_cast<int>(c)];
    out.time = t;
    out.incident = inc;
    out.bad = is_bad;
    out.key = key_buf;
    out.payload = is_bad ? std::string_view(bad_buf) : std::string_view(buf.data(), buf.size());
    ++emitted;
    ++per_channel[static_cast<int>(c)];
    last_time = t;
  }

  void emit_attack(generated& out) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const pending ev = heap.back();
    heap.pop_back();
    buf.clear();
    const channel_kind ch = write_attack(ev);
    auto& rec = incidents[ev.incident];
    if (rec.events == 0) rec.start = ev.time;
    rec.end = ev.time;
    ++rec.events;
    key_buf.clear();
    finish(out, ch, ev.time, static_cast<std::int32_t>(ev.incident), false);
  }

  void emit_background(generated& out, timestamp_ns t) {
    buf.clear();
    int c = pick_channel(t);
    switch (c) {
      case 0:
        background_web(t);
        break;
      case 1:
        background_mobile(t);
        break;
      case 2:
        c = static_cast<int>(background_pos(t));
        break;
      case 3:
        background_supplier(t);
        break;
      default:
        background_badge(t);
        break;
    }
    const auto ch = static_cast<channel_kind>(c);
    bool is_bad = false;
    if (o.bad_rate > 0 && r.unit() < o.bad_rate) {
      corrupt(ch, per_channel[c], t);
      is_bad = true;
    }
    finish(out, ch, t, -1, is_bad);
    ++bg_index;
    if (spacing > 0 && static_cast<double>(bg_index) >= next_trigger) {
      next_trigger += spacing * (0.75 + 0.5 * r.unit());
      schedule(t);
    }
  }

  bool next_simulated(generated& out) {
    if (emitted >= o.count) return false;
    const bool background_left = emitted + heap.size() < o.count;
    if (!background_left) {
      if (heap.empty()) return false;
      emit_attack(out);
      return true;
    }
    if (!have_bg_time) {
      bg_time = simulated_time(bg_index);
      have_bg_time = true;
    }
    if (!heap.empty() && heap.front().time <= bg_time) {
      emit_attack(out);
      return true;
    }
    have_bg_time = false;
    emit_background(out, bg_time);
    return true;
  }

  bool next_live(timestamp_ns now, generated& out) {
    if (o.count != 0 && emitted >= o.count) return false;
    if (!heap.empty() && heap.front().time <= now) {
      emit_attack(out);
      return true;
    }
    emit_background(out, std::max(now, last_time));
    return true;
  }

  bool have_bg_time = false;
  timestamp_ns bg_time = 0;
  bool night_booked = false;
};

generator::generator(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
generator::~generator() = default;

bool generator::next(generated& out) { return impl_->next_simulated(out); }
bool generator::next_at(timestamp_ns now, generated& out) { return impl_->next_live(now, out); }

const std::vector<incident>& generator::incidents() const { return impl_->incidents; }
const std::vector<bad_record>& generator::bad_records() const { return impl_->bad; }
std::uint64_t generator::emitted() const { return impl_->emitted; }
std::array<std::uint64_t, channel_count> generator::emitted_per_channel() const {
  return impl_->per_channel;
}

std::string generator::incident_json(const incident& i) const {
  fmt::memory_buffer b;
  writer w(b);
  ts_cache tc;
  w.raw("{\"incident\":\"inc-");
  w.pad(i.number, 6);
  w.raw("\",\"scenario\":\"");
  w.raw(scenario_name(i.kind));
  w.raw("\",\"rule\":\"");
  w.raw(scenario_rule(i.kind));
  w.raw("\",\"channel\":\"");
  w.raw(channel_name(scenario_channel(i.kind)));
  w.raw("\",\"entity\":{\"field\":\"");
  w.raw(scenario_entity_field(i.kind));
  w.raw("\",\"value\":\"");
  w.raw(i.entity_value);
  w.raw("\"},\"start\":\"");
  tc.write(w, i.start);
  w.raw("\",\"end\":\"");
  tc.write(w, i.end);
  w.raw("\",\"events\":");
  w.u(i.events);
  if (scenario_near_miss(i.kind)) w.raw(",\"near_miss\":true");
  if (!scenario_also(i.kind).empty()) {
    w.raw(",\"also\":[\"");
    w.raw(scenario_also(i.kind));
    w.raw("\"]");
  }
  w.ch('}');
  return fmt::to_string(b);
}

std::string generator::bad_json(const bad_record& r) const {
  fmt::memory_buffer b;
  writer w(b);
  ts_cache tc;
  w.raw("{\"bad\":\"");
  w.raw(bad_kind_name(r.kind));
  w.raw("\",\"channel\":\"");
  w.raw(channel_name(r.ch));
  w.raw("\",\"seq\":");
  w.u(r.seq);
  w.raw(",\"channel_seq\":");
  w.u(r.channel_seq);
  w.raw(",\"ts\":\"");
  tc.write(w, r.time);
  w.raw("\"}");
  return fmt::to_string(b);
}

}  // namespace sentrail::gen
