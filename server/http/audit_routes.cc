// GET /audit, /audit/{seq}, /audit/verify (with an optional seq+hash anchor, and the stored
// checkpoints judged by the server's audit key), /audit/checkpoint (docs/api.md). Every one of
// them is itself recorded in the chain after it is served.
#include <httplib.h>

#include <climits>
#include <optional>

#include "api_json.h"
#include "http/query.h"
#include "http/responses.h"
#include "http/router.h"
#include "storage/canonical.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;
using Code = storage::StoreStatus::Code;

void ListAudit(const Services& svc, const httplib::Request& req, httplib::Response& res,
               const Caller& caller) {
  std::optional<int64_t> after, limit;
  if (!QueryInt(req, res, "after", 0, INT64_MAX, &after) ||
      !QueryInt(req, res, "limit", 1, kMaxPageLimit, &limit))
    return;
  std::vector<storage::AuditEvent> events;
  int n = static_cast<int>(limit.value_or(kDefaultPageLimit));
  StoreStatus s = svc.store->ListAudit(after.value_or(0), n, &events);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  // The page as it was applied (defaults included), for the audit event.
  const std::string applied = Dump(json{{"after", after.value_or(0)}, {"limit", n}});
  if (!AuditAccess(svc.store, res, caller, "audit.list", "", "ok", applied)) return;
  json out = json::array();
  for (const auto& e : events) out.push_back(AuditEventToJson(e));
  json next = events.size() == static_cast<size_t>(n) ? json(events.back().seq) : json(nullptr);
  SendJson(res, 200, json{{"events", std::move(out)}, {"next_after", next}});
}

void GetAudit(const Services& svc, const httplib::Request& req, httplib::Response& res,
              const Caller& caller) {
  int64_t seq;
  if (!PathId(req, res, "audit event with seq", &seq)) return;
  storage::AuditEvent event;
  StoreStatus s = svc.store->GetAudit(seq, &event);
  const std::string object = "audit/" + std::to_string(seq);
  if (s.code() == Code::kNotFound) {
    if (!AuditAccess(svc.store, res, caller, "audit.read", object, "not_found", "")) return;
    SendError(res, 404, "not_found", "no audit event with seq " + std::to_string(seq));
    return;
  }
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditAccess(svc.store, res, caller, "audit.read", object, "ok", "")) return;
  SendJson(res, 200, AuditEventToJson(event));
}

// `seq` and `hash` (both or neither): an anchor the auditor noted earlier.
bool AnchorParams(const httplib::Request& req, httplib::Response& res,
                  std::optional<storage::AuditAnchor>* anchor) {
  std::optional<int64_t> seq;
  if (!QueryInt(req, res, "seq", 0, INT64_MAX, &seq)) return false;
  const bool has_hash = req.has_param("hash");
  if (seq.has_value() != has_hash) {
    SendError(res, 400, "invalid_parameter",
              "seq and hash go together: the seq and hash of a checkpoint noted earlier",
              seq ? "hash" : "seq");
    return false;
  }
  if (!seq) return true;
  std::string hash = req.get_param_value("hash");
  if (!storage::IsSha256Hex(hash)) {
    SendError(res, 400, "invalid_parameter",
              "hash must be 64 lowercase hexadecimal characters (an audit event's hash)", "hash");
    return false;
  }
  *anchor = storage::AuditAnchor{*seq, hash, "the given anchor"};
  return true;
}

json VerifyResultToJson(const storage::AuditVerifyResult& r) {
  json out = {{"ok", r.ok},
              {"length", r.length},
              {"head_hash", r.head_hash},
              {"anchors_checked", r.anchors_checked},
              {"checkpoints_not_checked", r.checkpoints_not_checked}};
  if (!r.ok) {
    out["first_bad_seq"] = r.first_bad_seq;
    out["problem"] = r.problem;
    json problems = json::array();
    for (const auto& p : r.problems) problems.push_back({{"seq", p.seq}, {"problem", p.problem}});
    out["problems"] = std::move(problems);
    out["problem_count"] = r.problem_count;
  }
  return out;
}

void VerifyAudit(const Services& svc, const httplib::Request& req, httplib::Response& res,
                 const Caller& caller) {
  std::optional<storage::AuditAnchor> anchor;
  if (!AnchorParams(req, res, &anchor)) return;
  storage::VerifyOptions options;
  if (anchor) options.anchors.push_back(*anchor);
  const AuditSigner* signer = svc.audit_signer;
  options.trust = [signer](const storage::SignedCheckpoint& cp) { return signer->Judge(cp); };
  storage::AuditVerifyResult result;
  StoreStatus s = svc.store->VerifyAudit(options, &result);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  std::string details = result.ok ? "length=" + std::to_string(result.length)
                                  : "first_bad_seq=" + std::to_string(result.first_bad_seq) +
                                        ";problems=" + std::to_string(result.problem_count);
  if (anchor) details += ";anchor_seq=" + std::to_string(anchor->seq);
  if (!AuditAccess(svc.store, res, caller, "audit.verify", "", result.ok ? "ok" : "broken",
                   details)) {
    return;
  }
  SendJson(res, 200, VerifyResultToJson(result));
}

void CheckpointAudit(const Services& svc, const httplib::Request&, httplib::Response& res,
                     const Caller& caller) {
  storage::AuditCheckpoint cp;
  StoreStatus s = svc.store->Checkpoint(&cp);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  if (!AuditAccess(svc.store, res, caller, "audit.checkpoint", "", "ok",
                   "seq=" + std::to_string(cp.seq)))
    return;
  SendJson(res, 200,
           json{{"seq", cp.seq}, {"hash", cp.hash}, {"time", text::FormatTime(text::NowMs())}});
}

}  // namespace

void AddAuditRoutes(Router* router) {
  const RoleSet kAuditor = Roles(Role::kAuditor);
  router->Get("/api/v1/audit", "/api/v1/audit", kAuditor, ListAudit, {{"after", "limit"}});
  router->Get("/api/v1/audit/verify", "/api/v1/audit/verify", kAuditor, VerifyAudit,
              {{"seq", "hash"}});
  router->Get("/api/v1/audit/checkpoint", "/api/v1/audit/checkpoint", kAuditor, CheckpointAudit);
  router->Get(R"(/api/v1/audit/(\d+))", "/api/v1/audit/{seq}", kAuditor, GetAudit);
}

}  // namespace server
}  // namespace fetal
