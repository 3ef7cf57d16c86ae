#include "storage/schema.h"

#include <cstdlib>
#include <map>
#include <string>
#include <utility>

#include "storage/day_stats.h"
#include "storage/day_stats_rebuild.h"
#include "storage/release_tables.h"
#include "storage/shadow_tables.h"

namespace fetal {
namespace storage {
namespace {

// The exams table of the current schema under `table`: rows belong to their submitter's principal
// (submitted_by_id, version 2), carry the canonical form that covers them (content_version,
// version 2) and the server's conformal prediction set (server_set, version 3).
std::string ExamsTable(Dialect d, const std::string& table) {
  const bool pg = d == Dialect::kPostgres;
  const std::string autoid = pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
  // clang-format off
  return
      "CREATE TABLE " + table + " ("
      "  id " + autoid + ", submitted_by TEXT NOT NULL, client_exam_id TEXT NOT NULL,"
      "  body_sha256 TEXT NOT NULL, features TEXT NOT NULL, client_class INTEGER NOT NULL,"
      "  client_probabilities TEXT NOT NULL, model_version BIGINT NOT NULL,"
      "  server_class INTEGER NOT NULL, server_probabilities TEXT NOT NULL,"
      "  agreement INTEGER NOT NULL, max_abs_diff DOUBLE PRECISION NOT NULL,"
      "  patient_ref TEXT NOT NULL, note TEXT NOT NULL, client_timestamp TEXT NOT NULL,"
      "  received_ms BIGINT NOT NULL, audit_seq BIGINT NOT NULL,"
      "  submitted_by_id BIGINT NOT NULL DEFAULT 0, content_version INTEGER NOT NULL DEFAULT 2,"
      "  server_set INTEGER NOT NULL DEFAULT 0,"
      // Idempotency keys are per principal. The name is part of the key only for rows migrated
      // from version 1 whose token could not be found (principal 0).
      "  CONSTRAINT exams_principal_key UNIQUE (submitted_by_id, client_exam_id, submitted_by));";
  // clang-format on
}

// Pages by submitter: an auditor's name filter, and a clinician's own exams (the HTTP layer
// filters those by name and principal together: a principal's rows all carry its token's name,
// so this one index serves both and an insert maintains no more indexes than before).
const char kExamIndexes[] =
    "CREATE INDEX IF NOT EXISTS exams_by_submitter ON exams (submitted_by, id);";

// Every table of the current schema, for an empty database.
std::string CreateTables(Dialect d) {
  const std::string blob = d == Dialect::kPostgres ? "BYTEA" : "BLOB";
  // clang-format off
  return
      "CREATE TABLE IF NOT EXISTS audit ("
      "  seq BIGINT PRIMARY KEY, time_ms BIGINT NOT NULL, actor TEXT NOT NULL,"
      "  role TEXT NOT NULL, request_id TEXT NOT NULL, action TEXT NOT NULL,"
      "  object TEXT NOT NULL, outcome TEXT NOT NULL, details TEXT NOT NULL,"
      "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);" +
      ExamsTable(d, "exams") + kExamIndexes +
      "CREATE TABLE IF NOT EXISTS tokens ("
      "  id " + std::string(d == Dialect::kPostgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY") +
      ", name TEXT NOT NULL, role TEXT NOT NULL,"
      "  token_sha256 TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL,"
      "  revoked INTEGER NOT NULL DEFAULT 0, revoked_ms BIGINT NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS models ("
      "  version BIGINT PRIMARY KEY, sha256 TEXT NOT NULL, signature TEXT NOT NULL,"
      "  metadata_json TEXT NOT NULL, created_ms BIGINT NOT NULL,"
      "  active INTEGER NOT NULL DEFAULT 0, bundle " + blob + " NOT NULL);";
  // clang-format on
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

// Version 1 -> 2: exams gain submitted_by_id (their owner's token id) and content_version (1
// for every existing row, whose hash stays the version-1 form), and idempotency keys become
// per principal. Each row's principal is the token that held the row's submitter name when the
// row was stored: the one whose token.create event comes before the row's exam.submit event and
// whose token.revoke event (if any) after it. Names were unique among active tokens, so that
// token is unique; rows of a name no token ever had keep principal 0 (auditors still see them).
StoreStatus MigrateToPrincipals(Dialect d, SqlConn* c) {
  StoreStatus s;
  if (d == Dialect::kSqlite) {
    // SQLite cannot drop the old UNIQUE (submitted_by, client_exam_id): rebuild the table.
    s = c->ExecScript(ExamsTable(d, "exams_v2") +
                      "INSERT INTO exams_v2 (id, submitted_by, client_exam_id, body_sha256, "
                      "features, client_class, client_probabilities, model_version, server_class, "
                      "server_probabilities, agreement, max_abs_diff, patient_ref, note, "
                      "client_timestamp, received_ms, audit_seq, submitted_by_id, content_version) "
                      "SELECT id, submitted_by, client_exam_id, body_sha256, features, "
                      "client_class, client_probabilities, model_version, server_class, "
                      "server_probabilities, agreement, max_abs_diff, patient_ref, note, "
                      "client_timestamp, received_ms, audit_seq, 0, 1 FROM exams;"
                      "DROP TABLE exams;"
                      "ALTER TABLE exams_v2 RENAME TO exams;");
  } else {
    s = c->ExecScript(
        "ALTER TABLE exams ADD COLUMN submitted_by_id BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE exams ADD COLUMN content_version INTEGER NOT NULL DEFAULT 1;"
        "ALTER TABLE exams ALTER COLUMN content_version SET DEFAULT 2;"
        "ALTER TABLE exams DROP CONSTRAINT IF EXISTS exams_submitted_by_client_exam_id_key;"
        "ALTER TABLE exams ADD CONSTRAINT exams_principal_key "
        "  UNIQUE (submitted_by_id, client_exam_id, submitted_by);");
  }
  if (!s.ok()) return s;
  s = c->ExecScript(kExamIndexes);
  if (!s.ok()) return s;

  // [create seq, revoke seq) of every token, from the chain.
  SqlRows events;
  s = c->Exec(
      "SELECT seq, action, object FROM audit "
      "WHERE action = 'token.create' OR action = 'token.revoke' ORDER BY seq",
      {}, &events);
  if (!s.ok()) return s;
  std::map<int64_t, std::pair<int64_t, int64_t>> spans;
  for (const auto& e : events) {
    const std::string& object = e[2].AsText();
    if (object.compare(0, 6, "token/") != 0) continue;
    const int64_t id = std::strtoll(object.c_str() + 6, nullptr, 10);
    auto& span = spans.emplace(id, std::make_pair(int64_t{0}, INT64_MAX)).first->second;
    if (e[1].AsText() == "token.create" && span.first == 0) span.first = e[0].AsInt();
    if (e[1].AsText() == "token.revoke" && span.second == INT64_MAX) span.second = e[0].AsInt();
  }
  SqlRows tokens;
  s = c->Exec("SELECT id, name FROM tokens", {}, &tokens);
  if (!s.ok()) return s;
  for (const auto& t : tokens) {
    auto span = spans.find(t[0].AsInt());
    if (span == spans.end() || span->second.first == 0) continue;
    s = c->Exec(
        "UPDATE exams SET submitted_by_id = $1 WHERE submitted_by = $2 AND audit_seq > $3 "
        "AND audit_seq < $4 AND submitted_by_id = 0",
        {SqlValue::Int(t[0].AsInt()), SqlValue::Text(t[1].AsText()),
         SqlValue::Int(span->second.first), SqlValue::Int(span->second.second)},
        nullptr);
    if (!s.ok()) return s;
  }
  return StoreStatus::Ok();
}

// Adds `column` (with its definition) to exams unless the table has it already: a database may
// come to a step with it, e.g. from version 1, whose step rebuilt the SQLite table from
// ExamsTable. PostgreSQL says IF NOT EXISTS; SQLite has no such clause, so look first.
StoreStatus AddExamColumnIfMissing(Dialect d, SqlConn* c, const std::string& column,
                                   const std::string& definition) {
  const std::string add = "ALTER TABLE exams ADD COLUMN ";
  if (d == Dialect::kPostgres) return c->Exec(add + "IF NOT EXISTS " + column + " " + definition);
  SqlRows rows;
  StoreStatus s = c->Exec("SELECT 1 FROM pragma_table_info('exams') WHERE name = $1",
                          {SqlValue::Text(column)}, &rows);
  if (s.ok() && rows.empty()) s = c->Exec(add + column + " " + definition);
  return s;
}

// Version 2 -> 3: exams gain server_set, the server's prediction set as a class mask; rows stored
// before take 0 (no set known), which leaves their content hash as it was (canonical.h).
StoreStatus MigrateToPredictionSets(Dialect d, SqlConn* c) {
  return AddExamColumnIfMissing(d, c, "server_set", "INTEGER NOT NULL DEFAULT 0");
}

// Version 3 -> 4: exams carry the browser runtime's build id; outcomes (versions, never
// changed) and the monitoring aggregates appear (made anew by the step to version 5).
// ExamsTable has no runtime_build: an empty database gets it here too.
StoreStatus MigrateToMonitoring(Dialect d, SqlConn* c) {
  StoreStatus s = AddExamColumnIfMissing(d, c, "runtime_build", "TEXT NOT NULL DEFAULT ''");
  if (!s.ok()) return s;
  return c->ExecScript(
      "CREATE TABLE IF NOT EXISTS exam_outcomes ("
      "  exam_id BIGINT NOT NULL, version BIGINT NOT NULL, final_reading INTEGER NOT NULL,"
      "  apgar_5min TEXT NOT NULL, umbilical_ph TEXT NOT NULL, base_deficit TEXT NOT NULL,"
      "  nicu_admission TEXT NOT NULL, recorded_by TEXT NOT NULL,"
      "  recorded_by_id BIGINT NOT NULL, recorded_ms BIGINT NOT NULL,"
      "  audit_seq BIGINT NOT NULL, PRIMARY KEY (exam_id, version));"
      // The verification walk reads a page of events' outcomes by seq.
      "CREATE INDEX IF NOT EXISTS exam_outcomes_by_seq ON exam_outcomes (audit_seq);");
}

// Version 4 -> 5: the aggregates keep their counters packed in one column (day_stats.h), and are
// rebuilt from the stored exams and outcomes (day_stats_rebuild.h): exams stored before version 4
// were never added to them, and those stored by version 4 had their features binned at double
// precision against float edges.
constexpr int64_t kRebuildBatchExams = 1000;

StoreStatus MigrateToPackedDayStats(Dialect d, SqlConn* c) {
  StoreStatus s = c->ExecScript("DROP TABLE IF EXISTS exam_day_stats;" + DayStatsTableSql(d));
  if (!s.ok()) return s;
  DayStatsRebuild rebuilt;
  return RebuildDayStats(c, kRebuildBatchExams, &rebuilt);
}

StoreStatus MigrateLocked(Dialect d, SqlConn* c) {
  StoreStatus s = c->ExecScript(
      "CREATE TABLE IF NOT EXISTS storage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  if (!s.ok()) return s;
  SqlRows rows;
  s = c->Exec("SELECT value FROM storage_meta WHERE key = 'schema_version'", {}, &rows);
  if (!s.ok()) return s;
  if (rows.empty()) {  // an empty database
    s = c->ExecScript(CreateTables(d) + CreateCheckpointTable(d));
    if (s.ok()) s = MigrateToMonitoring(d, c);
    if (s.ok()) s = MigrateToPackedDayStats(d, c);
    if (s.ok()) s = c->ExecScript(ShadowTablesSql());
    if (s.ok()) s = c->ExecScript(ReleaseTablesSql());
    if (!s.ok()) return s;
    return c->Exec("INSERT INTO storage_meta (key, value) VALUES ('schema_version', $1)",
                   {SqlValue::Text(std::to_string(kSchemaVersion))}, nullptr);
  }
  const int64_t version = rows[0][0].AsInt();
  if (version < 1 || version > kSchemaVersion) {
    return StoreStatus::Internal("the database has schema version " + rows[0][0].AsText() +
                                 "; this fetal-server reads versions 1 to " +
                                 std::to_string(kSchemaVersion) + " (a newer server wrote it?)");
  }
  if (version < 2) {
    s = MigrateToPrincipals(d, c);
    if (!s.ok()) return s;
  }
  if (version < 3) {
    s = MigrateToPredictionSets(d, c);
    if (!s.ok()) return s;
  }
  if (version < 4) {
    s = MigrateToMonitoring(d, c);
    if (!s.ok()) return s;
  }
  if (version < 5) {
    s = MigrateToPackedDayStats(d, c);
    if (!s.ok()) return s;
  }
  if (version < 6) {  // version 5 -> 6: shadow evaluation's tables (shadow_tables.h)
    s = c->ExecScript(ShadowTablesSql());
    if (!s.ok()) return s;
  }
  if (version < 7) {  // version 6 -> 7: release manifests and rollouts (release_tables.h)
    s = c->ExecScript(ReleaseTablesSql());
    if (!s.ok()) return s;
  }
  s = c->ExecScript(CreateCheckpointTable(d));
  if (!s.ok()) return s;
  if (version == kSchemaVersion) return StoreStatus::Ok();
  return c->Exec("UPDATE storage_meta SET value = $1 WHERE key = 'schema_version'",
                 {SqlValue::Text(std::to_string(kSchemaVersion))}, nullptr);
}

}  // namespace

StoreStatus Migrate(Dialect dialect, SqlConn* conn) {
  // Under the write lock, so several processes may open one database at once.
  StoreStatus s = conn->Exec(dialect == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  if (s.ok() && dialect == Dialect::kPostgres) s = conn->Exec(kChainLockSql);
  if (s.ok()) s = MigrateLocked(dialect, conn);
  if (s.ok()) s = conn->Exec("COMMIT");
  if (!s.ok()) conn->ExecScript("ROLLBACK");
  return s;
}

}  // namespace storage
}  // namespace fetal
