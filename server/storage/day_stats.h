// The monitoring aggregates table (exam_day_stats): its columns, the one upsert that adds a
// DayCounts to a row, and what one exam or one outcome change adds. Internal to fetal_storage.
//
// A row is keyed by (day, model_version, submitted_by_id, runtime_build); every counter is a
// count or a sum, so adding to a row commutes and an outcome's correction is the difference of
// two contributions. docs/storage.md "Monitoring aggregates" lists the counters.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "storage/sql.h"
#include "storage/store.h"

namespace fetal {
namespace storage {

// The key of an aggregate row.
struct DayStatsKey {
  int64_t day = 0;
  int64_t model_version = 0;
  int64_t submitted_by_id = 0;
  std::string runtime_build;

  bool operator<(const DayStatsKey& o) const {
    return std::tie(day, model_version, submitted_by_id, runtime_build) <
           std::tie(o.day, o.model_version, o.submitted_by_id, o.runtime_build);
  }
};

// Contributions not yet written, summed per row: a write group (WriteTxn::day_stats) or a page
// of the rebuild collects them and FlushDayStats writes each row once.
using PendingDayStats = std::map<DayStatsKey, DayCounts>;

// Adds every pending contribution to its row (creating it) and clears `pending`: reads the
// row's packed counts, adds, writes them back. The caller's transaction must hold the write lock
// the store takes for every write (SQLite's one writer; PostgreSQL's chain lock, audit_chain.h),
// so no other writer can interleave.
StoreStatus FlushDayStats(SqlConn* conn, PendingDayStats* pending);

// CREATE TABLE IF NOT EXISTS exam_day_stats (...): the key and one `counts` column holding every
// counter of DayCounts packed (PackDayCounts). Summing the rows of a year of windows is then a
// read of one value per row and additions in C++: several times faster on both backends than
// SQL summing some 300 count columns.
std::string DayStatsTableSql(Dialect dialect);

// Every counter of `c` in the table's order (counts as zigzag varints, sums as 8-byte IEEE
// doubles, little-endian), and back; Unpack fails (false) on bytes that do not parse to exactly
// one DayCounts.
std::string PackDayCounts(const DayCounts& c);
bool UnpackDayCounts(const std::string& bytes, DayCounts* out);

// SELECT day, model_version, runtime_build, counts FROM exam_day_stats ..., and the sum of rows
// sharing (day, model_version, runtime_build) as they come in that order.
inline constexpr char kDayStatsSelect[] =
    "SELECT day, model_version, runtime_build, counts FROM exam_day_stats";

// What one stored exam adds.
DayCounts ExamContribution(const ExamInput& exam);
// What an exam's outcome adds (final reading `reading` against the exam's server result);
// an outcome replaced by a correction is taken away with Subtract.
DayCounts OutcomeContribution(const ExamInput& exam, int reading);
DayCounts Subtract(const DayCounts& a, const DayCounts& b);

}  // namespace storage
}  // namespace fetal
