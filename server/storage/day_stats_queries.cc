// SqlStore: reading the monitoring aggregates (day_stats.h), summed over submitters.
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
  std::string sql = "SELECT day, model_version, runtime_build, " + DayStatsSumColumns() +
                    " FROM exam_day_stats WHERE day >= $1 AND day <= $2";
  std::vector<SqlValue> params = {SqlValue::Int(filter.from_day), SqlValue::Int(filter.to_day)};
  if (filter.model_version) {
    params.push_back(SqlValue::Int(*filter.model_version));
    sql += " AND model_version = $" + std::to_string(params.size());
  }
  if (filter.submitted_by_id) {
    params.push_back(SqlValue::Int(*filter.submitted_by_id));
    sql += " AND submitted_by_id = $" + std::to_string(params.size());
  }
  sql += " GROUP BY day, model_version, runtime_build ORDER BY day, model_version, runtime_build";
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) { return c->Exec(sql, params, &rows); });
  if (!s.ok()) return s;
  std::vector<DayStats> result(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    result[i].day = rows[i][0].AsInt();
    result[i].model_version = rows[i][1].AsInt();
    result[i].runtime_build = rows[i][2].AsText();
    RowToDayCounts(rows[i], 3, &result[i].counts);
  }
  *out = std::move(result);
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
