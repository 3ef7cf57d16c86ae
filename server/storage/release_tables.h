// The release tables (docs/storage.md "Releases"): the signed release manifests as uploaded, and
// the staged rollouts started from them. Internal to fetal_storage.
//
// The migration step is self-contained (CREATE ... IF NOT EXISTS, no change to another table),
// so it can run at any schema version.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <string>

namespace fetal {
namespace storage {

// Column lists, in the order release_queries.cc reads them.
inline constexpr char kReleaseColumns[] =
    "sequence, kind, site, manifest, signature, steps, uploaded_ms, uploaded_by, published_ms";
inline constexpr char kRolloutColumns[] =
    "sequence, state, step, steps, step_started_ms, started_ms, started_by, ended_ms";

// The audit events that are rollout decisions. The partial index on audit uses the same text:
// both planners use a partial index only for a query that repeats its condition.
inline constexpr char kRolloutDecisionFilter[] =
    "action IN ('release.rollout.start', 'release.rollout.step', 'release.rollout.halt', "
    "'release.rollout.promote')";

// CREATE TABLE IF NOT EXISTS for release_manifests and rollouts, and the partial index of the
// rollout decisions in the audit table (same DDL on both backends).
std::string ReleaseTablesSql();

}  // namespace storage
}  // namespace fetal
