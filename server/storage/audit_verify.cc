#include "storage/audit_verify.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/canonical.h"
#include "storage/rows.h"
#include "storage/schema.h"

namespace fetal {
namespace storage {
namespace {

constexpr int kPage = 2000;                   // events or exams read per statement
constexpr int kCheckpointPage = 500;          // stored checkpoints read per statement
constexpr int64_t kMaxRangeRead = 4 * kPage;  // larger id spans are read row by row
constexpr size_t kExamAuditSeq = 16;          // audit_seq's place in kExamColumns

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

std::string Short(const std::string& hash) { return hash.substr(0, 12) + "…"; }

// One walk: the problems found so far and where the anchors stand.
class Walk {
 public:
  Walk(Dialect dialect, SqlConn* conn, const VerifyOptions& options)
      : dialect_(dialect), conn_(conn), options_(options), given_(options.anchors) {
    std::stable_sort(given_.begin(), given_.end(),
                     [](const AuditAnchor& a, const AuditAnchor& b) { return a.seq < b.seq; });
  }

  StoreStatus Run(AuditVerifyResult* out) {
    StoreStatus s = StartStoredCheckpoints();
    if (!s.ok()) return s;
    s = WalkEvents();
    if (!s.ok()) return s;
    // Anchors beyond the end: the events they fixed are gone.
    s = CheckAnchorsUpTo(INT64_MAX);
    if (!s.ok()) return s;
    s = CheckEveryExamIsCovered();
    if (!s.ok()) return s;
    s = CheckEveryOutcomeIsCovered();
    if (!s.ok()) return s;
    Finish(out);
    return StoreStatus::Ok();
  }

 private:
  void Report(int64_t seq, std::string problem) {
    ++result_.problem_count;
    if (result_.problem_count == 1 || seq < result_.first_bad_seq) {
      result_.first_bad_seq = seq;
      result_.problem = problem;
    }
    if (result_.problems.size() < kMaxListedAuditProblems) {
      result_.problems.push_back(AuditProblem{seq, std::move(problem)});
    }
  }

  // --- anchors: the given ones (sorted) merged with stored checkpoints (read in pages) ---

  StoreStatus StartStoredCheckpoints() {
    if (!options_.trust) return StoreStatus::Ok();
    // A database from before checkpoints were stored has no such table; it then has none.
    SqlRows rows;
    StoreStatus s = conn_->Exec(
        dialect_ == Dialect::kSqlite
            ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = "
              "'audit_checkpoints'"
            : "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = 'audit_checkpoints' "
              "AND schemaname = ANY (current_schemas(false))",
        {}, &rows);
    if (!s.ok()) return s;
    stored_enabled_ = !rows.empty() && rows[0].at(0).AsInt() > 0;
    return StoreStatus::Ok();
  }

  // Fills stored_ with the next page of trusted stored checkpoints, judging each; *more is false
  // at the end.
  StoreStatus NextStoredPage(bool* more) {
    *more = false;
    if (!stored_enabled_ || stored_done_) return StoreStatus::Ok();
    SqlRows rows;
    StoreStatus s = conn_->Exec(std::string("SELECT ") + kCheckpointColumns +
                                    " FROM audit_checkpoints WHERE seq > $1 OR (seq = $1 AND "
                                    "id > $2) ORDER BY seq, id LIMIT $3",
                                {SqlValue::Int(stored_after_seq_), SqlValue::Int(stored_after_id_),
                                 SqlValue::Int(kCheckpointPage)},
                                &rows);
    if (!s.ok()) return s;
    if (rows.size() < static_cast<size_t>(kCheckpointPage)) stored_done_ = true;
    stored_.clear();
    stored_next_ = 0;
    for (const SqlRow& row : rows) {
      SignedCheckpoint cp;
      RowToCheckpoint(row, &cp);
      stored_after_seq_ = cp.seq;
      stored_after_id_ = cp.id;
      const std::string label = "stored checkpoint " + std::to_string(cp.id);
      switch (options_.trust(cp)) {
        case CheckpointTrust::kTrusted:
          stored_.push_back(AuditAnchor{cp.seq, cp.hash, label});
          break;
        case CheckpointTrust::kUnknownKey: ++result_.checkpoints_not_checked; break;
        case CheckpointTrust::kBadSignature:
          Report(cp.seq, label + " (seq " + std::to_string(cp.seq) +
                             ") has a signature that does not verify with the audit key " +
                             Short(cp.key_id) + ": it was forged or altered");
          break;
      }
    }
    *more = !rows.empty();
    return StoreStatus::Ok();
  }

