#include "storage/schema.h"

#include <string>

namespace fetal {
namespace storage {
namespace {

std::string CreateTables(Dialect d) {
  const bool pg = d == Dialect::kPostgres;
  const std::string autoid = pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
  const std::string blob = pg ? "BYTEA" : "BLOB";
  // The DDL stays laid out as SQL, a few columns per line.
  // clang-format off
  return
      "CREATE TABLE IF NOT EXISTS storage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO storage_meta (key, value) VALUES ('schema_version', '1') "
      "  ON CONFLICT (key) DO NOTHING;"
      "CREATE TABLE IF NOT EXISTS audit ("
      "  seq BIGINT PRIMARY KEY, time_ms BIGINT NOT NULL, actor TEXT NOT NULL,"
      "  role TEXT NOT NULL, request_id TEXT NOT NULL, action TEXT NOT NULL,"
      "  object TEXT NOT NULL, outcome TEXT NOT NULL, details TEXT NOT NULL,"
      "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS exams ("
      "  id " + autoid + ", submitted_by TEXT NOT NULL, client_exam_id TEXT NOT NULL,"
      "  body_sha256 TEXT NOT NULL, features TEXT NOT NULL, client_class INTEGER NOT NULL,"
      "  client_probabilities TEXT NOT NULL, model_version BIGINT NOT NULL,"
      "  server_class INTEGER NOT NULL, server_probabilities TEXT NOT NULL,"
      "  agreement INTEGER NOT NULL, max_abs_diff DOUBLE PRECISION NOT NULL,"
      "  patient_ref TEXT NOT NULL, note TEXT NOT NULL, client_timestamp TEXT NOT NULL,"
      "  received_ms BIGINT NOT NULL, audit_seq BIGINT NOT NULL,"
      "  server_set INTEGER NOT NULL DEFAULT 0,"
      "  UNIQUE (submitted_by, client_exam_id));"
      // Clinicians page through their own exams: WHERE submitted_by = ? AND id > ? ORDER BY id.
      "CREATE INDEX IF NOT EXISTS exams_by_submitter ON exams (submitted_by, id);"
      "CREATE TABLE IF NOT EXISTS tokens ("
      "  id " + autoid + ", name TEXT NOT NULL, role TEXT NOT NULL,"
      "  token_sha256 TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL,"
      "  revoked INTEGER NOT NULL DEFAULT 0, revoked_ms BIGINT NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS models ("
      "  version BIGINT PRIMARY KEY, sha256 TEXT NOT NULL, signature TEXT NOT NULL,"
      "  metadata_json TEXT NOT NULL, created_ms BIGINT NOT NULL,"
      "  active INTEGER NOT NULL DEFAULT 0, bundle " + blob + " NOT NULL);";
  // clang-format on
}

// Columns added to a table after it was first released: CREATE TABLE has them for a new
// database; a database made before gets them on open, its rows taking the default.
struct AddedColumn {
  const char* table;
  const char* column;
  const char* definition;
};
constexpr AddedColumn kAddedColumns[] = {
    {"exams", "server_set", "INTEGER NOT NULL DEFAULT 0"},
};

StoreStatus AddMissingColumns(Dialect dialect, SqlConn* conn) {
  for (const AddedColumn& c : kAddedColumns) {
    const std::string add = std::string("ALTER TABLE ") + c.table + " ADD COLUMN ";
    if (dialect == Dialect::kPostgres) {
      StoreStatus s = conn->Exec(add + "IF NOT EXISTS " + c.column + " " + c.definition);
      if (!s.ok()) return s;
      continue;
    }
    SqlRows rows;  // SQLite has no ADD COLUMN IF NOT EXISTS: look first
    StoreStatus s = conn->Exec("SELECT 1 FROM pragma_table_info($1) WHERE name = $2",
                               {SqlValue::Text(c.table), SqlValue::Text(c.column)}, &rows);
    if (s.ok() && rows.empty()) s = conn->Exec(add + c.column + " " + c.definition);
    if (!s.ok()) return s;
  }
  return StoreStatus::Ok();
}

// Signed checkpoints of the audit chain (docs/storage.md "Checkpoints"): a step of its own, so
// it is created in databases made before it existed (CREATE ... IF NOT EXISTS, no version bump).
std::string CreateCheckpointTable(Dialect d) {
  const std::string autoid =
      d == Dialect::kPostgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
  return "CREATE TABLE IF NOT EXISTS audit_checkpoints ("
         "  id " +
         autoid +
         ", seq BIGINT NOT NULL, hash TEXT NOT NULL,"
         "  time_ms BIGINT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL);"
         "CREATE INDEX IF NOT EXISTS audit_checkpoints_by_seq ON audit_checkpoints (seq, id);";
}

}  // namespace

StoreStatus Migrate(Dialect dialect, SqlConn* conn) {
  const std::string steps = CreateTables(dialect) + CreateCheckpointTable(dialect);
  std::string script = dialect == Dialect::kSqlite
                           ? "BEGIN IMMEDIATE;" + steps
                           : std::string("BEGIN;") + kChainLockSql + ";" + steps;
  StoreStatus s = conn->ExecScript(script);
  if (s.ok()) s = AddMissingColumns(dialect, conn);
  if (s.ok()) s = conn->ExecScript("COMMIT");
  if (!s.ok()) conn->ExecScript("ROLLBACK");
  return s;
}

}  // namespace storage
}  // namespace fetal
