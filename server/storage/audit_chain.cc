#include "storage/audit_chain.h"

#include "storage/canonical.h"
#include "storage/schema.h"

namespace fetal {
namespace storage {

StoreStatus StartChain(WriteTxn& txn) {
  StoreStatus s;
  if (txn.dialect == Dialect::kPostgres) {
    s = txn.conn->Exec(kChainLockSql);
    if (!s.ok()) return s;
  }
  SqlRows head;
  s = txn.conn->Exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", {}, &head);
  if (!s.ok()) return s;
  txn.head.seq = head.empty() ? 0 : head[0][0].AsInt();
  txn.head.hash = head.empty() ? kGenesisHash : head[0][1].AsText();
  return StoreStatus::Ok();
}

StoreStatus AppendEvent(WriteTxn& txn, const AuditEntry& entry, AuditEvent* out) {
  const int64_t seq = txn.head.seq + 1;
  std::string hash = AuditEventHash(txn.head.hash, seq, txn.now_ms, entry);
  StoreStatus s =
      txn.Exec(std::string("INSERT INTO audit (") + kAuditColumns +
                   ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
               {SqlValue::Int(seq), SqlValue::Int(txn.now_ms), SqlValue::Text(entry.actor.name),
                SqlValue::Text(entry.actor.role), SqlValue::Text(entry.actor.request_id),
                SqlValue::Text(entry.action), SqlValue::Text(entry.object),
                SqlValue::Text(entry.outcome), SqlValue::Text(entry.details),
                SqlValue::Text(txn.head.hash), SqlValue::Text(hash)},
               nullptr);
  if (!s.ok()) return s;
  if (out) {
    out->seq = seq;
    out->time_ms = txn.now_ms;
    out->entry = entry;
    out->prev_hash = txn.head.hash;
    out->hash = hash;
  }
  txn.head.seq = seq;
  txn.head.hash = std::move(hash);
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
