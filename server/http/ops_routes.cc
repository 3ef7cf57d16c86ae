// GET /health, /metrics, /session, and the web app's static files on every other GET path
// (docs/api.md).
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "http/etag.h"
#include "http/request_context.h"
#include "http/responses.h"
#include "http/router.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;

// How long /health waits for its empty commit: a healthy committer answers in milliseconds.
constexpr int kHealthCommitWaitMs = 1000;

void Health(const Services& svc, const httplib::Request&, httplib::Response& res, const Caller&) {
  StoreStatus ping = svc.store->Ping();
  json storage = {{"backend", svc.store->backend()}, {"ok", ping.ok()}};
  if (!ping.ok()) storage["error"] = ping.message();
  // Reads answering is not enough: a stalled session holding the chain lock stops every write.
  storage::WriteHealth writes;
  if (ping.ok()) {
    writes = svc.store->CheckWrites(
        std::min(kHealthCommitWaitMs, svc.config->store_limits.commit_wait_ms));
    storage["writable"] = writes.ok;
    if (!writes.ok) storage["write_error"] = writes.problem;
  }
  json active = nullptr;
  std::string model_error;
  if (ping.ok()) {
    std::shared_ptr<const storage::ModelRecord> model;
    StoreStatus m = svc.registry->Active(&model);
    if (m.ok()) active = {{"version", model->version}, {"sha256", model->sha256}};
    else model_error = m.message();
  }
  const char* status = !ping.ok() || active.is_null() ? "unavailable"
                       : !writes.ok                   ? "degraded"
                                                      : "ok";
  json body = {{"status", status},
               {"instance", svc.instance},
               {"uptime_s", (text::NowMs() - svc.started_ms) / 1000},
               {"storage", std::move(storage)},
               {"active_model", std::move(active)}};
  if (!model_error.empty()) body["active_model_error"] = model_error;
  if (std::string(status) != "ok") res.set_header("Retry-After", "1");
  SendJson(res, std::string(status) == "ok" ? 200 : 503, body);
}

// One Prometheus gauge or counter with its HELP and TYPE lines.
void AppendMetric(const char* name, const char* type, const char* help, long long value,
                  std::string* out) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type,
                name, value);
  *out += buf;
}

void MetricsText(const Services& svc, const httplib::Request&, httplib::Response& res,
                 const Caller&) {
  std::string text = svc.metrics->Render();
  storage::StoreStats stats;
  StoreStatus s = svc.store->Stats(&stats);
  AppendMetric("fetal_store_up", "gauge", "1 if the last storage query succeeded.", s.ok() ? 1 : 0,
               &text);
  if (s.ok()) {
    AppendMetric("fetal_exams_stored", "gauge", "Exams in the database.", stats.exams, &text);
    AppendMetric("fetal_exams_mismatched", "gauge",
                 "Stored exams whose server result disagreed with the client's.", stats.mismatches,
                 &text);
    AppendMetric("fetal_audit_chain_length", "gauge", "Events in the audit chain.",
                 stats.audit_length, &text);
    AppendMetric("fetal_store_commits_total", "counter",
                 "Transactions committed by this process's store (group commit).", stats.commits,
                 &text);
    AppendMetric(
        "fetal_store_committed_writes_total", "counter",
        "Writes carried by those transactions; divided by commits it is the mean group size.",
        stats.committed_writes, &text);
  }
  std::shared_ptr<const storage::ModelRecord> model;
  if (svc.registry->Active(&model).ok()) {
    AppendMetric("fetal_active_model_version", "gauge", "Registry version of the active model.",
                 model->version, &text);
  }
  AppendMonitoringMetrics(svc, &text);
  AppendShadowMetrics(svc, &text);
  res.status = 200;
  res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
}

void Session(const Services&, const httplib::Request&, httplib::Response& res,
             const Caller& caller) {
  SendJson(res, 200,
           json{{"token_id", caller.token_id},
                {"name", caller.name},
                {"role", RoleName(caller.role)}});
}

// `etag` ("...") with the coding's name before its closing quote: "...-br".
std::string CodedEtag(const std::string& etag, Coding coding) {
  return etag.substr(0, etag.size() - 1) + "-" + CodingName(coding) + "\"";
}

void ServeStatic(const Services& svc, const httplib::Request& req, httplib::Response& res,
                 const Caller&) {
  RequestContext& request = CurrentRequest();
  request.route = "static";
  if (req.path == "/api" || req.path.compare(0, 5, "/api/") == 0) {
    request.route = "unmatched";
    SendError(res, 404, "not_found", "no route for " + req.method + " " + req.path);
    return;
  }
  StaticFile file;
  if (!svc.static_files->Resolve(req.path, &file)) {
    SendError(res, 404, "not_found",
              svc.static_files->enabled() ? "no file " + req.path
                                          : "this server serves no web app (no --web-root)");
    return;
  }
  res.set_header("Cache-Control", file.cache_control);
  const bool compressible = IsCompressible(file.mime);
  Coding coding =
      compressible ? PreferredCoding(req.get_header_value("Accept-Encoding")) : Coding::kIdentity;
  if (compressible) res.set_header("Vary", "Accept-Encoding");
  // Each coding of a version has its own ETag. The file's own ETag, or that of the coding this
  // answer would be sent in, means the client is up to date (another coding's ETag does not).
  auto etag_of = [&file](Coding c) {
    return c == Coding::kIdentity ? file.etag : CodedEtag(file.etag, c);
  };
  const std::string if_none_match = req.get_header_value("If-None-Match");
  if (EtagMatches(if_none_match, file.etag) || EtagMatches(if_none_match, etag_of(coding))) {
    res.set_header("ETag", etag_of(coding));
    res.status = 304;
    return;
  }
  std::shared_ptr<const std::string> bytes = svc.compressed_files->Get(file, &coding);
  if (!bytes) {
    SendError(res, 500, "internal", "cannot read " + req.path);
    return;
  }
  res.set_header("ETag", etag_of(coding));  // Get may have fallen back to identity
  res.status = 200;
  if (coding != Coding::kIdentity) res.set_header("Content-Encoding", CodingName(coding));
  SendShared(res, std::move(bytes), file.mime);
}

}  // namespace

void AddOpsRoutes(Router* router) {
  router->Get("/api/v1/health", "/api/v1/health", kPublic, Health);
  router->Get("/api/v1/metrics", "/api/v1/metrics", Roles(Role::kAdmin), MetricsText);
  router->Get("/api/v1/session", "/api/v1/session", kAnyRole, Session);
  router->GetAnyOtherPath(ServeStatic);
}

}  // namespace server
}  // namespace fetal
