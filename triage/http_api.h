#pragma once
// The triage API and web console over HTTP(S) (docs/triage-api.md), on its own
// threads beside the worker, sharing the store. cpp-httplib serves it; only
// http_api.cpp sees that header.

#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
#include "triage/auth.h"
#include "triage/service.h"

namespace sentrail::triage {

struct api_options {
  std::string bind = "127.0.0.1";        // Default: 127.0.0.1
  int port = 0;                          // Default: 0 (off in `sentrail run`; any free port when started directly)
  std::string tokens_file;               // required when the API is on
  timestamp_ns incident_span = 3600 * ns_per_second;  // Default: 1h
  std::size_t max_body_bytes = 65536;    // Default: 64 KiB
  std::string tls_cert, tls_key;         // Default: none (plain HTTP); both or neither
};

class http_api {
 public:
  /// Binds and starts serving on background threads; errors say what could not be set up.
  static result<std::unique_ptr<http_api>> start(const api_options& options, service& triage, token_book tokens);
  /// Stops accepting, finishes the requests in hand and joins the threads.
  ~http_api();
  void stop();

  int port() const;
  /// "http" or "https".
  std::string scheme() const;

 private:
  struct impl;
  explicit http_api(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace sentrail::triage
