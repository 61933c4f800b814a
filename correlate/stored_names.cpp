#include "correlate/stored_names.h"

#include <absl/container/flat_hash_map.h>

namespace sentrail::correlate {
namespace {

// The shipped mappings' fields and the engine's well-known ones. Append only.
constexpr std::string_view names[] = {
    "@timestamp",
    "event.action",
    "event.outcome",
    "event.channel",
    "source.ip",
    "user.name",
    "user.id",
    "retail.card.token",
    "retail.card.last4",
    "source.geo.location",
    "retail.employee.id",
    "retail.store.id",
    "retail.amount",
    "retail.badge.id",
    "retail.site.id",
    "retail.door.id",
    "retail.access.direction",
    "device.id",
    "service.version",
    "host.os.name",
    "source.geo.location.lat",
    "source.geo.location.lon",
    "source.geo.country_iso_code",
    "retail.currency",
    "retail.card",
    "retail.register.id",
    "retail.transaction.id",
    "manager_override",
    "retail.supplier.id",
    "records",
    "http.request.method",
    "url.path",
    "url.query",
    "http.version",
    "http.response.status_code",
    "http.response.body.bytes",
    "http.request.referrer",
    "user_agent.original",
    "session.id",
};

}  // namespace

std::span<const std::string_view> stored_field_names() { return names; }

std::uint32_t stored_name_code(std::string_view name) {
  static const auto codes = [] {
    absl::flat_hash_map<std::string_view, std::uint32_t> m;
    for (std::size_t i = 0; i < std::size(names); ++i) m.emplace(names[i], static_cast<std::uint32_t>(i + 1));
    return m;
  }();
  auto it = codes.find(name);
  return it == codes.end() ? 0 : it->second;
}

std::string_view stored_name(std::uint64_t code) {
  return code >= 1 && code <= std::size(names) ? names[code - 1] : std::string_view{};
}

}  // namespace sentrail::correlate
