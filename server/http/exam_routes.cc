// POST /exams, POST /exams:batch, GET /exams/{id}, GET /exams (docs/api.md).
#include <httplib.h>

#include <climits>
#include <cmath>
#include <optional>

#include "exam_json.h"
#include "fetal/classifier.h"
#include "http/body.h"
#include "http/exam_access.h"
#include "http/query.h"
#include "http/responses.h"
#include "http/router.h"
#include "outcome_json.h"
#include "storage/exam_signals.h"
#include "text/excerpt.h"
#include "text/storable.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

constexpr size_t kMaxBatchExams = 1000;
// JSON values a body may hold (ScanJsonShape's items): an exam has about 35. These leave room
// for every optional field while bounding the tree nlohmann::json builds (about 100 bytes a
// value: 6 MB for a full batch, besides its strings).
constexpr size_t kMaxExamJsonItems = 1000;
constexpr size_t kMaxBatchJsonItems = 64 * kMaxBatchExams;

// Turns one client exam into a store input: decode, look up the model version the client used,
// classify the exam with it as the browser did (validation included), compare the results.
// Appends field errors; *warnings gets the validator's warnings. A non-OK *store_error means
// the store failed (answer 503/500), not the client.
bool PrepareExam(const Services& svc, const json& body, const std::string& prefix,
                 storage::ExamInput* input, json* warnings, FieldErrors* errors,
                 StoreStatus* store_error) {
  if (!DecodeExam(body, prefix, input, errors)) return false;
  ModelVersion model;
  StoreStatus s = svc.registry->Get(input->model_version, &model);
  if (s.code() == Code::kNotFound) {
    errors->Add(FieldError{prefix + "client_result.model_version", "unknown_model_version",
                           "model version " + std::to_string(input->model_version) +
                               " is not in the server's registry",
                           "a version listed by GET /api/v1/models", input->model_version});
    return false;
  }
  if (!s.ok()) {
    *store_error = s;
    return false;
  }
  float features[kNumFeatures];
  for (int i = 0; i < kNumFeatures; ++i) features[i] = static_cast<float>(input->features[i]);
  ClassifyOptions options;
  options.explain = false;  // the server stores the verdict, not its explanation
  Classification server;
  model.classifier->Classify(features, options, &server);
  FindingsToErrors(server.findings, prefix, errors);
  if (!server.classified) return false;
  *warnings = WarningsToJson(server.findings);
  input->server_class = server.predicted_class;
  input->server_set = server.prediction_set;
  for (int k = 0; k < kNumClasses; ++k) input->server_probabilities[k] = server.probabilities[k];
  Agreement agreement = CompareResults(input->client_class, input->client_probabilities, server);
  input->agreement = agreement.agree;
  input->max_abs_diff = agreement.max_abs_difference;
  input->signals = storage::SignalsOf(server, model.reference.get(), input->features.data());
  return true;
}

