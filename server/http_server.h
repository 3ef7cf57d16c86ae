// ApiServer: the HTTP front of fetal-server (docs/api.md is the reference for every route).
//
// Owns the cpp-httplib server, routing, authentication, roles, rate limiting, request limits,
// error rendering, per-request JSON log lines and metrics. Storage and the model registry are
// borrowed and must outlive the ApiServer.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "auth.h"
#include "config.h"
#include "exam_json.h"
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

class ApiServer {
 public:
  ApiServer(const ServerConfig& config, storage::Store* store, ModelRegistry* registry);
  ~ApiServer();

  // Binds the listen address. On success *port is the bound port (useful with port 0).
  bool Bind(int* port, std::string* error);
  // Serves until Stop(); in-flight requests finish before it returns.
  void Run();
  // Stops accepting connections; safe to call from another thread (not from a signal handler).
  void Stop();

 private:
  struct Caller;
  using Handler = void (ApiServer::*)(const httplib::Request&, httplib::Response&, const Caller&);

  void RegisterRoutes();
  void Route(const char* method, const std::string& pattern, const char* label, unsigned roles,
             Handler handler);
  bool Authenticate(const httplib::Request& req, httplib::Response& res, unsigned roles, Caller* caller);

  // Handlers, one per route (docs/api.md).
  void Health(const httplib::Request&, httplib::Response&, const Caller&);
  void MetricsText(const httplib::Request&, httplib::Response&, const Caller&);
  void Session(const httplib::Request&, httplib::Response&, const Caller&);
  void SubmitExam(const httplib::Request&, httplib::Response&, const Caller&);
  void SubmitExamBatch(const httplib::Request&, httplib::Response&, const Caller&);
  void GetExam(const httplib::Request&, httplib::Response&, const Caller&);
  void ListExams(const httplib::Request&, httplib::Response&, const Caller&);
  void ListAudit(const httplib::Request&, httplib::Response&, const Caller&);
  void GetAudit(const httplib::Request&, httplib::Response&, const Caller&);
  void VerifyAudit(const httplib::Request&, httplib::Response&, const Caller&);
  void CheckpointAudit(const httplib::Request&, httplib::Response&, const Caller&);
  void ListModels(const httplib::Request&, httplib::Response&, const Caller&);
  void GetActiveModel(const httplib::Request&, httplib::Response&, const Caller&);
  void GetModel(const httplib::Request&, httplib::Response&, const Caller&);
  bool FindModelVersion(const httplib::Request& req, httplib::Response& res, storage::ModelRecord* model);
  void GetModelSignature(const httplib::Request&, httplib::Response&, const Caller&);
  void UploadModel(const httplib::Request&, httplib::Response&, const Caller&);
  void ActivateModel(const httplib::Request&, httplib::Response&, const Caller&);
  void ServeStatic(const httplib::Request&, httplib::Response&);

  // Turns one client exam into a store input: decode, look up the model, validate, re-evaluate.
  // Appends field errors; *warnings gets the validator's warnings.
  // A non-OK *store_error means the store failed (answer 503/500), not the client.
  bool PrepareExam(const nlohmann::json& body, const std::string& prefix, storage::ExamInput* input,
                   nlohmann::json* warnings, std::vector<FieldError>* errors,
                   storage::StoreStatus* store_error);
  // Appends an audit event for a read; false (with a 503/500 already written) if it failed.
  bool AuditRead(httplib::Response& res, const Caller& caller, const std::string& action,
                 const std::string& object, const std::string& outcome, const std::string& details);

  ServerConfig config_;
  storage::Store* store_;
  ModelRegistry* registry_;
  StaticFiles static_files_;
  TokenCache tokens_;
  RateLimiter rate_limiter_;
  Metrics metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::string instance_;
  int64_t started_ms_ = 0;
};

}  // namespace server
}  // namespace fetal
