// POST /audit/checkpoint and GET /audit/checkpoints (docs/api.md): checkpoints of the audit chain
// signed with the server's audit key, stored, and listed for auditors to keep elsewhere.
#include <httplib.h>

#include <climits>
#include <optional>

#include "api_json.h"
#include "http/query.h"
#include "http/responses.h"
#include "http/router.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using storage::StoreStatus;

constexpr char kAlgorithm[] =
    "ECDSA P-256 with SHA-256 over the canonical checkpoint (docs/storage.md); signature = "
    "base64 of the 64-byte r||s";

void CreateCheckpoint(const Services& svc, const httplib::Request&, httplib::Response& res,
                      const Caller& caller) {
  storage::AuditCheckpoint head;
  StoreStatus s = svc.store->Checkpoint(&head);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  storage::SignedCheckpoint cp;
  cp.seq = head.seq;
  cp.hash = head.hash;
  cp.time_ms = text::NowMs();
  Status signed_ok = svc.audit_signer->Sign(&cp);
  if (!signed_ok.ok()) {
    SendError(res, 500, "internal", "signing the checkpoint failed: " + signed_ok.message());
    return;
  }
  storage::SignedCheckpoint stored;
  s = svc.store->PutCheckpoint(cp, caller.actor(), &stored);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  json out = CheckpointToJson(stored);
  out["public_key"] = svc.audit_signer->public_pem();
  out["algorithm"] = kAlgorithm;
  SendJson(res, 201, out);
}

void ListCheckpoints(const Services& svc, const httplib::Request& req, httplib::Response& res,
                     const Caller& caller) {
  std::optional<int64_t> after, limit;
  if (!QueryInt(req, res, "after", 0, INT64_MAX, &after) ||
      !QueryInt(req, res, "limit", 1, kMaxPageLimit, &limit))
    return;
  const int n = static_cast<int>(limit.value_or(kDefaultPageLimit));
  std::vector<storage::SignedCheckpoint> checkpoints;
  StoreStatus s = svc.store->ListCheckpoints(after.value_or(0), n, &checkpoints);
  if (!s.ok()) {
    SendStoreError(res, s);
    return;
  }
  // The page as it was applied (defaults included), for the audit event.
  const std::string applied = Dump(json{{"after", after.value_or(0)}, {"limit", n}});
  if (!AuditAccess(svc.store, res, caller, "audit.checkpoints", "", "ok", applied)) return;
  json list = json::array();
  for (const auto& c : checkpoints) list.push_back(CheckpointToJson(c));
  json next =
      checkpoints.size() == static_cast<size_t>(n) ? json(checkpoints.back().id) : json(nullptr);
  SendJson(res, 200,
           json{{"key_id", svc.audit_signer->key_id()},
                {"public_key", svc.audit_signer->public_pem()},
                {"algorithm", kAlgorithm},
                {"checkpoints", std::move(list)},
                {"next_after", next}});
}

}  // namespace

void AddCheckpointRoutes(Router* router) {
  const RoleSet kAuditor = Roles(Role::kAuditor);
  router->Post("/api/v1/audit/checkpoint", "/api/v1/audit/checkpoint", kAuditor, CreateCheckpoint);
  router->Get("/api/v1/audit/checkpoints", "/api/v1/audit/checkpoints", kAuditor, ListCheckpoints,
              {{"after", "limit"}});
}

}  // namespace server
}  // namespace fetal
