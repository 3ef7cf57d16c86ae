// The audit hash chain: starting a write transaction on it and appending events
// (docs/storage.md "The audit chain"); audit_verify.h walks it. Internal to fetal_storage.
//
// Every writer of the chain (in every process on the database) holds the chain lock from the
// moment it reads the head until it commits, so the chain stays one linear sequence: SQLite's
// BEGIN IMMEDIATE is that lock, PostgreSQL takes a transaction-scoped advisory lock.
//
// Thread-safety: StartChain and AppendEvent run on the committer thread, inside its transaction.
// Neither keeps state between calls.
#pragma once

#include "storage/sql.h"
#include "storage/store.h"
#include "storage/write_txn.h"

namespace fetal {
namespace storage {

// Right after BEGIN of a group: takes the chain lock (PostgreSQL) and reads the head into
// txn.head.
StoreStatus StartChain(WriteTxn& txn);

// Appends one event after txn.head and advances the head. `out` may be null.
StoreStatus AppendEvent(WriteTxn& txn, const AuditEntry& entry, AuditEvent* out);

}  // namespace storage
}  // namespace fetal
