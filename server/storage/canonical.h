// Canonical byte forms that the audit chain hashes (specified for auditors in docs/storage.md).
//
// Every field is written as  name "=" <decimal byte length> ":" <bytes> "\n"  after a version
// line, so no value can be confused with a delimiter and any language recomputes it exactly.
// Doubles are printed with printf("%.17g"), which round-trips every IEEE double.
#pragma once

#include <cstdint>
#include <string>

#include "storage/store.h"

namespace fetal {
namespace storage {

inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string FormatDouble(double v);                     // "%.17g"
std::string FormatDoubles(const double* v, int count);  // comma-joined FormatDouble
// Parses FormatDoubles output back; false when the count or a number is wrong.
bool ParseDoubles(const std::string& text, double* v, int count);

// "fetal-audit-v1\n" + fields seq, time_ms, actor, role, request_id, action, object, outcome,
// details.
std::string CanonicalAuditEvent(int64_t seq, int64_t time_ms, const AuditEntry& entry);
// Hex SHA-256 over prev_hash (64 ASCII hex characters) followed by the canonical event.
std::string AuditEventHash(const std::string& prev_hash, int64_t seq, int64_t time_ms,
                           const AuditEntry& entry);

// "fetal-exam-v1\n" + fields id, submitted_by, client_exam_id, body_sha256, features,
// client_class, client_probabilities, model_version, server_class, server_probabilities,
// agreement (0|1), max_abs_diff, patient_ref, note, client_timestamp, received_ms.
std::string CanonicalExam(const ExamRecord& exam);
std::string ExamContentHash(const ExamRecord& exam);  // hex SHA-256 of CanonicalExam

// True when s is 64 lowercase hex characters.
bool IsSha256Hex(const std::string& s);

}  // namespace storage
}  // namespace fetal
