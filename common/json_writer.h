#pragma once
// Appends JSON to a std::string. Output documents (alerts, dead letters) are
// small and written rarely compared with events read, so a plain escaper serves.

#include <cstdint>
#include <string>
#include <string_view>

namespace sentrail {

/// Appends `text` as a quoted JSON string; invalid UTF-8 bytes become U+FFFD.
void append_json_string(std::string& out, std::string_view text);

/// Minimal streaming writer: the caller keeps the structure balanced.
class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}
  json_writer& begin_object() { comma(); out_ += '{'; first_ = true; return *this; }
  json_writer& end_object() { out_ += '}'; first_ = false; return *this; }
  json_writer& begin_array() { comma(); out_ += '['; first_ = true; return *this; }
  json_writer& end_array() { out_ += ']'; first_ = false; return *this; }
  json_writer& key(std::string_view k) {
    comma();
    append_json_string(out_, k);
    out_ += ':';
    first_ = true;  // the value follows without a comma
    return *this;
  }
  json_writer& value(std::string_view s) { comma(); append_json_string(out_, s); return *this; }
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(std::int64_t n) { comma(); out_ += std::to_string(n); return *this; }
  json_writer& value(double n);
  json_writer& value(bool b) { comma(); out_ += b ? "true" : "false"; return *this; }
  json_writer& null() { comma(); out_ += "null"; return *this; }
  /// A value that is already JSON text (e.g. a number literal as it arrived).
  json_writer& raw(std::string_view json) { comma(); out_ += json; return *this; }

 private:
  void comma() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
};

}  // namespace sentrail
