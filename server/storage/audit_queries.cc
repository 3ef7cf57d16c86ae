// SqlStore: the audit chain's public operations (appending, listing, verifying, checkpoints).
#include <chrono>
#include <memory>
#include <mutex>

#include "storage/audit_chain.h"
#include "storage/audit_verify.h"
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
  RowsToAudit(rows, out);
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

StoreStatus SqlStore::VerifyAudit(const VerifyOptions& options, AuditVerifyResult* result) {
  // Not on a pooled connection: a long walk must not take one from the short reads.
  const auto wait = std::chrono::milliseconds(options_.limits.read_wait_ms);
  {
    std::unique_lock<std::mutex> lock(verify_mu_);
    if (!verify_done_.wait_for(lock, wait, [&] { return !verifying_; })) {
      return StoreStatus::Unavailable("another audit verification is running (waited " +
                                      std::to_string(wait.count()) + " ms)");
    }
    verifying_ = true;
  }
  std::unique_ptr<SqlConn> conn;
  StoreStatus s = database_.Connect(&conn);
  if (s.ok()) s = VerifyChain(database_.dialect, conn.get(), options, result);
  conn.reset();
  {
    std::lock_guard<std::mutex> lock(verify_mu_);
    verifying_ = false;
  }
  verify_done_.notify_one();
  return s;
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

StoreStatus SqlStore::PutCheckpoint(const SignedCheckpoint& checkpoint, const Actor& by,
                                    SignedCheckpoint* out) {
  if (checkpoint.seq < 0 || !IsSha256Hex(checkpoint.hash)) {
    return StoreStatus::InvalidArgument("a checkpoint needs seq >= 0 and a 64-hex hash", "hash");
  }
  SignedCheckpoint stored = checkpoint;
  StoreStatus s = committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        SqlRows rows;
        StoreStatus st = txn.Exec(
            "INSERT INTO audit_checkpoints (seq, hash, time_ms, key_id, signature) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING id",
            {SqlValue::Int(checkpoint.seq), SqlValue::Text(checkpoint.hash),
             SqlValue::Int(checkpoint.time_ms), SqlValue::Text(checkpoint.key_id),
             SqlValue::Text(checkpoint.signature)},
            &rows);
        if (!st.ok()) return st;
        stored.id = rows.at(0).at(0).AsInt();
        AuditEntry e{by, "checkpoint.create", "checkpoint/" + std::to_string(stored.id), "ok",
                     "seq=" + std::to_string(checkpoint.seq) + ";hash=" + checkpoint.hash +
                         ";key_id=" + checkpoint.key_id};
        return AppendEvent(txn, e, nullptr);
      },
      Isolation::kSavepoint);
  if (s.ok() && out) *out = std::move(stored);
  return s;
}

StoreStatus SqlStore::ListCheckpoints(int64_t after_id, int limit,
                                      std::vector<SignedCheckpoint>* out) {
  if (limit < 1 || limit > kMaxListLimit) {
    return StoreStatus::InvalidArgument("limit must be between 1 and 1000", "limit");
  }
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kCheckpointColumns +
                       " FROM audit_checkpoints WHERE id > $1 ORDER BY id LIMIT $2",
                   {SqlValue::Int(after_id), SqlValue::Int(limit)}, &rows);
  });
  if (!s.ok()) return s;
  out->clear();
  for (const auto& r : rows) {
    out->emplace_back();
    RowToCheckpoint(r, &out->back());
  }
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
