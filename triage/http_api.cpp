#include "triage/http_api.h"

// Debian's libcpp-httplib is built with these; the header must agree with the library.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <httplib.h>

#include <functional>
#include <thread>

#include "common/json_writer.h"
#include "triage/console_files.h"
#include "triage/requests.h"
#include "triage/views.h"

namespace sentrail::triage {
namespace {

constexpr const char* json_type = "application/json";

int http_status(refusal r) {
  switch (r) {
    case refusal::bad_input: return 400;
    case refusal::not_found: return 404;
    case refusal::conflict: return 409;
    case refusal::failed: return 500;
  }
  return 500;
}

void reply(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(std::move(body), json_type);
}

void refuse(httplib::Response& res, int status, std::string_view message) {
  reply(res, status, error_json(message));
}

template <class T>
void answer(httplib::Response& res, const outcome<T>& o) {
  if (o)
    reply(res, 200, to_json(o.value()));
  else
    refuse(res, http_status(o.why().why), o.why().message);
}

query_params params_of(const httplib::Request& req) {
  query_params out;
  for (const auto& [k, v] : req.params) out.emplace_back(k, v);
  return out;
}

std::string_view content_type(std::string_view name) {
  auto dot = name.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

const console_file* console_file_named(std::string_view name) {
  for (const auto& f : console_files())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace

struct http_api::impl {
  api_options options;
  service& triage;
  token_book tokens;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;

  impl(api_options o, service& s, token_book t) : options(std::move(o)), triage(s), tokens(std::move(t)) {}

  using handler = std::function<void(const actor&, const httplib::Request&, httplib::Response&)>;

  // Every API route passes here: a valid token (401), a high enough role (403), then the handler.
  httplib::Server::Handler guarded(role need, handler fn) {
    return [this, need, fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      auto header = req.get_header_value("Authorization");
      auto token = token_book::bearer_token(header);
      if (!token) {
        res.set_header("WWW-Authenticate", "Bearer");
        return refuse(res, 401, "a bearer token is required (Authorization: Bearer <token>)");
      }
      auto who = tokens.authenticate(*token);
      if (!who) {
        res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        return refuse(res, 401, "the token is not valid");
      }
      if (!at_least(who->level, need))
        return refuse(res, 403,
                      "this needs the " + std::string(role_name(need)) + " role; " + who->name + " is " +
                          std::string(role_name(who->level)));
      fn(*who, req, res);
    };
  }

  void alert_action(const char* path, action_kind kind) {
    server->Post(std::string("/api/alerts/([^/]+)/") + path,
                 guarded(role::analyst, [this, kind](const actor& who, const httplib::Request& req, httplib::Response& res) {
                   auto what = parse_action(kind, req.body);
                   if (!what) return refuse(res, 400, what.why().message);
                   answer(res, triage.act(who, req.matches[1].str(), what.value()));
                 }));
  }

  void incident_action(const char* path, action_kind kind) {
    server->Post(std::string("/api/incidents/([^/]+)/") + path,
                 guarded(role::analyst, [this, kind](const actor& who, const httplib::Request& req, httplib::Response& res) {
                   auto what = parse_action(kind, req.body);
                   if (!what) return refuse(res, 400, what.why().message);
                   answer(res, triage.act_on_incident(who, req.matches[1].str(), what.value()));
                 }));
  }

  void routes() {
    server->Get("/api/health", [](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, R"({"status":"ok"})");
    });
    server->Get("/api/whoami", guarded(role::viewer, [](const actor& who, const httplib::Request&, httplib::Response& res) {
      std::string out = "{\"name\":";
      append_json_string(out, who.name);
      out += ",\"role\":";
      append_json_string(out, role_name(who.level));
      out += "}";
      reply(res, 200, std::move(out));
    }));
    server->Get("/api/alerts", guarded(role::viewer, [this](const actor&, const httplib::Request& req, httplib::Response& res) {
      auto filter = parse_alert_query(params_of(req));
      if (!filter) return refuse(res, 400, filter.why().message);
      answer(res, triage.list_alerts(filter.value()));
    }));
    server->Get("/api/alerts/([^/]+)", guarded(role::viewer, [this](const actor&, const httplib::Request& req, httplib::Response& res) {
      answer(res, triage.alert(req.matches[1].str()));
    }));
    alert_action("acknowledge", action_kind::acknowledge);
    alert_action("assign", action_kind::assign);
    alert_action("close", action_kind::close);
    alert_action("reopen", action_kind::reopen);
    alert_action("notes", action_kind::note);
    server->Get("/api/incidents", guarded(role::viewer, [this](const actor&, const httplib::Request& req, httplib::Response& res) {
      auto filter = parse_incident_query(params_of(req));
      if (!filter) return refuse(res, 400, filter.why().message);
      answer(res, triage.list_incidents(filter.value()));
    }));
    server->Get("/api/incidents/([^/]+)", guarded(role::viewer, [this](const actor&, const httplib::Request& req, httplib::Response& res) {
      answer(res, triage.incident(req.matches[1].str()));
    }));
    incident_action("acknowledge", action_kind::acknowledge);
    incident_action("assign", action_kind::assign);
    incident_action("close", action_kind::close);
    incident_action("reopen", action_kind::reopen);
    incident_action("notes", action_kind::note);
    server->Get("/api/audit", guarded(role::admin, [this](const actor&, const httplib::Request& req, httplib::Response& res) {
      auto query = parse_audit_query(params_of(req));
      if (!query) return refuse(res, 400, query.why().message);
      answer(res, triage.audit(query.value()));
    }));
    server->Get("/api/rules/stats", guarded(role::engineer, [this](const actor&, const httplib::Request&, httplib::Response& res) {
      reply(res, 200, to_json(triage.verdicts_by_rule()));
    }));

    // The console: static files, no token (it asks for one and sends it to the API).
    auto serve_file = [](std::string_view name, httplib::Response& res) {
      const console_file* f = console_file_named(name);
      if (!f) return refuse(res, 404, "no console file '" + std::string(name) + "'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("X-Frame-Options", "DENY");
      // The console has no inline script or style: the browser may refuse any.
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
      res.set_content(std::string(f->content), std::string(content_type(name)));
    };
    server->Get("/", [serve_file](const httplib::Request&, httplib::Response& res) { serve_file("index.html", res); });
    server->Get("/console/([A-Za-z0-9._-]+)", [serve_file](const httplib::Request& req, httplib::Response& res) {
      serve_file(req.matches[1].str(), res);
    });

    // Whatever httplib refuses itself (unknown route, body over the limit) answers in JSON too.
    server->set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413)
        return refuse(res, 413, "the request body is larger than " + std::to_string(options.max_body_bytes) + " bytes");
      if (res.status == 404) return refuse(res, 404, "no such endpoint");
      if (res.status == 400)
        return refuse(res, 400, "malformed HTTP request (a POST needs a body or Content-Length: 0)");
      refuse(res, res.status, "the request was refused (HTTP " + std::to_string(res.status) + ")");
    });
    server->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
      std::string what = "internal error";
      try {
        if (e) std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what += std::string(": ") + ex.what();
      } catch (...) {
      }
      refuse(res, 500, what);
    });
  }
};

