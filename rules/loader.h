#pragma once
// Loading Sigma rule files: parse, validate with file:line:column diagnostics,
// compile. A bad rule never stops the others: the result holds the good rules
// and every diagnostic.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "rules/rule.h"

namespace sentrail::rules {

/// Routes a non-retail logsource to a channel. Empty fields match anything.
struct logsource_mapping {
  std::string product;
  std::string service;
  std::string category;
  std::string channel;
};

/// How rules are loaded.
struct load_options {
  /// Channels for logsources whose product is not `retail`. Default: none.
  std::vector<logsource_mapping> mappings;
  /// Values of `%name%` placeholders for the `expand` modifier (name without
  /// the percent signs). A placeholder not listed here is an error. Default: none.
  std::map<std::string, std::vector<std::string>> placeholders;
};

/// Reads logsource mappings from a config's YAML:
/// `logsources: [{product: windows, service: security, channel: winsec}]`.
/// Errors read "file:line:col: error: message".
result<std::vector<logsource_mapping>> parse_logsource_mappings(std::string_view yaml_text,
                                                                std::string_view file_name);

/// The rules that compiled, and what was wrong with the others.
struct load_result {
  rule_set rules;
  std::vector<diagnostic> diagnostics;

  /// True when any diagnostic is an error (warnings do not count).
  bool has_errors() const;
  std::size_t error_count() const;
  std::size_t warning_count() const;
};

/// Loads a rule file, or every *.yml / *.yaml below a folder (sorted by path).
load_result load_rules(const std::filesystem::path& file_or_dir, const load_options& options = {});

/// Loads rules from YAML text (one or more documents); `file_name` names it in diagnostics.
load_result parse_rules(std::string_view yaml_text, std::string_view file_name,
                        const load_options& options = {});

}  // namespace sentrail::rules
