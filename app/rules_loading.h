#pragma once
// Loading the rule set for a command, reporting every diagnostic on stderr.

#include <cstdio>
#include <string>

#include "rules/loader.h"

namespace sentrail::app {

/// Loads rules from `path` and prints each diagnostic as "file:line:col: error: cause".
inline rules::load_result load_and_report(const std::string& path, const rules::load_options& options = {}) {
  rules::load_result loaded = rules::load_rules(path, options);
  for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
  return loaded;
}

}  // namespace sentrail::app
