// ApiServer: the HTTP front of fetal-server (docs/api.md is the reference for every route).
//
// Owns the cpp-httplib server and what every request shares: the worker pool, limits and
// timeouts, the security headers, the error shape for cpp-httplib's own refusals, the
// per-request JSON log line and metrics, authentication (http/caller.h) and the routes of each
// resource (http/*_routes.cc).
//
// Thread-safety: Bind() and Run() from one thread; Stop() from any other thread (not from a
// signal handler). Lifetime: the store, the registry and the audit signer are borrowed and must
// outlive the ApiServer; Run() must have returned before it is destroyed.
#pragma once

#include <memory>
#include <string>

#include "audit_signer.h"
#include "compressed_files.h"
#include "config.h"
#include "http/caller.h"
#include "metrics.h"
#include "model_registry.h"
#include "rollout/rollout_monitor.h"
#include "shadow/shadow_evaluator.h"
#include "static_files.h"
#include "storage/store.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace fetal {
namespace server {

class Router;

class ApiServer {
 public:
  ApiServer(const ServerConfig& config, storage::Store* store, ModelRegistry* registry,
            const AuditSigner* audit_signer);
  ~ApiServer();

  // Binds the listen address. On success *port is the bound port (useful with port 0).
  bool Bind(int* port, std::string* error);
  // Serves until Stop(); in-flight requests finish before it returns.
  void Run();
  // Stops accepting connections.
  void Stop();

 private:
  void InstallHooks();

  const ServerConfig config_;
  StaticFiles static_files_;
  CompressedFiles compressed_files_;
  Metrics metrics_;
  Authenticator auth_;
  std::unique_ptr<httplib::Server> http_;
  // Declared before the router, so destroyed after it: no handler can offer an exam once its
  // worker stops.
  std::unique_ptr<ShadowEvaluator> shadow_;
  // Takes a running rollout's automatic decisions (its own thread).
  std::unique_ptr<RolloutMonitor> rollout_monitor_;
  std::unique_ptr<Router> router_;
};

}  // namespace server
}  // namespace fetal
