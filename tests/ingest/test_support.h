#pragma once
#include <string>

#include "ingest/decoder.h"
#include "ingest/mapping.h"

namespace sentrail::ingest::testing {

inline const std::string test_key = "0123456789abcdef-test-key";

/// The shipped channels with a fixed key, and a decoder over them.
struct fixture {
  channel_catalog catalog = default_catalog().value();
  minimiser privacy{test_key};
  decoder dec{privacy};
  event e;

  std::optional<rejection> decode(std::string_view channel, std::string_view raw) {
    return dec.decode(raw, *catalog.by_name(channel), {"test", 0, 1}, e);
  }
  std::string text(std::string_view name) const {
    const field_value* v = e.get(name);
    return v ? std::string(v->text) : std::string("<absent>");
  }
};

}  // namespace sentrail::ingest::testing
