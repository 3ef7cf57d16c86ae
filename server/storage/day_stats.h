// The monitoring aggregates table (exam_day_stats): its columns, the one upsert that adds a
// DayCounts to a row, and what one exam or one outcome change adds. Internal to fetal_storage.
//
// A row is keyed by (day, model_version, submitted_by_id, runtime_build); every other column is
// a count or a sum, so adding to a row commutes and an outcome's correction is the difference
// of two contributions. docs/storage.md "Monitoring aggregates" lists the columns.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/sql.h"
#include "storage/store.h"

namespace fetal {
namespace storage {

// CREATE TABLE IF NOT EXISTS exam_day_stats (...).
std::string DayStatsTableSql();

// INSERT ... ON CONFLICT DO UPDATE adding every column; parameters from DayStatsParams.
const std::string& DayStatsUpsertSql();
std::vector<SqlValue> DayStatsParams(int64_t day, int64_t model_version, int64_t submitted_by_id,
                                     const std::string& runtime_build, const DayCounts& add);

// "SUM(exams), SUM(client_0), ..." in the order RowToDayCounts reads them from `first`.
const std::string& DayStatsSumColumns();
void RowToDayCounts(const SqlRow& row, size_t first, DayCounts* out);

// The UTC day of the exam's client_time (days since 1970-01-01); the day of `fallback_ms` when
// the text does not parse (exams the HTTP layer did not validate, e.g. from tests).
int64_t ExamDay(const std::string& client_timestamp, int64_t fallback_ms);

// What one stored exam adds.
DayCounts ExamContribution(const ExamInput& exam);
// What an exam's outcome adds (final reading `reading` against the exam's server result);
// an outcome replaced by a correction is taken away with Subtract.
DayCounts OutcomeContribution(const ExamInput& exam, int reading);
DayCounts Subtract(const DayCounts& a, const DayCounts& b);

}  // namespace storage
}  // namespace fetal