  // The next anchor in seq order (given or stored), or null when there is none.
  StoreStatus PeekAnchor(const AuditAnchor** anchor) {
    *anchor = nullptr;
    while (stored_next_ >= stored_.size()) {
      bool more = false;
      StoreStatus s = NextStoredPage(&more);
      if (!s.ok()) return s;
      if (!more) break;
    }
    const AuditAnchor* stored = stored_next_ < stored_.size() ? &stored_[stored_next_] : nullptr;
    const AuditAnchor* given = given_next_ < given_.size() ? &given_[given_next_] : nullptr;
    if (stored && given) *anchor = given->seq <= stored->seq ? given : stored;
    else *anchor = stored ? stored : given;
    return StoreStatus::Ok();
  }

  void PopAnchor(const AuditAnchor* anchor) {
    if (given_next_ < given_.size() && anchor == &given_[given_next_]) ++given_next_;
    else ++stored_next_;
  }

  // Settles every anchor with seq < limit. Called before each event (anchors in a gap), right
  // after it (anchors at its seq, compared with its stored hash) and with INT64_MAX at the end
  // (anchors past the last event).
  StoreStatus CheckAnchorsUpTo(int64_t limit) {
    for (;;) {
      const AuditAnchor* a = nullptr;
      StoreStatus s = PeekAnchor(&a);
      if (!s.ok()) return s;
      if (a == nullptr || a->seq >= limit) return StoreStatus::Ok();
      ++result_.anchors_checked;
      if (a->seq == 0) {
        if (a->hash != kGenesisHash) {
          Report(1, a->label + " fixes seq 0 with a hash other than the genesis value");
        }
      } else if (a->seq == last_seq_) {
        if (a->hash != last_hash_) {
          Report(a->seq, a->label + " fixed seq " + std::to_string(a->seq) + " with hash " +
                             Short(a->hash) + " but the chain has " + Short(last_hash_) +
                             " there: events up to seq " + std::to_string(a->seq) +
                             " were changed and re-hashed");
        }
      } else if (limit == INT64_MAX) {
        Report(last_seq_ + 1, a->label + " fixed seq " + std::to_string(a->seq) + " (hash " +
                                  Short(a->hash) + ") but the chain ends at seq " +
                                  std::to_string(last_seq_) + ": events were deleted from its end");
      } else {
        Report(a->seq, a->label + " fixed seq " + std::to_string(a->seq) +
                           ", which is missing from the chain");
      }
      PopAnchor(a);
    }
  }

  // --- events ---

  StoreStatus WalkEvents() {
    int64_t after = 0;
    for (;;) {
      SqlRows rows;
      StoreStatus s = conn_->Exec(std::string("SELECT ") + kAuditColumns +
                                      " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
                                  {SqlValue::Int(after), SqlValue::Int(kPage)}, &rows);
      if (!s.ok()) return s;
      if (rows.empty()) return StoreStatus::Ok();
      std::vector<AuditEvent> events(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) RowToAudit(rows[i], &events[i]);
      rows.clear();
      std::unordered_map<int64_t, SqlRow> exams;
      s = ReadCoveredExams(events, &exams);
      if (!s.ok()) return s;
      std::unordered_map<int64_t, SqlRow> outcomes;  // by audit_seq
      s = ReadCoveredOutcomes(events, &outcomes);
      if (!s.ok()) return s;
      for (const AuditEvent& e : events) {
        s = CheckEvent(e, exams, outcomes);
        if (!s.ok()) return s;
      }
      after = events.back().seq;
      if (events.size() < static_cast<size_t>(kPage)) return StoreStatus::Ok();
    }
  }

