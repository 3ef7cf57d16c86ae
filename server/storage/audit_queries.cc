// SqlStore: the audit chain's public operations (appending, listing, verifying, checkpoints).
#include "storage/audit_chain.h"
#include "storage/canonical.h"
#include "storage/rows.h"
#include "storage/schema.h"
#include "storage/sql_store.h"

namespace fetal {
namespace storage {
namespace {
constexpr int kMaxListLimit = 1000;
}  // namespace

StoreStatus SqlStore::AppendAudit(const AuditEntry& entry, AuditEvent* out) {
  if (entry.action.empty()) return StoreStatus::InvalidArgument("action is empty", "action");
  AuditEvent event;
  StoreStatus s = committer_->Run([&](WriteTxn& txn) { return AppendEvent(txn, entry, &event); },
                                  Isolation::kChecksBeforeWrites);
  if (s.ok() && out) *out = std::move(event);
  return s;
}

StoreStatus SqlStore::ListAudit(int64_t after_seq, int limit, std::vector<AuditEvent>* out) {
  if (limit < 1 || limit > kMaxListLimit) {
    return StoreStatus::InvalidArgument("limit must be between 1 and 1000", "limit");
  }
  if (after_seq < 0) return StoreStatus::InvalidArgument("after must be >= 0", "after");
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kAuditColumns +
                       " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
                   {SqlValue::Int(after_seq), SqlValue::Int(limit)}, &rows);
  });
  if (!s.ok()) return s;
  out->clear();
  for (const auto& r : rows) {
    out->emplace_back();
    RowToAudit(r, &out->back());
  }
  return StoreStatus::Ok();
}

StoreStatus SqlStore::GetAudit(int64_t seq, AuditEvent* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kAuditColumns + " FROM audit WHERE seq = $1",
                   {SqlValue::Int(seq)}, &rows);
  });
  if (!s.ok()) return s;
  if (rows.empty()) return StoreStatus::NotFound("no audit event with seq " + std::to_string(seq));
  RowToAudit(rows[0], out);
  return StoreStatus::Ok();
}

StoreStatus SqlStore::VerifyAudit(AuditVerifyResult* result) {
  return readers_.Run([&](SqlConn* c) { return VerifyChain(database_.dialect, c, result); });
}

StoreStatus SqlStore::Checkpoint(AuditCheckpoint* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", {}, &rows);
  });
  if (!s.ok()) return s;
  out->seq = rows.empty() ? 0 : rows[0][0].AsInt();
  out->hash = rows.empty() ? kGenesisHash : rows[0][1].AsText();
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
