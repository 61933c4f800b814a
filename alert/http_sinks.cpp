// The HTTP sinks: a JSON webhook and Prometheus Alertmanager's v2 API. This is
// the one translation unit that uses cpp-httplib (Debian's build: declarations
// in the header, the code in libcpp-httplib, with TLS).

#include <fmt/format.h>
#include <httplib.h>

#include "alert/sink.h"
#include "common/json_writer.h"
#include "common/time.h"

namespace sentrail::alert {
namespace {

struct http_target {
  std::string origin;  // http://host:port
  std::string path;    // /path?query
};

result<http_target> parse_http_url(const std::string& url, std::string_view sink) {
  std::string_view v = url;
  std::size_t scheme = v.starts_with("http://") ? 7 : v.starts_with("https://") ? 8 : 0;
  if (!scheme) return error{fmt::format("sink {}: url must start with http:// or https:// (got '{}')", sink, url)};
  auto slash = url.find('/', scheme);
  http_target t{url.substr(0, slash), slash == std::string::npos ? "/" : url.substr(slash)};
  if (t.origin.size() == scheme) return error{fmt::format("sink {}: url '{}' has no host", sink, url)};
  return t;
}

// POSTs JSON bodies to one target with the sink's timeout; the outcome says
// whether a later retry can help.
class http_poster {
 public:
  http_poster(http_target t, std::chrono::nanoseconds timeout, httplib::Headers headers)
      : target_(std::move(t)), client_(target_.origin), headers_(std::move(headers)) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    client_.set_connection_timeout(us / 1'000'000, us % 1'000'000);
    client_.set_read_timeout(us / 1'000'000, us % 1'000'000);
    client_.set_write_timeout(us / 1'000'000, us % 1'000'000);
  }

  delivery_result post(const std::string& body) {
    auto res = client_.Post(target_.path, headers_, body, "application/json");
    if (!res)
      return delivery_result::retry(
          fmt::format("POST {}{}: {}", target_.origin, target_.path, httplib::to_string(res.error())));
    std::string body_start = res->body.substr(0, 200);
    return classify_http(res->status, fmt::format("POST {}{}: HTTP {} {}", target_.origin, target_.path,
                                                  res->status, body_start));
  }

 private:
  http_target target_;
  httplib::Client client_;
  httplib::Headers headers_;
};

class webhook_sink : public sink {
 public:
  webhook_sink(http_target t, std::chrono::nanoseconds timeout, httplib::Headers headers)
      : poster_(std::move(t), timeout, std::move(headers)) {}

  std::string payload(const correlate::alert&, std::string_view json) const override { return std::string(json); }

  delivery_result deliver(const std::vector<std::string_view>& payloads) override {
    for (auto p : payloads)
      if (auto r = poster_.post(std::string(p)); r.what != delivery_result::outcome::delivered) return r;
    return delivery_result::ok();
  }

 private:
  http_poster poster_;
};

class alertmanager_sink : public sink {
 public:
  alertmanager_sink(http_target t, std::chrono::nanoseconds timeout, std::string console_url)
      : poster_(std::move(t), timeout, {}), console_url_(std::move(console_url)) {}

  std::string payload(const correlate::alert& a, std::string_view) const override {
    return alertmanager_alert(a, console_url_);
  }

  // Alertmanager takes a list, so queued alerts go in one request.
  delivery_result deliver(const std::vector<std::string_view>& payloads) override {
    std::string body = "[";
    for (auto p : payloads) {
      if (body.size() > 1) body += ',';
      body += p;
    }
    body += ']';
    return poster_.post(body);
  }
  std::size_t max_batch() const override { return 64; }

 private:
  http_poster poster_;
  std::string console_url_;
};

}  // namespace

std::string alertmanager_alert(const correlate::alert& a, std::string_view console_url) {
  std::string channel;
  for (const auto& e : a.events) {
    if (channel.empty()) channel = e.channel;
    else if (channel != e.channel) channel = "multiple";
  }
  std::string entity = a.entity();
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("labels").begin_object();
  w.key("alertname").value(a.rule_id);
  w.key("severity").value(a.level);
  w.key("rule").value(a.rule_id);
  if (!channel.empty()) w.key("channel").value(channel);
  w.key("entity").value(entity);
  w.key("sentrail_alert_id").value(a.id);
  w.end_object();
  w.key("annotations").begin_object();
  w.key("summary").value(fmt::format("{}: {}", a.rule_title, entity));
  if (a.loss_exposure)
    w.key("loss_exposure").value(fmt::format("{:g}-{:g} {}", a.loss_exposure->low, a.loss_exposure->high,
                                             a.loss_exposure->currency));
  w.end_object();
  w.key("startsAt").value(format_rfc3339(a.first_seen));
  if (!console_url.empty()) {
    std::string base(console_url);
    while (!base.empty() && base.back() == '/') base.pop_back();
    w.key("generatorURL").value(base + "/#/alerts/" + a.id);
  }
  w.end_object();
  return out;
}

result<std::unique_ptr<sink>> make_webhook_sink(const sink_config& c) {
  auto t = parse_http_url(c.url, c.name);
  if (!t) return error{t.message()};
  httplib::Headers headers;
  for (const auto& [k, v] : c.headers) headers.emplace(k, v);
  return std::unique_ptr<sink>(new webhook_sink(std::move(t).value(), c.timeout, std::move(headers)));
}

result<std::unique_ptr<sink>> make_alertmanager_sink(const sink_config& c) {
  std::string base = c.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto t = parse_http_url(base + "/api/v2/alerts", c.name);
  if (!t) return error{t.message()};
  return std::unique_ptr<sink>(new alertmanager_sink(std::move(t).value(), c.timeout, c.console_url));
}

}  // namespace sentrail::alert