  // The exams a page of events covers, by id range (ids grow with seq) or one by one.
  StoreStatus ReadCoveredExams(const std::vector<AuditEvent>& events,
                               std::unordered_map<int64_t, SqlRow>* exams) {
    int64_t lo = INT64_MAX, hi = 0;
    for (const auto& e : events) {
      if (e.entry.action != "exam.submit") continue;
      int64_t id = ExamIdFromObject(e.entry.object);
      if (id <= 0) continue;
      lo = std::min(lo, id);
      hi = std::max(hi, id);
    }
    if (hi == 0) return StoreStatus::Ok();
    SqlRows rows;
    const std::string select = std::string("SELECT ") + kExamColumns + " FROM exams WHERE ";
    if (hi - lo <= kMaxRangeRead) {
      StoreStatus s = conn_->Exec(select + "id >= $1 AND id <= $2",
                                  {SqlValue::Int(lo), SqlValue::Int(hi)}, &rows);
      if (!s.ok()) return s;
    } else {
      for (const auto& e : events) {
        int64_t id = e.entry.action == "exam.submit" ? ExamIdFromObject(e.entry.object) : 0;
        if (id <= 0) continue;
        StoreStatus s = conn_->Exec(select + "id = $1", {SqlValue::Int(id)}, &rows);
        if (!s.ok()) return s;
      }
    }
    for (auto& row : rows) {
      int64_t id = row[0].AsInt();
      (*exams)[id] = std::move(row);
    }
    return StoreStatus::Ok();
  }

  // Outcome versions recorded by a page's exam.outcome events ("ok": refusals store none), by
  // the seq of their event (audit_seq is indexed).
  static bool RecordsOutcome(const AuditEvent& e) {
    return e.entry.action == "exam.outcome" && e.entry.outcome == "ok";
  }

  StoreStatus ReadCoveredOutcomes(const std::vector<AuditEvent>& events,
                                  std::unordered_map<int64_t, SqlRow>* outcomes) {
    int64_t lo = INT64_MAX, hi = 0;
    for (const auto& e : events) {
      if (!RecordsOutcome(e)) continue;
      lo = std::min(lo, e.seq);
      hi = std::max(hi, e.seq);
    }
    if (hi == 0) return StoreStatus::Ok();
    SqlRows rows;
    StoreStatus s = conn_->Exec(std::string("SELECT ") + kOutcomeColumns +
                                    " FROM exam_outcomes WHERE audit_seq >= $1 AND audit_seq <= $2",
                                {SqlValue::Int(lo), SqlValue::Int(hi)}, &rows);
    if (!s.ok()) return s;
    for (auto& row : rows) {
      const int64_t seq = row[10].AsInt();
      (*outcomes)[seq] = std::move(row);
    }
    return StoreStatus::Ok();
  }

  void CheckCoveredOutcome(const AuditEvent& e,
                           const std::unordered_map<int64_t, SqlRow>& outcomes) {
    auto it = outcomes.find(e.seq);
    if (it == outcomes.end()) {
      Report(e.seq, "the outcome this event records (" + e.entry.object + ") is missing");
      return;
    }
    ++covered_outcomes_;
    OutcomeRecord record;
    StoreStatus s = RowToOutcome(it->second, &record);
    const std::string what =
        "outcome " + std::to_string(record.version) + " of exam " + std::to_string(record.exam_id);
    if (!s.ok()) {
      Report(e.seq, what + " is unreadable: " + s.message());
    } else if ("exam/" + std::to_string(record.exam_id) != e.entry.object ||
               "outcome_version=" + std::to_string(record.version) +
                       " outcome_sha256=" + record.content_sha256 !=
                   e.entry.details) {
      Report(e.seq, what + " does not match the hash recorded in this event");
    }
  }

