// Verifying the audit chain: the walk behind Store::VerifyAudit and fetal-audit (docs/storage.md
// "What VerifyAudit checks"). Internal to fetal_storage.
//
// The walk reads events, the exams they cover and the stored checkpoints in pages, so its memory
// does not depend on the length of the chain or the number of exams. It does not stop at the
// first problem: every problem is reported (the first kMaxAuditProblems kept, all counted) and
// the walk goes on past unreadable rows, gaps and broken links.
//
// Thread-safety: VerifyChain uses only the connection it is given and keeps no state.
#pragma once

#include "storage/sql.h"
#include "storage/store.h"

namespace fetal {
namespace storage {

// Walks the chain in one read snapshot on `conn`, which must be idle (no open transaction) and
// used by no other thread: seq continuity, prev links, every hash, every exam covered by an
// exam.submit event, no exam row without its event, every anchor of `options` and (with
// options.trust) every stored checkpoint. A broken chain is OK with result->ok false; a non-OK
// status only when the walk could not run.
StoreStatus VerifyChain(Dialect dialect, SqlConn* conn, const VerifyOptions& options,
                        AuditVerifyResult* result);

}  // namespace storage
}  // namespace fetal
