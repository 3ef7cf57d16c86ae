#include "storage/audit_chain.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <vector>

#include "storage/canonical.h"
#include "storage/rows.h"
#include "storage/schema.h"

namespace fetal {
namespace storage {
namespace {

// Exam id named by an exam.submit event's object ("exam/42"); 0 when malformed.
int64_t ExamIdFromObject(const std::string& object) {
  if (object.size() < 6 || object.compare(0, 5, "exam/") != 0) return 0;
  int64_t v = 0;
  for (size_t i = 5; i < object.size(); ++i) {
    if (object[i] < '0' || object[i] > '9' || v > (int64_t{1} << 53)) return 0;
    v = v * 10 + (object[i] - '0');
  }
  return v;
}

StoreStatus VerifyInSnapshot(SqlConn* c, AuditVerifyResult* result) {
  constexpr int kChunk = 2000;
  AuditVerifyResult r;
  r.head_hash = kGenesisHash;
  // Every problem is recorded and the walk goes on, so one bad event never hides a later one.
  auto report = [&](int64_t seq, std::string problem) {
    if (r.problem_count == 0 || seq < r.first_bad_seq) {
      r.first_bad_seq = seq;
      r.problem = problem;
    }
    ++r.problem_count;
    if (r.problems.size() < kMaxListedAuditProblems)
      r.problems.push_back(AuditProblem{seq, std::move(problem)});
  };
  std::set<int64_t> covered_exams;
  int64_t expected_seq = 1;
  for (;;) {
    SqlRows rows;
    StoreStatus s = c->Exec(std::string("SELECT ") + kAuditColumns +
                                " FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
                            {SqlValue::Int(expected_seq), SqlValue::Int(kChunk)}, &rows);
    if (!s.ok()) return s;
    if (rows.empty()) break;
    std::vector<AuditEvent> events(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) RowToAudit(rows[i], &events[i]);

    // The exams these events cover, fetched by id range (ids grow with seq).
    std::unordered_map<int64_t, SqlRow> exams;
    int64_t lo = INT64_MAX, hi = 0;
    for (const auto& e : events) {
      if (e.entry.action != "exam.submit") continue;
      int64_t id = ExamIdFromObject(e.entry.object);
      if (id <= 0) continue;
      lo = std::min(lo, id);
      hi = std::max(hi, id);
    }
    if (hi > 0) {
      SqlRows exam_rows;
      if (hi - lo <= 4 * kChunk) {
        s = c->Exec(std::string("SELECT ") + kExamColumns +
                        " FROM exams WHERE id >= $1 AND id <= $2",
                    {SqlValue::Int(lo), SqlValue::Int(hi)}, &exam_rows);
        if (!s.ok()) return s;
      } else {
        for (const auto& e : events) {
          if (e.entry.action != "exam.submit") continue;
          int64_t id = ExamIdFromObject(e.entry.object);
          if (id <= 0) continue;
          s = c->Exec(std::string("SELECT ") + kExamColumns + " FROM exams WHERE id = $1",
                      {SqlValue::Int(id)}, &exam_rows);
          if (!s.ok()) return s;
        }
      }
      for (auto& row : exam_rows) exams[row[0].AsInt()] = std::move(row);
    }

    for (const auto& e : events) {
      if (e.seq != expected_seq) {
        // A gap: the link of the event after it cannot hold either; report the gap once.
        report(expected_seq, e.seq == expected_seq + 1
                                 ? "audit event " + std::to_string(expected_seq) + " is missing"
                                 : "audit events " + std::to_string(expected_seq) + " to " +
                                       std::to_string(e.seq - 1) + " are missing");
      } else if (e.prev_hash != r.head_hash) {
        report(e.seq, "prev_hash does not equal the hash of event " + std::to_string(e.seq - 1));
      }
      std::string hash = AuditEventHash(e.prev_hash, e.seq, e.time_ms, e.entry);
      if (hash != e.hash)
        report(e.seq, "stored hash does not match the recomputed hash of the event");
      if (e.entry.action == "exam.submit") {
        int64_t id = ExamIdFromObject(e.entry.object);
        auto it = exams.find(id);
        ExamRecord exam;
        StoreStatus read;
        if (id <= 0 || it == exams.end()) {
          report(e.seq, "the exam this event records (" + e.entry.object + ") is missing");
        } else if (!(read = RowToExam(it->second, &exam)).ok()) {
          // Unreadable: named here, and the walk goes on past it.
          report(e.seq, "exam " + std::to_string(id) + " is unreadable: " + read.message());
          covered_exams.insert(id);
        } else {
          if (exam.audit_seq != e.seq) {
            report(e.seq, "exam " + std::to_string(id) + " points at audit seq " +
                              std::to_string(exam.audit_seq));
          } else if ("exam_sha256=" + exam.content_sha256 != e.entry.details) {
            report(e.seq, "exam " + std::to_string(id) +
                              " content does not match the hash recorded in this event");
          }
          covered_exams.insert(id);
        }
      }
      // The walk goes on from what is stored, so the next event's link is judged on its own.
      r.head_hash = e.hash;
      r.length = e.seq;
      expected_seq = e.seq + 1;
    }
    if (rows.size() < static_cast<size_t>(kChunk)) break;
  }
  // Every exam row must be covered by exactly one event; a row added behind the store's back
  // is reported at the seq it claims (or just past the head).
  SqlRows all;
  StoreStatus s = c->Exec("SELECT id, audit_seq FROM exams ORDER BY id", {}, &all);
  if (!s.ok()) return s;
  if (all.size() != covered_exams.size()) {
    for (const auto& row : all) {
      int64_t id = row[0].AsInt();
      if (covered_exams.count(id)) continue;
      int64_t seq = row[1].AsInt();
      if (seq < 1 || seq > r.length) seq = r.length + 1;
      report(seq, "exam " + std::to_string(id) + " is not recorded by any audit event");
    }
  }
  r.ok = r.problem_count == 0;
  *result = std::move(r);
  return StoreStatus::Ok();
}

}  // namespace

StoreStatus StartChain(WriteTxn& txn) {
  StoreStatus s;
  if (txn.dialect == Dialect::kPostgres) {
    s = txn.conn->Exec(kChainLockSql);
    if (!s.ok()) return s;
  }
  SqlRows head;
  s = txn.conn->Exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", {}, &head);
  if (!s.ok()) return s;
  txn.head.seq = head.empty() ? 0 : head[0][0].AsInt();
  txn.head.hash = head.empty() ? kGenesisHash : head[0][1].AsText();
  return StoreStatus::Ok();
}

StoreStatus AppendEvent(WriteTxn& txn, const AuditEntry& entry, AuditEvent* out) {
  const int64_t seq = txn.head.seq + 1;
  std::string hash = AuditEventHash(txn.head.hash, seq, txn.now_ms, entry);
  StoreStatus s =
      txn.Exec(std::string("INSERT INTO audit (") + kAuditColumns +
                   ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
               {SqlValue::Int(seq), SqlValue::Int(txn.now_ms), SqlValue::Text(entry.actor.name),
                SqlValue::Text(entry.actor.role), SqlValue::Text(entry.actor.request_id),
                SqlValue::Text(entry.action), SqlValue::Text(entry.object),
                SqlValue::Text(entry.outcome), SqlValue::Text(entry.details),
                SqlValue::Text(txn.head.hash), SqlValue::Text(hash)},
               nullptr);
  if (!s.ok()) return s;
  if (out) {
    out->seq = seq;
    out->time_ms = txn.now_ms;
    out->entry = entry;
    out->prev_hash = txn.head.hash;
    out->hash = hash;
  }
  txn.head.seq = seq;
  txn.head.hash = std::move(hash);
  return StoreStatus::Ok();
}

StoreStatus VerifyChain(Dialect dialect, SqlConn* conn, AuditVerifyResult* result) {
  // One snapshot for the whole walk: concurrent appends neither break nor extend it.
  StoreStatus s = conn->Exec(
      dialect == Dialect::kPostgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
  if (!s.ok()) return s;
  s = VerifyInSnapshot(conn, result);
  StoreStatus end = conn->Exec("ROLLBACK");
  return s.ok() ? end : s;
}

}  // namespace storage
}  // namespace fetal
