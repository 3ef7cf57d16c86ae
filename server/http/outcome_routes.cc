// POST /api/v1/exams/{id}/outcome (docs/api.md): a clinician records what became of one of
// their exams. Every change is a new version; the same body again is a replay.
// GET /api/v1/exams/{id}/outcomes: every version of it, for whoever may read the exam.
#include <httplib.h>

#include "http/body.h"
#include "http/exam_access.h"
#include "http/query.h"
#include "http/responses.h"
#include "http/router.h"
#include "outcome_json.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

constexpr size_t kMaxOutcomeJsonItems = 64;

void RecordOutcome(const Services& svc, const httplib::Request& req, httplib::Response& res,
                   const Caller& caller) {
  int64_t id;
  if (!PathId(req, res, "exam with id", &id)) return;
  json body;
  if (!ParseJsonBody(req, res, kMaxOutcomeJsonItems, &body)) return;
  storage::OutcomeInput input;
  FieldErrors errors;
  if (!DecodeOutcome(body, &input, &errors)) {
    SendValidation(res, errors);
    return;
  }
  // Only the exam's own clinician (the route is for clinicians) records its outcome.
  storage::ExamRecord exam;
  if (!FindVisibleExam(svc, res, caller, id, "exam.outcome", &exam)) return;
  storage::OutcomeResult result;
  StoreStatus s = svc.store->RecordOutcome(id, input, caller.actor(), &result);
  if (s.code() == Code::kInvalidArgument) {
    FieldErrors store_errors;
    store_errors.Add(FieldError{s.field(), "range", s.message(), s.message(), nullptr});
    SendValidation(res, store_errors);
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  res.set_header("Location", "/api/v1/exams/" + std::to_string(id));
  res.status = result.replayed ? 200 : 201;
  res.set_content(OutcomeJson(result.outcome, &result.replayed), "application/json");
}

// Reading the versions is reading the exam: the same access rule and audit action as GET
// /exams/{id}, told apart by the details.
void ListOutcomes(const Services& svc, const httplib::Request& req, httplib::Response& res,
                  const Caller& caller) {
  int64_t id;
  if (!PathId(req, res, "exam with id", &id)) return;
  storage::ExamRecord exam;
  if (!FindVisibleExam(svc, res, caller, id, "exam.read", &exam)) return;
  std::vector<storage::OutcomeRecord> versions;
  StoreStatus s = svc.store->ListOutcomes(id, &versions);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditAccess(svc.store, res, caller, "exam.read", "exam/" + std::to_string(id), "ok",
                   "outcomes"))
    return;
  std::string out = "{\"exam_id\":" + std::to_string(id) + ",\"outcomes\":[";
  for (size_t i = 0; i < versions.size(); ++i) {
    if (i) out += ',';
    out += OutcomeJson(versions[i], nullptr);
  }
  out += "]}";
  res.status = 200;
  res.set_content(std::move(out), "application/json");
}

}  // namespace

void AddOutcomeRoutes(Router* router) {
  router->Post(R"(/api/v1/exams/(\d+)/outcome)", "/api/v1/exams/{id}/outcome",
               Roles(Role::kClinician), RecordOutcome, {{}, 4096, "application/json"});
  router->Get(R"(/api/v1/exams/(\d+)/outcomes)", "/api/v1/exams/{id}/outcomes",
              Roles(Role::kClinician, Role::kAuditor), ListOutcomes);
}

}  // namespace server
}  // namespace fetal
