#pragma once
// The web console's static files (triage/console/), compiled into the binary
// so `sentrail run` serves them with nothing to install beside it.

#include <span>
#include <string_view>

namespace sentrail::triage {

struct console_file {
  std::string_view name;  // e.g. "index.html"
  std::string_view content;
};

std::span<const console_file> console_files();

}  // namespace sentrail::triage