  // Each covering event matched the row that names its seq, so equal counts mean every outcome
  // row is covered; the rows no event covers are counted, not listed.
  StoreStatus CheckEveryOutcomeIsCovered() {
    // A database of a schema before outcomes (a SQLite file checked read-only, unmigrated) has
    // no such table.
    SqlRows rows;
    StoreStatus s = conn_->Exec(dialect_ == Dialect::kPostgres
                                    ? "SELECT 1 WHERE to_regclass('exam_outcomes') IS NOT NULL"
                                    : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                      "name = 'exam_outcomes'",
                                {}, &rows);
    if (!s.ok()) return s;
    if (rows.empty()) return StoreStatus::Ok();
    rows.clear();
    s = conn_->Exec("SELECT COUNT(*) FROM exam_outcomes", {}, &rows);
    if (!s.ok()) return s;
    const int64_t uncovered = rows.at(0).at(0).AsInt() - covered_outcomes_;
    if (uncovered != 0) {
      Report(last_seq_ + 1,
             std::to_string(uncovered) + " outcome rows are not recorded by any audit event");
    }
    return StoreStatus::Ok();
  }

  StoreStatus CheckEvent(const AuditEvent& e, const std::unordered_map<int64_t, SqlRow>& exams,
                         const std::unordered_map<int64_t, SqlRow>& outcomes) {
    const std::string at = std::to_string(e.seq);
    bool gap = false;
    if (e.seq != last_seq_ + 1) {
      gap = true;
      Report(last_seq_ + 1, e.seq == last_seq_ + 2
                                ? "audit event " + std::to_string(last_seq_ + 1) + " is missing"
                                : "audit events " + std::to_string(last_seq_ + 1) + " to " +
                                      std::to_string(e.seq - 1) + " are missing");
    }
    // Anchors inside a gap are reported against the events before it.
    StoreStatus s = CheckAnchorsUpTo(e.seq);
    if (!s.ok()) return s;
    if (!gap && e.prev_hash != last_hash_) {
      Report(e.seq, "prev_hash does not equal the hash of event " + std::to_string(e.seq - 1));
    }
    if (AuditEventHash(e.prev_hash, e.seq, e.time_ms, e.entry) != e.hash) {
      Report(e.seq, "stored hash does not match the recomputed hash of the event");
    }
    if (e.entry.action == "exam.submit") CheckCoveredExam(e, exams);
    if (RecordsOutcome(e)) CheckCoveredOutcome(e, outcomes);
    last_seq_ = e.seq;
    last_hash_ = e.hash;
    // Anchors at this seq compare with its stored hash.
    return CheckAnchorsUpTo(e.seq + 1);
  }

  void CheckCoveredExam(const AuditEvent& e, const std::unordered_map<int64_t, SqlRow>& exams) {
    const int64_t id = ExamIdFromObject(e.entry.object);
    auto it = exams.find(id);
    if (id <= 0 || it == exams.end()) {
      Report(e.seq, "the exam this event records (" + e.entry.object + ") is missing");
      return;
    }
    const std::string exam = "exam " + std::to_string(id);
    const int64_t points_at = it->second.at(kExamAuditSeq).AsInt();  // read even if the rest is not
    if (points_at != e.seq) {
      Report(e.seq, exam + " points at audit seq " + std::to_string(points_at));
      return;
    }
    ++covered_exams_;
    ExamRecord record;
    StoreStatus s = RowToExam(it->second, &record);
    if (!s.ok()) {
      Report(e.seq, exam + " is unreadable: " + s.message());
    } else if ("exam_sha256=" + record.content_sha256 != e.entry.details) {
      Report(e.seq, exam + " content does not match the hash recorded in this event");
    }
  }

  // --- exams without an event ---

