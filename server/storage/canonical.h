// Canonical byte forms that the audit chain hashes (specified for auditors in docs/storage.md).
//
// Every field is written as  name "=" <decimal byte length> ":" <bytes> "\n"  after a version
// line, so no value can be confused with a delimiter and any language recomputes it exactly.
// Doubles are printed as printf("%.17g") would (text::AppendPrecise), which round-trips every
// IEEE double. The same number lists are what the exams table stores, so the stored text is
// exactly what is hashed.
//
// Thread-safety: pure functions. Internal to fetal_storage (tests include it to build inputs).
#pragma once

#include <cstdint>
#include <string>

#include "storage/store.h"

namespace fetal {
namespace storage {

inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Comma-joined text::AppendPrecise: the stored and hashed form of a list of doubles.
std::string FormatDoubles(const double* v, int count);
// Parses FormatDoubles output back; false when the count or a number is wrong. Subnormal
// numbers read back exactly (rows stored before they were refused hold some).
bool ParseDoubles(const std::string& text, double* v, int count);

// "fetal-audit-v1\n" + fields seq, time_ms, actor, role, request_id, action, object, outcome,
// details.
std::string CanonicalAuditEvent(int64_t seq, int64_t time_ms, const AuditEntry& entry);
// Hex SHA-256 over prev_hash (64 ASCII hex characters) followed by the canonical event.
std::string AuditEventHash(const std::string& prev_hash, int64_t seq, int64_t time_ms,
                           const AuditEntry& entry);

// Version 3 (exam.content_version == 3): "fetal-exam-v3\n" + the fields of version 2 with
// runtime_build after client_timestamp.
// Version 2 (exam.content_version == 2): "fetal-exam-v2\n" + fields submitted_by,
// submitted_by_id, client_exam_id, body_sha256, features, client_class, client_probabilities,
// model_version, server_class, server_probabilities, agreement (0|1), max_abs_diff,
// patient_ref, note, client_timestamp, received_ms, id. Version 1 (rows stored before
// principals existed): "fetal-exam-v1\n" and the same fields without submitted_by_id.
// The two fields only the committer knows come last, so the prefix can be hashed beforehand.
std::string CanonicalExam(const ExamRecord& exam);
std::string ExamContentHash(const ExamRecord& exam);  // hex SHA-256 of CanonicalExam

// The numbers of an exam in canonical text, formatted once and reused for storage and hashing.
struct ExamNumbers {
  std::string features, client_probabilities, server_probabilities, max_abs_diff;
};
ExamNumbers FormatExamNumbers(const ExamInput& in);
// CanonicalExam up to and including client_timestamp (runtime_build), in form `version` (1..3).
std::string CanonicalExamPrefix(const ExamInput& in, const std::string& submitted_by,
                                int64_t submitted_by_id, int version, const ExamNumbers& numbers);
// The rest: received_ms and id.
std::string CanonicalExamSuffix(int64_t received_ms, int64_t id);

// An outcome's optional values in their stored and hashed text: "" when absent, an integer,
// text::Precise, or "true"/"false".
struct OutcomeText {
  std::string apgar_5min, umbilical_ph, base_deficit, nicu_admission;
};
OutcomeText FormatOutcome(const OutcomeInput& in);
// Back from the stored text; false when a value does not parse.
bool ParseOutcome(const OutcomeText& text, OutcomeInput* out);
// "fetal-outcome-v1\n" + fields exam_id, version, final_reading, apgar_5min, umbilical_ph,
// base_deficit, nicu_admission, recorded_by, recorded_by_id, recorded_ms.
std::string CanonicalOutcome(const OutcomeRecord& outcome);

// True when s is 64 lowercase hex characters.
bool IsSha256Hex(const std::string& s);

}  // namespace storage
}  // namespace fetal
