// Router: registers the API's routes with cpp-httplib. Each route has a path pattern, the label
// that logs, metrics and messages name it by ("/api/v1/exams/{id}", never the raw path, so the
// number of metric series stays bounded), the roles that may call it, and a handler. The router
// records the label in the request context and authenticates the caller before the handler
// runs. Handlers are plain functions of the Services they work with.
//
// Thread-safety: register every route before the server runs; handlers then run concurrently
// on the worker threads. Lifetime: everything Services points to, the httplib::Server and the
// Authenticator must outlive the router's routes (the server's life).
#pragma once

#include <cstdint>
#include <string>

#include "audit_signer.h"
#include "auth.h"
#include "config.h"
#include "http/caller.h"
#include "metrics.h"
#include "model_registry.h"
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
  const AuditSigner* audit_signer = nullptr;  // signs checkpoints; the server's audit key
  std::string instance;                       // "host:pid", reported by /health
  int64_t started_ms = 0;                     // process start, ms since the epoch
};

// `caller` is filled for routes with roles; for public routes it is default (no token read).
using Handler = void (*)(const Services& services, const httplib::Request& req,
                         httplib::Response& res, const Caller& caller);

inline constexpr RoleSet kPublic = 0;

class Router {
 public:
  Router(httplib::Server* http, Authenticator* auth, Services services);

  // `pattern` is a cpp-httplib path regex; captures arrive in req.matches.
  void Get(const std::string& pattern, const std::string& label, RoleSet roles, Handler handler);
  void Post(const std::string& pattern, const std::string& label, RoleSet roles, Handler handler);
  // Every GET not matched by a route registered before it (register it last). No
  // authentication; the handler sets the route label itself.
  void GetAnyOtherPath(Handler handler);

 private:
  void Add(bool post, const std::string& pattern, const std::string& label, RoleSet roles,
           Handler handler);

  httplib::Server* const http_;
  Authenticator* const auth_;
  const Services services_;
};

// The routes of each resource (docs/api.md), one file each.
void AddExamRoutes(Router* router);   // POST /exams, POST /exams:batch, GET /exams, GET /exams/{id}
void AddAuditRoutes(Router* router);  // GET /audit, /audit/{seq}, /audit/verify, /audit/checkpoint
void AddCheckpointRoutes(Router* router);  // POST /audit/checkpoint, GET /audit/checkpoints
void AddModelRoutes(Router* router);  // GET /models..., POST /models, POST /models/{v}/activate
// GET /health, /metrics, /session, and static files for every other GET (registers a catch-all:
// add it last).
void AddOpsRoutes(Router* router);

}  // namespace server
}  // namespace fetal
