// Online backup of a live SQLite store: a consistent copy taken while servers keep writing.
//
// The copy is made with SQLite's online backup API, a few pages per step, inside one read
// transaction on the source: in WAL mode that transaction never blocks the committer, and it
// fixes the snapshot, so the copy holds exactly the transactions committed before the backup
// began (every acknowledged write up to then) and nothing half-done. The copy is written to
// DEST.partial, fsynced, checked (PRAGMA integrity_check and the audit chain walk) and then
// renamed over DEST, so DEST is either the previous file or a complete, checked copy.
//
// PostgreSQL is backed up with its own tools (pg_dump, base backups + WAL archiving,
// docs/storage.md "Backups").
//
// Thread-safety: BackupSqlite uses only connections of its own; any number of processes may
// write to the source meanwhile.
#pragma once

#include <cstdint>
#include <string>

#include "storage/store.h"

namespace fetal {
namespace storage {

struct BackupOptions {
  int pages_per_step = 256;  // pages copied per backup step
  int pause_ms = 0;          // sleep between steps (spreads the copy's I/O over time)
  int lock_timeout_ms = 5000;
};

struct BackupReport {
  int64_t pages = 0;         // pages of the copy
  int64_t steps = 0;         // backup steps taken
  int64_t exams = 0;         // exam rows in the snapshot that was copied
  int64_t audit_length = 0;  // audit events in it
  std::string head_hash;     // its audit chain head
  AuditVerifyResult verify;  // the chain walk over the finished copy
};

// Copies the SQLite database at `source` (which must exist) to `dest`. OK when the copy is
// complete and passes integrity_check; otherwise DEST is left as it was. The chain walk's result
// is in report->verify either way (a copy of a tampered store is still written: it is evidence).
StoreStatus BackupSqlite(const std::string& source, const std::string& dest,
                         const BackupOptions& options, BackupReport* report);

}  // namespace storage
}  // namespace fetal
