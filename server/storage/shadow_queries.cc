// SqlStore: shadow evaluation (store.h "Shadow evaluation"). Starting and stopping a shadow are
// audited; the results are not (derived data: an exam already in the chain classified by a
// registered bundle, recomputable by a replay).
#include <algorithm>
#include <cmath>

#include "storage/audit_chain.h"
#include "storage/canonical.h"
#include "storage/rows.h"
#include "storage/schema.h"
#include "storage/shadow_tables.h"
#include "storage/sql_store.h"

namespace fetal {
namespace storage {
namespace {

constexpr size_t kMaxResultsPerPut = 1000;

StoreStatus CheckResult(const ShadowResult& r, size_t i) {
  const std::string field = "results[" + std::to_string(i) + "]";
  if (r.version < 1 || r.exam_id < 1) {
    return StoreStatus::InvalidArgument(field + ": version and exam id must be positive", field);
  }
  if (r.shadow_class < 0 || r.shadow_class >= kNumClasses) {
    return StoreStatus::InvalidArgument(field + ": class must be 0, 1 or 2", field);
  }
  for (double p : r.probabilities) {
    if (!std::isfinite(p)) {
      return StoreStatus::InvalidArgument(field + ": probabilities must be finite", field);
    }
  }
  return StoreStatus::Ok();
}

}  // namespace

StoreStatus SqlStore::StartShadow(int64_t version, const Actor& by) {
  return committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        StoreStatus st = CheckModelExists(txn, version);
        if (!st.ok()) return st;
        SqlRows rows;
        st = txn.Exec("SELECT version FROM shadow_models ORDER BY version", {}, &rows);
        if (!st.ok()) return st;
        for (const auto& r : rows) {
          if (r[0].AsInt() == version) return StoreStatus::Ok();
        }
        if (rows.size() >= static_cast<size_t>(kMaxShadows)) {
          std::string listed;
          for (const auto& r : rows) listed += (listed.empty() ? "" : ", ") + r[0].AsText();
          return StoreStatus::Conflict("at most " + std::to_string(kMaxShadows) +
                                           " versions may be in shadow at once; in shadow now: " +
                                           listed + " (stop one with DELETE)",
                                       "version");
        }
        st = txn.Exec(
            "INSERT INTO shadow_models (version, started_ms, started_by) "
            "VALUES ($1, $2, $3)",
            {SqlValue::Int(version), SqlValue::Int(txn.now_ms), SqlValue::Text(by.name)}, nullptr);
        if (!st.ok()) return st;
        return AppendEvent(txn,
                           AuditEntry{by, "model.shadow.start", "model/" + std::to_string(version),
                                      "ok", ""},
                           nullptr);
      },
      Isolation::kSavepoint);
}

StoreStatus SqlStore::StopShadow(int64_t version, const Actor& by) {
  return committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        SqlRows rows;
        StoreStatus st = txn.Exec("SELECT version FROM shadow_models WHERE version = $1",
                                  {SqlValue::Int(version)}, &rows);
        if (!st.ok()) return st;
        if (rows.empty()) {
          return StoreStatus::NotFound("model version " + std::to_string(version) +
                                       " is not in shadow");
        }
        st = txn.Exec("DELETE FROM shadow_models WHERE version = $1", {SqlValue::Int(version)},
                      nullptr);
        if (!st.ok()) return st;
        return AppendEvent(txn,
                           AuditEntry{by, "model.shadow.stop", "model/" + std::to_string(version),
                                      "ok", ""},
                           nullptr);
      },
      Isolation::kSavepoint);
}

StoreStatus SqlStore::ListShadows(std::vector<ShadowModel>* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec("SELECT version, started_ms, started_by FROM shadow_models ORDER BY version", {},
                   &rows);
  });
  if (!s.ok()) return s;
  out->clear();
  for (const auto& r : rows) out->push_back(ShadowModel{r[0].AsInt(), r[1].AsInt(), r[2].AsText()});
  return StoreStatus::Ok();
}