void SubmitExam(const Services& svc, const httplib::Request& req, httplib::Response& res,
                const Caller& caller) {
  json body;
  if (!ParseJsonBody(req, res, kMaxExamJsonItems, &body)) return;
  storage::ExamInput input;
  json warnings = json::array();
  FieldErrors errors;
  StoreStatus store_error;
  if (!PrepareExam(svc, body, "", &input, &warnings, &errors, &store_error)) {
    if (!store_error.ok()) SendStoreError(res, store_error);
    else SendValidation(res, errors);
    return;
  }
  storage::SubmitResult result;
  StoreStatus s = svc.store->SubmitExam(input, caller.actor(), &result);
  if (s.code() == Code::kConflict) {
    SendError(res, 409, "idempotency_conflict", s.message(),
              s.field().empty() ? "client_exam_id" : s.field());
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  svc.metrics->CountExams(result.replayed ? 0 : 1, result.replayed ? 1 : 0,
                          !result.replayed && !result.exam.input.agreement ? 1 : 0);
  if (!result.replayed) svc.shadow->Offer(result.exam.id, result.exam.input.features);
  std::string out;
  AppendExamJson(result.exam, &result.replayed, Dump(warnings), &out);
  res.set_header("Location", "/api/v1/exams/" + std::to_string(result.exam.id));
  res.status = result.replayed ? 200 : 201;
  res.set_content(std::move(out), "application/json");
}

void SubmitExamBatch(const Services& svc, const httplib::Request& req, httplib::Response& res,
                     const Caller& caller) {
  json body;
  if (!ParseJsonBody(req, res, kMaxBatchJsonItems, &body)) return;
  FieldErrors errors;
  const std::string expected = "{\"exams\": [1 to 1000 exam objects]}";
  if (!body.is_object() || !body.contains("exams") || !body["exams"].is_array()) {
    errors.Add(FieldError{"exams", "required", "the body must be an object with an \"exams\" array",
                          expected, nullptr});
    SendValidation(res, errors);
    return;
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "exams") {
      const std::string field = text::Excerpt(it.key());
      errors.Add(FieldError{field, "unknown_field", field + " is not a known field of a batch",
                            expected, nullptr});
    }
  }
  const json& exams = body["exams"];
  if (exams.empty() || exams.size() > kMaxBatchExams) {
    errors.Add(FieldError{"exams", "size",
                          "a batch holds 1 to 1000 exams, got " + std::to_string(exams.size()),
                          expected, nullptr});
  }
  if (!errors.empty()) {
    SendValidation(res, errors);
    return;
  }
  std::vector<storage::ExamInput> inputs(exams.size());
  std::vector<json> warnings(exams.size(), json::array());
  for (size_t i = 0; i < exams.size(); ++i) {
    StoreStatus store_error;
    PrepareExam(svc, exams[i], "exams[" + std::to_string(i) + "].", &inputs[i], &warnings[i],
                &errors, &store_error);
    if (!store_error.ok()) {
      SendStoreError(res, store_error);
      return;
    }
  }
  if (!errors.empty()) {
    SendValidation(res, errors);
    return;
  }
  std::vector<storage::SubmitResult> results;
  StoreStatus s = svc.store->SubmitExamBatch(inputs, caller.actor(), &results);
  if (s.code() == Code::kConflict) {
    SendError(res, 409, "idempotency_conflict", s.message(), s.field());
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  std::string exams_text = "[";
  int64_t stored = 0, replayed = 0, mismatched = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (i) exams_text += ',';
    AppendExamJson(results[i].exam, &results[i].replayed,
                   i < warnings.size() ? Dump(warnings[i]) : "[]", &exams_text);
    if (results[i].replayed) ++replayed;
    else {
      ++stored;
      svc.shadow->Offer(results[i].exam.id, results[i].exam.input.features);
      if (!results[i].exam.input.agreement) ++mismatched;
    }
  }
  exams_text += ']';
  svc.metrics->CountExams(stored, replayed, mismatched);
  res.status = stored > 0 ? 201 : 200;
  res.set_content("{\"exams\":" + exams_text + ",\"replayed\":" + std::to_string(replayed) +
                      ",\"stored\":" + std::to_string(stored) + "}",
                  "application/json");
}

void GetExam(const Services& svc, const httplib::Request& req, httplib::Response& res,
             const Caller& caller) {
  int64_t id;
  if (!PathId(req, res, "exam with id", &id)) return;
  storage::ExamRecord exam;
  if (!FindVisibleExam(svc, res, caller, id, "exam.read", &exam)) return;
  std::optional<storage::OutcomeRecord> outcome;
  StoreStatus s = svc.store->GetLatestOutcome(id, &outcome);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditAccess(svc.store, res, caller, "exam.read", "exam/" + std::to_string(id), "ok", ""))
    return;
  std::string out;
  AppendExamJsonWithOutcome(exam, outcome ? OutcomeJson(*outcome, nullptr) : "null", &out);
  res.status = 200;
  res.set_content(std::move(out), "application/json");
}

// The filter as it was applied, for the exam.list audit event: what the store was asked for,
// not what the query said.
std::string AppliedFilter(const storage::ExamFilter& f, int limit, const std::string& cursor) {
  json j = json::object();
  if (f.from_ms) j["from_ms"] = *f.from_ms;
  if (f.to_ms) j["to_ms"] = *f.to_ms;
  if (f.client_class) j["class"] = kClassNames[*f.client_class];
  if (f.model_version) j["model_version"] = *f.model_version;
  if (f.agreement)
    j["agreement"] = *f.agreement == storage::Agreement::kMatch ? "match" : "mismatch";
  if (f.submitted_by) j["submitted_by"] = *f.submitted_by;
  if (f.submitted_by_id) j["submitted_by_id"] = *f.submitted_by_id;
  j["limit"] = limit;
  if (!cursor.empty()) j["cursor"] = cursor;
  return Dump(j);
}

