// SqlStore: exam outcomes. Each recording is a new version with its exam.outcome audit event;
// the exam's monitoring aggregates move from the previous reading to the new one in the same
// transaction.
#include <cmath>

#include "fetal/sha256.h"
#include "storage/audit_chain.h"
#include "storage/canonical.h"
#include "storage/day_stats.h"
#include "storage/rows.h"
#include "storage/schema.h"
#include "storage/sql_store.h"

namespace fetal {
namespace storage {
namespace {

bool SameInput(const OutcomeInput& a, const OutcomeInput& b) {
  return a.final_reading == b.final_reading && a.apgar_5min == b.apgar_5min &&
         a.umbilical_ph == b.umbilical_ph && a.base_deficit == b.base_deficit &&
         a.nicu_admission == b.nicu_admission;
}

StoreStatus CheckOutcome(const OutcomeInput& in) {
  if (in.final_reading < 0 || in.final_reading >= kNumClasses) {
    return StoreStatus::InvalidArgument("final_reading must be 0, 1 or 2", "final_reading");
  }
  if (in.apgar_5min && (*in.apgar_5min < 0 || *in.apgar_5min > 10)) {
    return StoreStatus::InvalidArgument("apgar_5min must be 0 to 10", "apgar_5min");
  }
  if (in.umbilical_ph &&
      (!std::isfinite(*in.umbilical_ph) || *in.umbilical_ph < 6.5 || *in.umbilical_ph > 7.8)) {
    return StoreStatus::InvalidArgument("umbilical_ph must be 6.5 to 7.8", "umbilical_ph");
  }
  if (in.base_deficit &&
      (!std::isfinite(*in.base_deficit) || *in.base_deficit < -5 || *in.base_deficit > 30)) {
    return StoreStatus::InvalidArgument("base_deficit must be -5 to 30", "base_deficit");
  }
  return StoreStatus::Ok();
}

StoreStatus LatestOutcome(SqlConn* c, int64_t exam_id, std::optional<OutcomeRecord>* out,
                          WriteTxn* txn) {
  SqlRows rows;
  const std::string sql = std::string("SELECT ") + kOutcomeColumns +
                          " FROM exam_outcomes WHERE exam_id = $1 ORDER BY version DESC LIMIT 1";
  StoreStatus s = txn ? txn->Exec(sql, {SqlValue::Int(exam_id)}, &rows)
                      : c->Exec(sql, {SqlValue::Int(exam_id)}, &rows);
  if (!s.ok()) return s;
  out->reset();
  if (rows.empty()) return StoreStatus::Ok();
  OutcomeRecord o;
  s = RowToOutcome(rows[0], &o);
  if (s.ok()) *out = std::move(o);
  return s;
}

}  // namespace

StoreStatus SqlStore::RecordOutcome(int64_t exam_id, const OutcomeInput& outcome, const Actor& by,
                                    OutcomeResult* out) {
  StoreStatus s = CheckOutcome(outcome);
  if (!s.ok()) return s;
  OutcomeResult result;
  s = committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        // Every check and read first: a refusal has written nothing.
        SqlRows rows;
        StoreStatus st =
            txn.Exec(std::string("SELECT ") + kExamColumns + " FROM exams WHERE id = $1",
                     {SqlValue::Int(exam_id)}, &rows);
        if (!st.ok()) return st;
        if (rows.empty())
          return StoreStatus::NotFound("no exam with id " + std::to_string(exam_id));
        ExamRecord exam;
        st = RowToExam(rows[0], &exam);
        if (!st.ok()) return st;
        std::optional<OutcomeRecord> latest;
        st = LatestOutcome(nullptr, exam_id, &latest, &txn);
        if (!st.ok()) return st;
        if (latest && SameInput(latest->input, outcome)) {
          result.outcome = std::move(*latest);
          result.replayed = true;
          return StoreStatus::Ok();
        }
        OutcomeRecord rec;
        rec.exam_id = exam_id;
        rec.version = latest ? latest->version + 1 : 1;
        rec.input = outcome;
        rec.recorded_by = by.name;
        rec.recorded_by_id = by.principal_id;
        rec.recorded_ms = txn.now_ms;
        rec.audit_seq = txn.head.seq + 1;
        const std::string canonical = CanonicalOutcome(rec);
        rec.content_sha256 = Sha256Hex(canonical.data(), canonical.size());
        const OutcomeText t = FormatOutcome(outcome);
        st = txn.Exec(std::string("INSERT INTO exam_outcomes (") + kOutcomeColumns +
                          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                      {SqlValue::Int(exam_id), SqlValue::Int(rec.version),
                       SqlValue::Int(outcome.final_reading), SqlValue::Text(t.apgar_5min),
                       SqlValue::Text(t.umbilical_ph), SqlValue::Text(t.base_deficit),
                       SqlValue::Text(t.nicu_admission), SqlValue::Text(by.name),
                       SqlValue::Int(by.principal_id), SqlValue::Int(rec.recorded_ms),
                       SqlValue::Int(rec.audit_seq)},
                      nullptr);
        if (!st.ok()) return st;
        AuditEntry e{by, "exam.outcome", "exam/" + std::to_string(exam_id), "ok",
                     "outcome_version=" + std::to_string(rec.version) +
                         " outcome_sha256=" + rec.content_sha256};
        st = AppendEvent(txn, e, nullptr);
        if (!st.ok()) return st;
        // Every stored exam is in the aggregates (the migration to version 5 added the older).
        DayCounts delta = OutcomeContribution(exam.input, outcome.final_reading);
        if (latest) {
          delta = Subtract(delta, OutcomeContribution(exam.input, latest->input.final_reading));
        }
        txn.day_stats[DayStatsKey{ExamDay(exam.input.client_timestamp, exam.received_ms),
                                  exam.input.model_version, exam.submitted_by_id,
                                  exam.input.runtime_build}]
            .Add(delta);
        result.outcome = std::move(rec);
        result.replayed = false;
        return StoreStatus::Ok();
      },
      Isolation::kChecksBeforeWrites);
  if (s.ok()) *out = std::move(result);
  return s;
}

StoreStatus SqlStore::GetLatestOutcome(int64_t exam_id, std::optional<OutcomeRecord>* out) {
  std::optional<OutcomeRecord> latest;
  StoreStatus s =
      readers_.Run([&](SqlConn* c) { return LatestOutcome(c, exam_id, &latest, nullptr); });
  if (s.ok()) *out = std::move(latest);
  return s;
}

StoreStatus SqlStore::ListOutcomes(int64_t exam_id, std::vector<OutcomeRecord>* out) {
  std::vector<OutcomeRecord> versions;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    versions.clear();  // a retried read starts over
    SqlRows rows;
    StoreStatus st = c->Exec(std::string("SELECT ") + kOutcomeColumns +
                                 " FROM exam_outcomes WHERE exam_id = $1 ORDER BY version",
                             {SqlValue::Int(exam_id)}, &rows);
    for (size_t i = 0; st.ok() && i < rows.size(); ++i) {
      OutcomeRecord o;
      st = RowToOutcome(rows[i], &o);
      if (st.ok()) versions.push_back(std::move(o));
    }
    return st;
  });
  if (s.ok()) *out = std::move(versions);
  return s;
}

}  // namespace storage
}  // namespace fetal
