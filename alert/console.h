#pragma once
// Alerts on a terminal or a pipe: JSON lines for tools, or one readable line per
// alert for people watching (time, level, rule, entity).

#include <cstdio>
#include <mutex>
#include <string>

#include "correlate/alert.h"

namespace sentrail::alert {

enum class console_format { json, text, none };

/// "2026-11-23T02:12:37.000Z  HIGH      sentrail-badge-door-forced  Door forced open  retail.badge.id=B123"
std::string alert_line(const correlate::alert& a, bool colour);

class console_sink : public correlate::alert_sink {
 public:
  console_sink(std::FILE* out, console_format format, bool colour = false)
      : out_(out), format_(format), colour_(colour) {}
  void emit(const correlate::alert& a) override;

 private:
  std::FILE* out_;
  console_format format_;
  bool colour_;
  std::mutex mutex_;
};

}  // namespace sentrail::alert