http_api::http_api(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
http_api::~http_api() { stop(); }

result<std::unique_ptr<http_api>> http_api::start(const api_options& options, service& triage, token_book tokens) {
  if (options.tls_cert.empty() != options.tls_key.empty())
    return error{"api: tls_cert and tls_key go together (both for HTTPS, neither for HTTP)"};
  auto i = std::make_unique<impl>(options, triage, std::move(tokens));
  if (!options.tls_cert.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!tls->is_valid())
      return error{"api: cannot load the TLS certificate " + options.tls_cert + " and key " + options.tls_key};
    i->server = std::move(tls);
  } else {
    i->server = std::make_unique<httplib::Server>();
  }
  i->server->set_payload_max_length(options.max_body_bytes);
  i->server->new_task_queue = [] { return new httplib::ThreadPool(4); };
  i->routes();
  if (options.port == 0) {
    i->port = i->server->bind_to_any_port(options.bind);
    if (i->port < 0) return error{"api: cannot listen on " + options.bind};
  } else {
    if (!i->server->bind_to_port(options.bind, options.port))
      return error{"api: cannot listen on " + options.bind + ":" + std::to_string(options.port)};
    i->port = options.port;
  }
  i->thread = std::thread([server = i->server.get()] { server->listen_after_bind(); });
  return std::unique_ptr<http_api>(new http_api(std::move(i)));
}

void http_api::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->server->stop();
  impl_->thread.join();
}

int http_api::port() const { return impl_->port; }
std::string http_api::scheme() const { return impl_->options.tls_cert.empty() ? "http" : "https"; }

}  // namespace sentrail::triage
