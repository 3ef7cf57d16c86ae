// The state of the request a worker thread is serving: its id, route pattern, token name and
// start time, for error messages, audit events and the request log line.
//
// cpp-httplib runs one request from pre-routing to the logger on one worker thread, so the
// context is thread-local. Thread-safety: each thread sees only its own.
// Lifetime: begun by BoundedServer once a request's headers are read (or by the logger, for
// requests that never got that far), valid until the next request on the same thread.
#pragma once

#include <chrono>
#include <string>

namespace fetal {
namespace server {

struct RequestContext {
  bool active = false;  // pre-routing ran for the current request
  std::chrono::steady_clock::time_point start;
  std::string request_id;  // the client's X-Request-Id when well-formed, else a generated one
  std::string route;       // route pattern ("/api/v1/exams/{id}"), "static" or "unmatched"
  std::string token_name;  // empty until the caller is authenticated

  // Starts a new request: resets every field. `client_id` is the X-Request-Id header value.
  void Begin(const std::string& client_id);
};

RequestContext& CurrentRequest();

}  // namespace server
}  // namespace fetal
