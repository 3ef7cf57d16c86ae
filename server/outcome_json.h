// The JSON form of an exam's outcome, both directions: decoding POST /exams/{id}/outcome and
// writing a stored version (that answer, and "outcome" in GET /exams/{id}). docs/api.md
// specifies both.
//
// Decoding reports every failing field (never only the first), each naming the expected form.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "exam_json.h"
#include "storage/store.h"

namespace fetal {
namespace server {

// Appends to *errors; true if nothing was appended. Absent and null optional fields are absent.
bool DecodeOutcome(const nlohmann::json& body, storage::OutcomeInput* out, FieldErrors* errors);

// The stored version as a JSON object (keys in alphabetical order, absent values as null).
// `replayed` is written when non-null.
std::string OutcomeJson(const storage::OutcomeRecord& outcome, const bool* replayed);

}  // namespace server
}  // namespace fetal
