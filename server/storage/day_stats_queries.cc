// SqlStore: reading the monitoring aggregates (day_stats.h), summed over submitters in C++.
#include "storage/day_stats.h"
#include "storage/sql_store.h"

namespace fetal {
namespace storage {
namespace {
constexpr int64_t kMaxDays = 3700;  // about ten years: a bounded answer
}  // namespace

StoreStatus SqlStore::QueryDayStats(const DayStatsFilter& filter, std::vector<DayStats>* out) {
  if (filter.from_day > filter.to_day) {
    return StoreStatus::InvalidArgument("from must not be after to", "from");
  }
  if (filter.to_day - filter.from_day >= kMaxDays) {
    return StoreStatus::InvalidArgument("the range spans more than 3700 days", "from");
  }
  std::string sql = std::string(kDayStatsSelect) + " WHERE day >= $1 AND day <= $2";
  std::vector<SqlValue> params = {SqlValue::Int(filter.from_day), SqlValue::Int(filter.to_day)};
  if (filter.model_version) {
    params.push_back(SqlValue::Int(*filter.model_version));
    sql += " AND model_version = $" + std::to_string(params.size());
  }
  if (filter.submitted_by_id) {
    params.push_back(SqlValue::Int(*filter.submitted_by_id));
    sql += " AND submitted_by_id = $" + std::to_string(params.size());
  }
  sql += " ORDER BY day, model_version, runtime_build";
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) { return c->Exec(sql, params, &rows); });
  if (!s.ok()) return s;
  // Rows of one (day, model_version, runtime_build), one per submitter, come together: summed.
  std::vector<DayStats> result;
  DayCounts row_counts;
  for (const SqlRow& row : rows) {
    const int64_t day = row[0].AsInt(), version = row[1].AsInt();
    const std::string& build = row[2].AsText();
    if (!UnpackDayCounts(row[3].AsBlob(), &row_counts)) {
      return StoreStatus::Corruption("exam_day_stats: a row's counts have the wrong length");
    }
    if (result.empty() || result.back().day != day || result.back().model_version != version ||
        result.back().runtime_build != build) {
      result.push_back(DayStats{day, version, build, DayCounts()});
    }
    result.back().counts.Add(row_counts);
  }
  *out = std::move(result);
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
