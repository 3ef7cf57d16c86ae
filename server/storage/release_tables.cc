#include "storage/release_tables.h"

namespace fetal {
namespace storage {

std::string ReleaseTablesSql() {
  // A sequence holds one rollout, or the two endings of the rollout before it: (sequence, kind)
  // is the key. The manifest is ASCII JSON (release_manifest.h), so TEXT keeps its bytes.
  return "CREATE TABLE IF NOT EXISTS release_manifests ("
         "  sequence BIGINT NOT NULL, kind TEXT NOT NULL, site TEXT NOT NULL,"
         "  manifest TEXT NOT NULL, signature TEXT NOT NULL, steps INTEGER NOT NULL,"
         "  uploaded_ms BIGINT NOT NULL, uploaded_by TEXT NOT NULL,"
         "  published_ms BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (sequence, kind));"
         "CREATE TABLE IF NOT EXISTS rollouts ("
         "  sequence BIGINT PRIMARY KEY, state TEXT NOT NULL, step INTEGER NOT NULL,"
         "  steps INTEGER NOT NULL, step_started_ms BIGINT NOT NULL, started_ms BIGINT NOT NULL,"
         "  started_by TEXT NOT NULL, ended_ms BIGINT NOT NULL DEFAULT 0);"
         "CREATE INDEX IF NOT EXISTS audit_rollout_decisions ON audit (seq) WHERE " +
         std::string(kRolloutDecisionFilter) + ";";
}

}  // namespace storage
}  // namespace fetal
