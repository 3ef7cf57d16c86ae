// The tables (docs/storage.md "Tables"), their column lists in the order rows.h reads them, and
// the migrations that create them or bring an older database up to date. Internal to fetal_storage.
//
// Thread-safety: constants, and Migrate, which runs on the connection it is given.
#pragma once

#include "storage/sql.h"

namespace fetal {
namespace storage {

// Column lists for SELECT / INSERT; rows.h maps rows in exactly this order.
inline constexpr char kExamColumns[] =
    "id, submitted_by, client_exam_id, body_sha256, features, client_class, "
    "client_probabilities, model_version, server_class, server_probabilities, agreement, "
    "max_abs_diff, patient_ref, note, client_timestamp, received_ms, audit_seq, "
    "submitted_by_id, content_version, server_set, runtime_build";
inline constexpr char kOutcomeColumns[] =
    "exam_id, version, final_reading, apgar_5min, umbilical_ph, base_deficit, nicu_admission, "
    "recorded_by, recorded_by_id, recorded_ms, audit_seq";
inline constexpr char kAuditColumns[] =
    "seq, time_ms, actor, role, request_id, action, object, outcome, details, prev_hash, hash";
inline constexpr char kTokenColumns[] =
    "id, name, role, token_sha256, created_ms, revoked, revoked_ms";
inline constexpr char kCheckpointColumns[] = "id, seq, hash, time_ms, key_id, signature";
// Without the bundle; append ", bundle" to read it too.
inline constexpr char kModelColumns[] =
    "version, sha256, signature, metadata_json, created_ms, active";

// PostgreSQL: the transaction-scoped advisory lock that serializes every writer of the audit
// chain across processes. Any constant works; it only has to be the same for every instance.
inline constexpr char kChainLockSql[] = "SELECT pg_advisory_xact_lock(7277046850418761)";

// storage_meta.schema_version this code writes. 1: the first schema; 2: exams belong to a
// principal; 3: exams keep the server's prediction set; 4: exams carry their runtime build,
// outcomes and the monitoring aggregates; 5: the aggregates rebuilt from the stored exams; 6:
// shadow evaluation's tables; 7: release manifests and rollouts (docs/storage.md "Schema
// versions").
inline constexpr int kSchemaVersion = 7;

// Creates the tables of an empty database, or migrates an older one step by step to
// kSchemaVersion, in one transaction under the write lock, so several processes may open one
// database at once. Refuses a database of a newer version. Runs on `conn`, which must be idle
// (no open transaction).
StoreStatus Migrate(Dialect dialect, SqlConn* conn);

}  // namespace storage
}  // namespace fetal
