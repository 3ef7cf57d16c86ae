// Result rows -> records, for rows selected with the column lists of schema.h (in that order).
// Internal to fetal_storage. Pure functions.
#pragma once

#include "storage/sql.h"
#include "storage/store.h"

namespace fetal {
namespace storage {

// Also recomputes content_sha256. Corruption when the stored number lists do not parse.
StoreStatus RowToExam(const SqlRow& row, ExamRecord* out);
// Also recomputes content_sha256. Corruption when the stored values do not parse.
StoreStatus RowToOutcome(const SqlRow& row, OutcomeRecord* out);
void RowToAudit(const SqlRow& row, AuditEvent* out);
// Replaces *out with the events of `rows`, in their order.
void RowsToAudit(const SqlRows& rows, std::vector<AuditEvent>* out);
void RowToToken(const SqlRow& row, TokenRecord* out);
void RowToCheckpoint(const SqlRow& row, SignedCheckpoint* out);
// Reads the bundle too when the row has it (kModelColumns + ", bundle").
void RowToModel(const SqlRow& row, ModelRecord* out);

}  // namespace storage
}  // namespace fetal
