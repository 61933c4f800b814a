#pragma once
// The JSON the triage API answers with (docs/triage-api.md). Times are RFC 3339
// UTC with milliseconds; absent values are null.

#include <string>
#include <vector>

#include "triage/service.h"

namespace sentrail::triage {

std::string to_json(const alert_summary& a);
std::string to_json(const alert_page& p);
std::string to_json(const alert_detail& d);
std::string to_json(const incident_summary& i);
std::string to_json(const incident_page& p);
std::string to_json(const incident_detail& d);
std::string to_json(const audit_page& p);
std::string to_json(const std::vector<rule_stats>& rules);
/// {"error": message}
std::string error_json(std::string_view message);

}  // namespace sentrail::triage
