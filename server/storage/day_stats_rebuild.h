// The monitoring aggregates (exam_day_stats) rebuilt from what the database stores: every exam's
// contribution (day_stats.h ExamContribution) and its latest outcome's. A migration step runs it
// (schema.h), so exams stored before the aggregates existed, or binned before a fix, count.
//
// The exam row keeps the classes, probabilities, agreement, client time, submitter and runtime
// build, but not what monitoring counts beyond them (ExamSignals: OOD, training range, validator
// warnings, FIGO, drift bins). Those are re-derived by classifying the stored features again with
// the exam's model version from the registry (the same code and model give the same result).
// An exam whose version's bundle cannot be read or that the validator now refuses is counted
// without them (its figures for volume, classes, probabilities, disagreement and outcomes stand;
// its OOD, range, warning, FIGO and drift counts are missing); how many is returned and kept in
// storage_meta under "day_stats_exams_without_signals".
//
// Thread-safety: runs on the connection it is given, inside the caller's transaction.
#pragma once

#include <cstdint>

#include "storage/sql.h"

namespace fetal {
namespace storage {

struct DayStatsRebuild {
  int64_t exams = 0;
  int64_t outcomes = 0;
  int64_t without_signals = 0;
};

// Replaces every row of exam_day_stats. Reads the exams in pages of `batch_exams` (by id), so
// memory stays bounded by one page and its aggregate rows whatever the table's size.
StoreStatus RebuildDayStats(SqlConn* conn, int64_t batch_exams, DayStatsRebuild* out);

}  // namespace storage
}  // namespace fetal
