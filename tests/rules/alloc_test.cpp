// Matching is the hot path: it must not touch the heap. This binary counts
// every operator new while a test window is open.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "rules/loader.h"
#include "tests/rules/test_util.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace sentrail::rules {
namespace {

using testing::dump;
using testing::event_builder;

TEST(hot_path, matching_events_allocates_nothing) {
  auto pack = load_rules(SENTRAIL_SOURCE_DIR "/rules/pack/foundation.yml");
  auto extra = parse_rules(
      "title: every matcher\nlogsource: {product: retail}\n"
      "detection:\n"
      "  a: {url.path|re|i: '^/admin/.*\\.php$', user.name: 'j?hn*doe'}\n"
      "  b: {source.ip|cidr: ['10.0.0.0/8', '2001:db8::/32'], retail.amount|lt: 3}\n"
      "  c: [needle, 'hay*stack']\n"
      "  d: {user.id: null, card_entry|exists: true, retail.store.id: 42}\n"
      "  condition: 1 of them or (a and not b) or all of them\n"
      "---\n"
      "title: time parts and neq\nlogsource: {product: retail}\n"
      "detection:\n"
      "  t: {'@timestamp|hour': [22, 23], event.action|neq: [login, refund]}\n"
      "  u: {shift.start|month|gte: 11}\n"
      "  condition: t or u\n",
      "extra.yml");
  ASSERT_FALSE(pack.has_errors()) << dump(pack);
  ASSERT_TRUE(extra.diagnostics.empty()) << dump(extra);

  event_builder e1, e2, e3;
  e1.str("event.action", "sale").extra("card_entry", "manual").num("retail.amount", "700", 700);
  e1.e.time = 1795474800LL * 1'000'000'000;  // 2026-11-23T23:00:00Z
  e2.str("url.path", "/Admin/x.PHP").str("user.name", "john q doe").str("source.ip", "10.1.2.3");
  e2.str("shift.start", "2026-11-23T10:00:00Z");
  e3.str("event.action", "login").str("source.ip", "185.220.101.1").str("message", "a haystack");
  const ingest::event* events[] = {&e1.e, &e2.e, &e3.e};

  long hits = 0;
  // RE2 fills its bounded DFA cache on first use; warm up before counting.
  for (const ingest::event* e : events)
    for (const auto& r : extra.rules.detections()) hits += r->matches(*e);
  hits = 0;
  allocations = 0;
  counting = true;
  for (int round = 0; round < 1000; ++round) {
    for (const ingest::event* e : events) {
      for (const auto& r : pack.rules.detections()) hits += r->matches(*e);
      for (const auto& r : extra.rules.detections()) hits += r->matches(*e);
    }
  }
  counting = false;
  EXPECT_EQ(allocations.load(), 0);
  // e1: pos rule and time rule; e2: extra rule and time rule; e3: tor rule and extra rule
  EXPECT_EQ(hits, 6000);
}

}  // namespace
}  // namespace sentrail::rules