StoreStatus SqlStore::PutShadowResults(const std::vector<ShadowResult>& results, int64_t* stored) {
  if (results.size() > kMaxResultsPerPut) {
    return StoreStatus::InvalidArgument("at most 1000 shadow results per call", "results");
  }
  for (size_t i = 0; i < results.size(); ++i) {
    StoreStatus s = CheckResult(results[i], i);
    if (!s.ok()) return s;
  }
  int64_t count = 0;
  if (results.empty()) {
    *stored = 0;
    return StoreStatus::Ok();
  }
  StoreStatus s = committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        count = 0;
        for (const ShadowResult& r : results) {
          // Look first rather than INSERT ... ON CONFLICT: the caller learns what was new, and
          // both backends take the same statements.
          SqlRows rows;
          StoreStatus st =
              txn.Exec("SELECT 1 FROM shadow_results WHERE shadow_version = $1 AND exam_id = $2",
                       {SqlValue::Int(r.version), SqlValue::Int(r.exam_id)}, &rows);
          if (!st.ok()) return st;
          if (!rows.empty()) continue;
          st = txn.Exec(std::string("INSERT INTO shadow_results (") + kShadowResultColumns +
                            ") VALUES ($1, $2, $3, $4, $5)",
                        {SqlValue::Int(r.version), SqlValue::Int(r.exam_id),
                         SqlValue::Int(r.shadow_class),
                         SqlValue::Text(FormatDoubles(r.probabilities.data(), kNumClasses)),
                         SqlValue::Int(txn.now_ms)},
                        nullptr);
          if (!st.ok()) return st;
          ++count;
        }
        return StoreStatus::Ok();
      },
      Isolation::kSavepoint);
  if (s.ok()) *stored = count;
  return s;
}

StoreStatus SqlStore::ListShadowPairs(int64_t version, int64_t from_ms, int64_t to_ms,
                                      int64_t after_exam_id, int limit,
                                      std::vector<ShadowPair>* out) {
  if (limit < 1 || limit > 1000) {
    return StoreStatus::InvalidArgument("limit must be 1 to 1000", "limit");
  }
  const std::string sql =
      std::string("SELECT ") + kExamColumns + ", " + kShadowResultColumns +
      ", (SELECT o.final_reading FROM exam_outcomes o WHERE o.exam_id = s.exam_id "
      "ORDER BY o.version DESC LIMIT 1) "
      "FROM shadow_results s JOIN exams ON exams.id = s.exam_id "
      "WHERE s.shadow_version = $1 AND s.exam_id > $2 AND received_ms >= $3 AND received_ms < $4 "
      "ORDER BY s.exam_id LIMIT $5";
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(sql,
                   {SqlValue::Int(version), SqlValue::Int(after_exam_id), SqlValue::Int(from_ms),
                    SqlValue::Int(to_ms), SqlValue::Int(limit)},
                   &rows);
  });
  if (!s.ok()) return s;
  std::vector<ShadowPair> pairs(rows.size());
  constexpr size_t kFirst = 21;  // columns in kExamColumns
  for (size_t i = 0; i < rows.size(); ++i) {
    const SqlRow& r = rows[i];
    s = RowToExam(r, &pairs[i].exam);
    if (!s.ok()) return s;
    ShadowResult& sh = pairs[i].shadow;
    sh.version = r[kFirst].AsInt();
    sh.exam_id = r[kFirst + 1].AsInt();
    sh.shadow_class = static_cast<int>(r[kFirst + 2].AsInt());
    sh.evaluated_ms = r[kFirst + 4].AsInt();
    if (!ParseDoubles(r[kFirst + 3].AsText(), sh.probabilities.data(), kNumClasses) ||
        sh.shadow_class < 0 || sh.shadow_class >= kNumClasses) {
      return StoreStatus::Corruption("shadow result of version " + std::to_string(version) +
                                     " for exam " + std::to_string(sh.exam_id) + " does not parse");
    }
    const SqlValue& reading = r[kFirst + 5];
    if (reading.type != SqlValue::Type::kNull) {
      pairs[i].final_reading = static_cast<int>(reading.AsInt());
    }
  }
  *out = std::move(pairs);
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
