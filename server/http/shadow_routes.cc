// GET /models/shadows; POST and DELETE /models/{v}/shadow; POST /models/{v}/shadow/replay;
// GET /models/{v}/shadow/report (docs/api.md, docs/model-changes.md).
#include <httplib.h>

#include <climits>

#include "http/model_access.h"
#include "http/query.h"
#include "http/responses.h"
#include "http/router.h"
#include "shadow/shadow_evaluator.h"
#include "shadow/shadow_report.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

// A replay call classifies at most this many exams (in pages of kReplayPage, one store write
// each) and answers next_cursor for the rest, so no request runs for minutes.
constexpr int kReplayPage = 500;
constexpr int64_t kMaxReplayExams = 20000;

json ShadowsJson(const std::vector<storage::ShadowModel>& shadows) {
  json out = json::array();
  for (const auto& s : shadows) {
    out.push_back(json{{"version", s.version},
                       {"started", text::FormatTime(s.started_ms)},
                       {"started_by", s.started_by}});
  }
  return out;
}

// The version in the path, reloaded and verified. False with the answer written.
bool LoadPathVersion(const Services& svc, const httplib::Request& req, httplib::Response& res,
                     ModelVersion* out) {
  int64_t version;
  return PathId(req, res, "model version", &version) && ReloadModelVersion(svc, res, version, out);
}

// from/to as given (ms since the epoch, or ISO 8601); from defaults to the epoch and to to now.
bool Window(const httplib::Request& req, httplib::Response& res, int64_t* from, int64_t* to) {
  std::optional<int64_t> f, t;
  if (!QueryTime(req, res, "from", &f) || !QueryTime(req, res, "to", &t)) return false;
  *from = f.value_or(0);
  *to = t.value_or(text::NowMs() + 1);
  if (*from >= *to) {
    SendError(res, 400, "invalid_parameter", "query parameter from must be before to", "from");
    return false;
  }
  return true;
}

void ListShadows(const Services& svc, const httplib::Request&, httplib::Response& res,
                 const Caller&) {
  std::vector<storage::ShadowModel> shadows;
  StoreStatus s = svc.store->ListShadows(&shadows);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  SendJson(res, 200,
           json{{"shadows", ShadowsJson(shadows)}, {"max_shadows", storage::kMaxShadows}});
}

// After a start or stop: this instance evaluates the new set at once; the answer is the list.
void AnswerShadowChange(const Services& svc, const httplib::Request& req, httplib::Response& res,
                        const Caller& caller, const StoreStatus& change) {
  if (!change.ok()) {
    SendStoreError(res, change);
    return;
  }
  svc.shadow->Refresh();
  ListShadows(svc, req, res, caller);
}

void StartShadow(const Services& svc, const httplib::Request& req, httplib::Response& res,
                 const Caller& caller) {
  ModelVersion model;
  if (!LoadPathVersion(svc, req, res, &model)) return;
  std::shared_ptr<const storage::ModelRecord> active;
  StoreStatus s = svc.registry->Active(&active);
  if (s.ok() && active->version == model.version) {
    SendError(res, 409, "model_is_active",
              "model version " + std::to_string(model.version) +
                  " is the active model; a shadow is compared with the active one",
              "version");
    return;
  }
  if (!s.ok() && s.code() != Code::kNotFound) {
    SendStoreError(res, s);
    return;
  }
  s = svc.store->StartShadow(model.version, caller.actor());
  if (s.code() == Code::kConflict) {
    SendError(res, 409, "too_many_shadows", s.message(), "version");
    return;
  }
  AnswerShadowChange(svc, req, res, caller, s);
}

void StopShadow(const Services& svc, const httplib::Request& req, httplib::Response& res,
                const Caller& caller) {
  int64_t version;
  if (!PathId(req, res, "model version", &version)) return;
  StoreStatus s = svc.store->StopShadow(version, caller.actor());
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", s.message());
    return;
  }
  AnswerShadowChange(svc, req, res, caller, s);
}

