// Stored events name fields by their position in this dictionary, so state
// written by one version is read by the next only while every name keeps its
// position: names may be added at the end, never moved or removed.
#include "correlate/stored_names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

using namespace sentrail::correlate;

TEST(stored_names, the_dictionary_keeps_every_name_at_its_position) {
  // The dictionary as first shipped (state layout 4). Extend this list when
  // names are appended; a failure here means stored state would be misread.
  const std::vector<std::string_view> shipped = {
      "@timestamp", "event.action", "event.outcome", "event.channel", "source.ip", "user.name", "user.id",
      "retail.card.token", "retail.card.last4", "source.geo.location", "retail.employee.id", "retail.store.id",
      "retail.amount", "retail.badge.id", "retail.site.id", "retail.door.id", "retail.access.direction",
      "device.id", "service.version", "host.os.name", "source.geo.location.lat", "source.geo.location.lon",
      "source.geo.country_iso_code", "retail.currency", "retail.card", "retail.register.id",
      "retail.transaction.id", "manager_override", "retail.supplier.id", "records", "http.request.method",
      "url.path", "url.query", "http.version", "http.response.status_code", "http.response.body.bytes",
      "http.request.referrer", "user_agent.original", "session.id"};
  auto names = stored_field_names();
  ASSERT_GE(names.size(), shipped.size());
  for (std::size_t i = 0; i < shipped.size(); ++i) EXPECT_EQ(names[i], shipped[i]) << "position " << i;
}

TEST(stored_names, codes_and_names_map_one_to_one_and_unknowns_have_none) {
  auto names = stored_field_names();
  std::set<std::string_view> distinct(names.begin(), names.end());
  EXPECT_EQ(distinct.size(), names.size());  // a repeated name would decode to the first
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(stored_name_code(names[i]), i + 1);
    EXPECT_EQ(stored_name(i + 1), names[i]);
  }
  EXPECT_EQ(stored_name_code("x_shift_note"), 0u);
  EXPECT_EQ(stored_name(0), "");
  EXPECT_EQ(stored_name(names.size() + 1), "");  // a newer version's code
}