void ListExams(const Services& svc, const httplib::Request& req, httplib::Response& res,
               const Caller& caller) {
  storage::ExamFilter filter;
  std::optional<int64_t> limit, model_version;
  if (!QueryTime(req, res, "from", &filter.from_ms) || !QueryTime(req, res, "to", &filter.to_ms) ||
      !QueryInt(req, res, "limit", 1, kMaxPageLimit, &limit) ||
      !QueryInt(req, res, "model_version", 1, INT64_MAX, &model_version)) {
    return;
  }
  filter.model_version = model_version;
  if (req.has_param("class")) {
    int k = ClassIndex(req.get_param_value("class"));
    if (k < 0) {
      SendError(res, 400, "invalid_parameter",
                "query parameter class must be Normal, Suspect or Pathological, got \"" +
                    text::Excerpt(req.get_param_value("class")) + "\"",
                "class");
      return;
    }
    filter.client_class = k;
  }
  if (req.has_param("agreement")) {
    std::string a = req.get_param_value("agreement");
    if (a == "match") filter.agreement = storage::Agreement::kMatch;
    else if (a == "mismatch") filter.agreement = storage::Agreement::kMismatch;
    else {
      SendError(res, 400, "invalid_parameter",
                "query parameter agreement must be match or mismatch, got \"" + text::Excerpt(a) +
                    "\"",
                "agreement");
      return;
    }
  }
  if (req.has_param("submitted_by")) {
    filter.submitted_by = req.get_param_value("submitted_by");
    if (filter.submitted_by->empty() || filter.submitted_by->size() > 128 ||
        !text::IsStorableText(*filter.submitted_by)) {
      SendError(res, 400, "invalid_parameter",
                "query parameter submitted_by must be a token name (1 to 128 bytes of text), got "
                "\"" +
                    text::Excerpt(*filter.submitted_by) + "\"",
                "submitted_by");
      return;
    }
  }
  if (caller.role == Role::kClinician) {
    if (filter.submitted_by && *filter.submitted_by != caller.name) {
      SendError(res, 403, "forbidden",
                "a clinician can list only their own exams (submitted_by=" + caller.name + ")",
                "submitted_by");
      return;
    }
    // A clinician's exams are those of their token (principal), whatever the query says. The
    // name, which all of them carry, lets the store page them by its submitter index.
    filter.submitted_by = caller.name;
    filter.submitted_by_id = caller.token_id;
  }
  const int page_limit = static_cast<int>(limit.value_or(kDefaultPageLimit));
  const std::string cursor = req.get_param_value("cursor");
  storage::ExamPage page;
  StoreStatus s = svc.store->ListExams(filter, cursor, page_limit, &page);
  if (s.code() == Code::kInvalidArgument) {
    SendError(res, 400, "invalid_parameter", s.message(), s.field().empty() ? "cursor" : s.field());
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditAccess(svc.store, res, caller, "exam.list", "", "ok",
                   AppliedFilter(filter, page_limit, cursor)))
    return;
  std::string out = "{\"exams\":[";
  for (size_t i = 0; i < page.exams.size(); ++i) {
    if (i) out += ',';
    AppendExamJson(page.exams[i], nullptr, "", &out);
  }
  out += "],\"next_cursor\":";
  out += page.next_cursor.empty() ? std::string("null") : Dump(json(page.next_cursor));
  out += '}';
  res.status = 200;
  res.set_content(std::move(out), "application/json");
}

}  // namespace

void AddExamRoutes(Router* router) {
  const RoleSet kExamReaders = Roles(Role::kClinician, Role::kAuditor);
  const ServerConfig& config = router->config();
  router->Post("/api/v1/exams", "/api/v1/exams", Roles(Role::kClinician), SubmitExam,
               {{}, config.max_exam_body, "application/json"});
  router->Post("/api/v1/exams:batch", "/api/v1/exams:batch", Roles(Role::kClinician),
               SubmitExamBatch, {{}, config.max_batch_body, "application/json"});
  router->Get("/api/v1/exams", "/api/v1/exams", kExamReaders, ListExams,
              {{"from", "to", "class", "model_version", "agreement", "submitted_by", "cursor",
                "limit"}});
  router->Get(R"(/api/v1/exams/(\d+))", "/api/v1/exams/{id}", kExamReaders, GetExam);
}

}  // namespace server
}  // namespace fetal