  // Each covering event matched a distinct row (the row's audit_seq names it), so equal counts
  // mean every row is covered. Otherwise the rows are walked to name the ones that are not.
  StoreStatus CheckEveryExamIsCovered() {
    SqlRows rows;
    StoreStatus s = conn_->Exec("SELECT COUNT(*) FROM exams", {}, &rows);
    if (!s.ok()) return s;
    if (rows.at(0).at(0).AsInt() == covered_exams_) return StoreStatus::Ok();
    int64_t after = 0;
    for (;;) {
      SqlRows exams;
      s = conn_->Exec("SELECT id, audit_seq FROM exams WHERE id > $1 ORDER BY id LIMIT $2",
                      {SqlValue::Int(after), SqlValue::Int(kPage)}, &exams);
      if (!s.ok()) return s;
      if (exams.empty()) return StoreStatus::Ok();
      int64_t lo = INT64_MAX, hi = 0;
      for (const auto& row : exams) {
        lo = std::min(lo, row[1].AsInt());
        hi = std::max(hi, row[1].AsInt());
      }
      SqlRows events;
      const char* select = "SELECT seq, action, object FROM audit WHERE ";
      if (hi - lo <= kMaxRangeRead) {
        s = conn_->Exec(std::string(select) + "seq >= $1 AND seq <= $2",
                        {SqlValue::Int(lo), SqlValue::Int(hi)}, &events);
        if (!s.ok()) return s;
      } else {
        for (const auto& row : exams) {
          s = conn_->Exec(std::string(select) + "seq = $1", {row[1]}, &events);
          if (!s.ok()) return s;
        }
      }
      std::unordered_map<int64_t, std::string> submit_objects;
      for (const auto& ev : events) {
        if (ev[1].AsText() == "exam.submit") submit_objects[ev[0].AsInt()] = ev[2].AsText();
      }
      for (const auto& row : exams) {
        const int64_t id = row[0].AsInt(), claims = row[1].AsInt();
        auto it = submit_objects.find(claims);
        if (it != submit_objects.end() && it->second == "exam/" + std::to_string(id)) continue;
        const int64_t seq = claims >= 1 && claims <= last_seq_ ? claims : last_seq_ + 1;
        Report(seq, "exam " + std::to_string(id) + " is not recorded by any audit event");
      }
      after = exams.back()[0].AsInt();
      if (exams.size() < static_cast<size_t>(kPage)) return StoreStatus::Ok();
    }
  }

  void Finish(AuditVerifyResult* out) {
    AuditVerifyResult& r = result_;
    r.ok = r.problem_count == 0;
    r.head_hash = last_hash_;
    r.length = last_seq_;
    std::stable_sort(r.problems.begin(), r.problems.end(),
                     [](const AuditProblem& a, const AuditProblem& b) { return a.seq < b.seq; });
    *out = std::move(r);
  }

  const Dialect dialect_;
  SqlConn* const conn_;
  const VerifyOptions& options_;
  AuditVerifyResult result_;
  int64_t last_seq_ = 0;
  std::string last_hash_ = kGenesisHash;
  int64_t covered_exams_ = 0;
  int64_t covered_outcomes_ = 0;

  std::vector<AuditAnchor> given_;  // sorted by seq
  size_t given_next_ = 0;
  bool stored_enabled_ = false, stored_done_ = false;
  int64_t stored_after_seq_ = -1, stored_after_id_ = 0;
  std::vector<AuditAnchor> stored_;  // the current page of trusted stored checkpoints
  size_t stored_next_ = 0;
};

}  // namespace

StoreStatus VerifyChain(Dialect dialect, SqlConn* conn, const VerifyOptions& options,
                        AuditVerifyResult* result) {
  // One snapshot for the whole walk: concurrent appends neither break nor extend it.
  StoreStatus s = conn->Exec(
      dialect == Dialect::kPostgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
  if (!s.ok()) return s;
  s = Walk(dialect, conn, options).Run(result);
  StoreStatus end = conn->Exec("ROLLBACK");
  return s.ok() ? end : s;
}

}  // namespace storage
}  // namespace fetal
