// Baseline for `sentrail replay`: how fast raw simdjson ondemand walks the same
// JSON-lines files, touching every field (key and value) of every event but
// building nothing. Prints events/s, so replay's rate can be read as a ratio.

#include <simdjson.h>

#include <chrono>
#include <cstring>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace od = simdjson::ondemand;

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: sentrail-raw-parse FILE...\n"
                         "Walks every field of every JSON line with simdjson ondemand; prints events/s.\n");
    return argc < 2 ? 2 : 0;
  }
  // Timed from before reading the files, as `sentrail replay` is; the rate after
  // reading is printed too.
  auto loading = std::chrono::steady_clock::now();
  std::vector<simdjson::padded_string> files;
  for (int i = 1; i < argc; ++i) {
    simdjson::padded_string text;
    if (simdjson::padded_string::load(argv[i]).get(text)) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    files.push_back(std::move(text));
  }
  od::parser parser;
  std::vector<char> padded;  // per-line copy with padding, as a Kafka payload needs
  std::uint64_t events = 0, fields = 0, bytes = 0;
  auto started = std::chrono::steady_clock::now();
  for (const auto& file : files) {
    std::string_view text(file.data(), file.size());
    while (!text.empty()) {
      std::size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      if (line.empty()) continue;
      if (padded.size() < line.size() + simdjson::SIMDJSON_PADDING) padded.resize(line.size() + simdjson::SIMDJSON_PADDING);
      std::memcpy(padded.data(), line.data(), line.size());
      od::document doc;
      if (parser.iterate(padded.data(), line.size(), padded.size()).get(doc)) continue;
      od::object obj;
      if (doc.get_object().get(obj)) continue;
      for (auto member : obj) {
        std::string_view key, raw;
        if (member.unescaped_key().get(key)) break;
        od::value v = member.value();
        od::json_type t;
        if (v.type().get(t)) break;
        if (t == od::json_type::string) {
          std::string_view s;
          if (v.get_string().get(s)) break;
          bytes += s.size();
        } else if (t == od::json_type::object) {
          od::object inner;
          if (v.get_object().get(inner) || inner.raw_json().get(raw)) break;
        } else {
          raw = v.raw_json_token();
          bytes += raw.size();
        }
        ++fields;
      }
      ++events;
    }
  }
  auto done = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(done - loading).count();
  double parsing = std::chrono::duration<double>(done - started).count();
  std::printf("raw simdjson ondemand: %llu events, %llu fields in %.3f s (%.0f events/s) reading the files "
              "included; %.3f s after reading them (%.0f/s)\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(fields), secs,
              static_cast<double>(events) / secs, parsing, static_cast<double>(events) / parsing);
  return bytes == 0 && events > 0 ? 1 : 0;
}
