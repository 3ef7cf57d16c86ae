// Reading a PostgreSQL plain-SQL dump (`pg_dump --format=plain`, the default) for fetal-audit:
// the rows of the tables the audit chain covers are copied into an empty SQLite database with
// the store's own schema, where the same verification walk reads them.
//
// Only the COPY blocks of the tables audit, exams, exam_outcomes and audit_checkpoints are read
// (pg_dump writes table data as `COPY public.<table> (<columns>) FROM stdin;` followed by
// tab-separated rows in COPY's text format and a line `\.`); everything else in the file is
// skipped. A dump written with --inserts or --column-inserts has no COPY blocks and is refused.
//
// Thread-safety: LoadPgDump uses only the connection it is given.
#pragma once

#include <cstdint>
#include <string>

#include "storage/sql.h"

namespace fetal {
namespace audit_cli {

struct PgDumpCounts {
  int64_t audit = 0, exams = 0, checkpoints = 0, outcomes = 0;  // rows copied per table
};

// Copies the rows from the dump at `path` into `sqlite`, an empty SQLite database already
// migrated to the store's schema. Not OK (with the line number) when the file cannot be read or
// a COPY block is malformed or names a column the schema lacks.
storage::StoreStatus LoadPgDump(const std::string& path, storage::SqlConn* sqlite,
                                PgDumpCounts* counts);

// One field of COPY's text format decoded (backslash escapes); false for \N (NULL).
bool DecodeCopyField(const std::string& field, std::string* out);

}  // namespace audit_cli
}  // namespace fetal
