// JSON forms of the API's objects other than exams (exam_json.h): audit events and model
// records with their metadata (docs/api.md shows each).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

#include "fetal/model.h"
#include "storage/store.h"

namespace fetal {
namespace server {

nlohmann::json AuditEventToJson(const storage::AuditEvent& event);

// Metadata kept beside a bundle in the registry (ModelInput::metadata_json).
nlohmann::json ModelMetadata(const Model& model, size_t bundle_size);
// A registry entry as GET /models lists it: the record's fields, then its metadata's.
nlohmann::json ModelRecordToJson(const storage::ModelRecord& record);

}  // namespace server
}  // namespace fetal
