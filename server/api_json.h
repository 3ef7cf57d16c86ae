// JSON forms of the API's objects other than exams (exam_json.h): audit events and model
// records with their metadata (docs/api.md shows each).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "fetal/model.h"
#include "storage/store.h"

namespace fetal {
namespace server {

nlohmann::json AuditEventToJson(const storage::AuditEvent& event);

// A signed checkpoint: {"id", "seq", "hash", "time", "time_ms", "key_id", "signature"}.
nlohmann::json CheckpointToJson(const storage::SignedCheckpoint& checkpoint);
// Reads that form back (an auditor's saved copy); "id" and "time" are optional. False with
// *error naming the field.
bool CheckpointFromJson(const nlohmann::json& j, storage::SignedCheckpoint* out,
                        std::string* error);

// Metadata kept beside a bundle in the registry (ModelInput::metadata_json).
nlohmann::json ModelMetadata(const Model& model, size_t bundle_size);
// A registry entry as GET /models lists it: the record's fields, then its metadata's.
nlohmann::json ModelRecordToJson(const storage::ModelRecord& record);

}  // namespace server
}  // namespace fetal
