// Router: registers the API's routes with cpp-httplib. Each route has a path pattern, the label
// that logs, metrics and messages name it by ("/api/v1/exams/{id}", never the raw path, so the
// number of metric series stays bounded), the roles that may call it, a handler, and its
// RouteOptions: the query parameters it takes and, for POST, its body's media type and limit.
//
// Before a handler runs, the router, in this order: records the label in the request context;
// refuses unknown and repeated query parameters (400); for POST, checks the body's media type,
// its Content-Length against the limit and that it has a length at all (415, 413, 411);
// authenticates the caller and holds one of the token's in-flight slots for the request (401,
// 429, 403); then reads the body, counting and cut at the limit (413). POST routes are
// cpp-httplib content-reader routes, so nothing of a body is read before all of that passed.
// Every answer, the handler's or one of those refusals, then leaves through EncodeBody
// (http/responses.h). Handlers are plain functions of the Services they work with; a POST handler
// finds its body in req.body.
//
// Thread-safety: register every route before the server runs; handlers then run concurrently
// on the worker threads. Lifetime: everything Services points to, the httplib::Server and the
// Authenticator must outlive the router's routes (the server's life).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "audit_signer.h"
#include "auth.h"
#include "compressed_files.h"
#include "config.h"
#include "http/caller.h"
#include "metrics.h"
#include "model_registry.h"
#include "shadow/shadow_evaluator.h"
#include "static_files.h"
#include "storage/store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace fetal {
namespace server {

// What the handlers work with. Not owned.
struct Services {
  const ServerConfig* config = nullptr;
  storage::Store* store = nullptr;
  ModelRegistry* registry = nullptr;
  Metrics* metrics = nullptr;
  const StaticFiles* static_files = nullptr;
  CompressedFiles* compressed_files = nullptr;  // the static files' compressed copies
  const AuditSigner* audit_signer = nullptr;    // signs checkpoints; the server's audit key
  ShadowEvaluator* shadow = nullptr;            // classifies new exams with the versions in shadow
  std::string instance;                         // "host:pid", reported by /health
  int64_t started_ms = 0;                       // process start, ms since the epoch
};

// `caller` is filled for routes with roles; for public routes it is default (no token read).
using Handler = void (*)(const Services& services, const httplib::Request& req,
                         httplib::Response& res, const Caller& caller);

inline constexpr RoleSet kPublic = 0;

struct RouteOptions {
  // Query parameters the route takes, each at most once; any other is a 400.
  std::vector<std::string> params;
  // POST only: the most body bytes (0 = the route takes no body) and the body's media type
  // (lower case, without parameters such as charset).
  size_t max_body = 0;
  const char* media_type = nullptr;
};

class Router {
 public:
  Router(httplib::Server* http, Authenticator* auth, Services services);

  // `pattern` is a cpp-httplib path regex; captures arrive in req.matches.
  void Get(const std::string& pattern, const std::string& label, RoleSet roles, Handler handler,
           RouteOptions options = {});
  void Post(const std::string& pattern, const std::string& label, RoleSet roles, Handler handler,
            RouteOptions options = {});
  // A DELETE takes no body (CheckFraming refuses one with a body before routing).
  void Delete(const std::string& pattern, const std::string& label, RoleSet roles, Handler handler,
              RouteOptions options = {});
  // Every GET not matched by a route registered before it (register it last). No
  // authentication, any query; the handler sets the route label itself.
  void GetAnyOtherPath(Handler handler);
  // Every POST not matched before: 404 without reading the body (register it last).
  void RefuseOtherPosts();
  // Every DELETE not matched before: 405 (register it last).
  void RefuseOtherDeletes();

  const ServerConfig& config() const { return *services_.config; }

 private:
  struct Route {
    std::string label;
    RoleSet roles;
    Handler handler;
    RouteOptions options;
  };
  // The handler of a GET or DELETE route: query check, authentication, then the route's handler.
  std::function<void(const httplib::Request&, httplib::Response&)> Bodiless(Route route);
  // False when the answer (401, 429, 403, 5xx) is written.
  bool Authenticate(const Route& route, const httplib::Request& req, httplib::Response& res,
                    Caller* caller, InFlightSlot* slot);

  httplib::Server* const http_;
  Authenticator* const auth_;
  const Services services_;
};

// The routes of each resource (docs/api.md), one file each.
void AddExamRoutes(Router* router);   // POST /exams, POST /exams:batch, GET /exams, GET /exams/{id}
void AddAuditRoutes(Router* router);  // GET /audit, /audit/{seq}, /audit/verify, /audit/checkpoint
void AddCheckpointRoutes(Router* router);  // POST /audit/checkpoint, GET /audit/checkpoints
void AddModelRoutes(Router* router);  // GET /models..., POST /models, POST /models/{v}/activate
// GET /models/shadows; POST, DELETE /models/{v}/shadow; /shadow/replay, /shadow/report
void AddShadowRoutes(Router* router);
// GET /releases, /releases/current; POST /releases, /releases/{sequence}/start|step|halt|promote
void AddReleaseRoutes(Router* router);
void AddOutcomeRoutes(Router* router);     // POST /exams/{id}/outcome
void AddMonitoringRoutes(Router* router);  // GET /monitoring
void AddReportRoutes(Router* router);      // GET /reports/post-market
// The monitoring gauges of the current window (the last 7 days), for GET /metrics.
void AppendMonitoringMetrics(const Services& services, std::string* text);
// The shadow queue's gauges and counters, for GET /metrics.
void AppendShadowMetrics(const Services& services, std::string* text);
// GET /health, /metrics, /session, and static files for every other GET (registers a catch-all:
// add it last).
void AddOpsRoutes(Router* router);

}  // namespace server
}  // namespace fetal