void ReplayShadow(const Services& svc, const httplib::Request& req, httplib::Response& res,
                  const Caller& caller) {
  ModelVersion model;
  if (!LoadPathVersion(svc, req, res, &model)) return;
  int64_t from, to;
  if (!Window(req, res, &from, &to)) return;
  storage::ExamFilter filter;
  filter.from_ms = from;
  filter.to_ms = to;
  std::string cursor = req.has_param("cursor") ? req.get_param_value("cursor") : "";
  int64_t exams = 0, stored = 0, refused = 0;
  while (exams < kMaxReplayExams) {
    storage::ExamPage page;
    StoreStatus s = svc.store->ListExams(filter, cursor, kReplayPage, &page);
    if (s.code() == Code::kInvalidArgument) {
      SendError(res, 400, "invalid_parameter", s.message(), "cursor");
      return;
    }
    if (!s.ok()) {
      SendStoreError(res, s);
      return;
    }
    std::vector<storage::ShadowResult> results;
    for (const auto& exam : page.exams) {
      storage::ShadowResult r;
      if (ShadowClassify(*model.classifier, model.version, exam.id, exam.input.features, &r)) {
        results.push_back(r);
      } else {
        ++refused;
      }
    }
    int64_t added = 0;
    s = svc.store->PutShadowResults(results, &added);
    if (!s.ok()) {
      SendStoreError(res, s);
      return;
    }
    exams += static_cast<int64_t>(page.exams.size());
    stored += added;
    cursor = page.next_cursor;
    if (cursor.empty()) break;
  }
  json out = {{"version", model.version},
              {"from", text::FormatTime(from)},
              {"to", text::FormatTime(to)},
              {"exams", exams},
              {"stored", stored},
              {"already_evaluated", exams - stored - refused},
              {"refused", refused},
              {"next_cursor", cursor.empty() ? json(nullptr) : json(cursor)}};
  if (!AuditAccess(svc.store, res, caller, "model.shadow.replay",
                   "model/" + std::to_string(model.version), "ok",
                   "exams=" + std::to_string(exams) + " stored=" + std::to_string(stored))) {
    return;
  }
  SendJson(res, 200, out);
}

void ShadowReport(const Services& svc, const httplib::Request& req, httplib::Response& res,
                  const Caller&) {
  int64_t version;
  if (!PathId(req, res, "model version", &version)) return;
  storage::ModelRecord record;
  StoreStatus s = svc.store->GetModel(version, &record);
  if (s.code() == Code::kNotFound) {
    SendError(res, 404, "not_found", "no model version " + std::to_string(version));
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  int64_t from, to;
  if (!Window(req, res, &from, &to)) return;
  std::shared_ptr<const storage::ModelRecord> active_record;
  s = svc.registry->Active(&active_record);
  if (s.code() == Code::kNotFound) {
    SendError(res, 409, "no_active_model",
              "no model is active: a shadow is compared with the active model");
    return;
  }
  ModelVersion active;
  if (s.ok()) s = svc.registry->Get(active_record->version, &active);
  ShadowTally tally;
  if (s.ok()) s = BuildShadowTally(svc.store, active, version, from, to, &tally);
  if (s.code() == Code::kInvalidArgument) {
    SendError(res, 400, "invalid_parameter", s.message(), s.field());
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  json out = ShadowReportJson(tally);
  out["shadow_version"] = version;
  out["active_version"] = active.version;
  out["from"] = text::FormatTime(from);
  out["to"] = text::FormatTime(to);
  SendJson(res, 200, out);
}

}  // namespace

void AppendShadowMetrics(const Services& services, std::string* text) {
  services.shadow->AppendMetrics(text);
}

void AddShadowRoutes(Router* router) {
  const RoleSet kAdmin = Roles(Role::kAdmin);
  const RoleSet kReaders = Roles(Role::kAdmin) | Roles(Role::kAuditor);
  router->Get("/api/v1/models/shadows", "/api/v1/models/shadows", kReaders, ListShadows);
  router->Post(R"(/api/v1/models/(\d+)/shadow)", "/api/v1/models/{version}/shadow", kAdmin,
               StartShadow);
  router->Delete(R"(/api/v1/models/(\d+)/shadow)", "/api/v1/models/{version}/shadow", kAdmin,
                 StopShadow);
  router->Post(R"(/api/v1/models/(\d+)/shadow/replay)", "/api/v1/models/{version}/shadow/replay",
               kAdmin, ReplayShadow, {{"from", "to", "cursor"}});
  router->Get(R"(/api/v1/models/(\d+)/shadow/report)", "/api/v1/models/{version}/shadow/report",
              kReaders, ShadowReport, {{"from", "to"}});
}

}  // namespace server
}  // namespace fetal
