// JSON form of exams (request decoding, response encoding) and of the other API objects.
//
// The wire format is specified in docs/api.md. Decoding never throws and never stops at the
// first problem: every failing field is reported, named by its JSON path ("features.baseline_value",
// "exams[3].client_result.probabilities").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetal/model.h"
#include "fetal/validator.h"
#include "storage/store.h"

namespace fetal {
namespace server {

// One problem with one field of a request.
struct FieldError {
  std::string field;     // JSON path
  std::string rule;      // stable id: "required", "type", "range", "unknown_field", a validator rule
  std::string message;   // a sentence for a person
  std::string expected;  // the expected form, may be empty
  nlohmann::json value;  // the offending value, null when absent
};

nlohmann::json FieldErrorToJson(const FieldError& e);

// Decodes the client's part of one exam (everything but the server's re-evaluation) into *out.
// `prefix` is prepended to field paths ("" or "exams[3]."). Appends to *errors; returns true if
// nothing was appended. Also sets out->body_sha256 = SHA-256 of CanonicalExamText(*out).
bool DecodeExam(const nlohmann::json& j, const std::string& prefix, storage::ExamInput* out,
                std::vector<FieldError>* errors);

// The client's part of an exam as canonical JSON text: fixed key order, features in schema order,
// numbers in their shortest round-trip form, absent optional strings as "". Its SHA-256 is the
// idempotency body hash: the same exam sent with other spacing, key order or number spelling
// (120 vs 120.0) is a replay, not a conflict.
std::string CanonicalExamText(const storage::ExamInput& in);

// Validator findings -> field errors (errors only) and warnings JSON (warnings only).
void FindingsToErrors(const std::vector<Finding>& findings, const std::string& prefix,
                      std::vector<FieldError>* errors);
nlohmann::json WarningsToJson(const std::vector<Finding>& findings);

nlohmann::json ExamToJson(const storage::ExamRecord& exam);
// The same object as ExamToJson(exam).dump(), written directly (no intermediate tree: this is the
// hot path of every exam response). `replayed` (when non-null) and `warnings_json` (a JSON array
// text, when non-empty) are added as "replayed" and "warnings".
void AppendExamJson(const storage::ExamRecord& exam, const bool* replayed, const std::string& warnings_json,
                    std::string* out);
nlohmann::json AuditEventToJson(const storage::AuditEvent& event);
nlohmann::json TokenToJson(const storage::TokenRecord& token);

// Metadata kept beside a bundle in the registry (ModelInput::metadata_json).
nlohmann::json ModelMetadata(const Model& model, size_t bundle_size);
nlohmann::json ModelRecordToJson(const storage::ModelRecord& record);

// "Normal" | "Suspect" | "Pathological" -> 0..2, or -1.
int ClassIndex(const std::string& name);

// Milliseconds since the epoch <-> "2026-11-28T13:45:12.345Z".
std::string FormatTime(int64_t ms);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)"; false if malformed.
bool ParseTime(const std::string& text, int64_t* ms);

}  // namespace server
}  // namespace fetal
