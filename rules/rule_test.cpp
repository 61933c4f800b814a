// YAML -> JSON for the events of rule tests: a test helper, not the hot path.

#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "rules/detail/yaml_json.h"

namespace sentrail::rules::detail {
namespace {

bool json_number(std::string_view t) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > from;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

}  // namespace

void append_json_string(std::string_view text, std::string& out) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_json(const YAML::Node& n, std::string_view index, std::string& out) {
  if (!n.IsDefined() || n.IsNull()) {
    out += "null";
    return;
  }
  if (n.IsMap()) {
    out += '{';
    bool first = true;
    for (const auto& kv : n) {
      if (!first) out += ',';
      first = false;
      append_json_string(kv.first.Scalar(), out);
      out += ':';
      append_json(kv.second, index, out);
    }
    out += '}';
    return;
  }
  if (n.IsSequence()) {
    out += '[';
    bool first = true;
    for (const auto& item : n) {
      if (!first) out += ',';
      first = false;
      append_json(item, index, out);
    }
    out += ']';
    return;
  }
  const std::string& t = n.Scalar();
  if (n.Tag() == "?") {  // plain scalar: YAML core schema types
    if (t == "true" || t == "True" || t == "TRUE") {
      out += "true";
      return;
    }
    if (t == "false" || t == "False" || t == "FALSE") {
      out += "false";
      return;
    }
    if (json_number(t)) {
      out += t;
      return;
    }
  }
  std::string text = t;
  for (std::size_t at = text.find("{i}"); at != std::string::npos;
       at = text.find("{i}", at + index.size()))
    text.replace(at, 3, index);
  append_json_string(text, out);
}

}  // namespace sentrail::rules::detail
