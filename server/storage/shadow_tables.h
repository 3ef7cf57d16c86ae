// The shadow-evaluation tables (docs/storage.md "Shadow evaluation"): which versions are in
// shadow, and each shadow version's result for each exam it classified. Internal to
// fetal_storage.
//
// The migration step is self-contained (CREATE ... IF NOT EXISTS, no change to another table),
// so it can run at any schema version that has exams and models.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <string>

#include "storage/sql.h"

namespace fetal {
namespace storage {

// Column list of shadow_results, in the order shadow_queries.cc reads them.
inline constexpr char kShadowResultColumns[] =
    "shadow_version, exam_id, shadow_class, shadow_probabilities, evaluated_ms";

// CREATE TABLE IF NOT EXISTS for shadow_models and shadow_results (same DDL on both backends).
std::string ShadowTablesSql();

}  // namespace storage
}  // namespace fetal
