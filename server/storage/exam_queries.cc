// SqlStore: exam submissions (idempotent, each with its exam.submit event) and exam reads.
#include <algorithm>
#include <cmath>

#include "fetal/sha256.h"
#include "storage/audit_chain.h"
#include "storage/canonical.h"
#include "storage/day_stats.h"
#include "storage/rows.h"
#include "storage/schema.h"
#include "storage/sql_store.h"
#include "text/storable.h"

namespace fetal {
namespace storage {
namespace {

constexpr int kMaxListLimit = 1000;
constexpr size_t kMaxKeyBytes = 128;
constexpr size_t kMaxTextBytes = 8192;
constexpr size_t kMaxBatch = 10000;

bool AllStorable(const double* v, int n) {
  for (int i = 0; i < n; ++i) {
    if (!text::IsStorableNumber(v[i])) return false;
  }
  return true;
}

// Text that would not read back as written is refused (text/storable.h).
StoreStatus CheckText(const std::string& value, size_t max_bytes, const std::string& field) {
  if (value.size() > max_bytes) {
    return StoreStatus::InvalidArgument("longer than " + std::to_string(max_bytes) + " bytes",
                                        field);
  }
  size_t bad = 0;
  if (!text::IsStorableText(value, &bad)) {
    return StoreStatus::InvalidArgument(std::string("holds ") +
                                            text::UnstorableTextReason(value, bad) + " at byte " +
                                            std::to_string(bad),
                                        field);
  }
  return StoreStatus::Ok();
}

StoreStatus CheckExam(const ExamInput& in, const std::string& prefix) {
  if (in.client_exam_id.empty() || in.client_exam_id.size() > kMaxKeyBytes) {
    return StoreStatus::InvalidArgument("client_exam_id must be 1 to 128 bytes",
                                        prefix + "client_exam_id");
  }
  if (!IsSha256Hex(in.body_sha256)) {
    return StoreStatus::InvalidArgument("body_sha256 must be 64 lowercase hex characters",
                                        prefix + "body_sha256");
  }
  for (int i = 0; i < kNumFeatures; ++i) {
    if (!text::IsStorableNumber(in.features[i])) {
      return StoreStatus::InvalidArgument("feature must be a finite number, zero or normal",
                                          prefix + std::string(FeatureSchema()[i].key));
    }
  }
  if (in.client_class < 0 || in.client_class >= kNumClasses) {
    return StoreStatus::InvalidArgument("class must be 0, 1 or 2", prefix + "client_class");
  }
  if (in.server_class < 0 || in.server_class >= kNumClasses) {
    return StoreStatus::InvalidArgument("class must be 0, 1 or 2", prefix + "server_class");
  }
  if (!AllStorable(in.client_probabilities.data(), kNumClasses)) {
    return StoreStatus::InvalidArgument("probabilities must be finite numbers, zero or normal",
                                        prefix + "client_probabilities");
  }
  if (!AllStorable(in.server_probabilities.data(), kNumClasses)) {
    return StoreStatus::InvalidArgument("probabilities must be finite numbers, zero or normal",
                                        prefix + "server_probabilities");
  }
  if (in.server_set > 7 || (in.server_set != 0 && !((in.server_set >> in.server_class) & 1u))) {
    return StoreStatus::InvalidArgument("set must be a class mask 1..7 holding server_class, or 0",
                                        prefix + "server_set");
  }
  if (in.model_version < 1) {
    return StoreStatus::InvalidArgument("model_version must be >= 1", prefix + "model_version");
  }
  if (!text::IsStorableNumber(in.max_abs_diff) || in.max_abs_diff < 0) {
    return StoreStatus::InvalidArgument("max_abs_diff must be a finite number >= 0, zero or normal",
                                        prefix + "max_abs_diff");
  }
  StoreStatus s = CheckText(in.client_exam_id, kMaxKeyBytes, prefix + "client_exam_id");
  if (s.ok()) s = CheckText(in.patient_ref, kMaxTextBytes, prefix + "patient_ref");
  if (s.ok()) s = CheckText(in.note, kMaxTextBytes, prefix + "note");
  if (s.ok()) s = CheckText(in.client_timestamp, kMaxKeyBytes, prefix + "client_timestamp");
  if (s.ok()) s = CheckText(in.runtime_build, kMaxKeyBytes, prefix + "runtime_build");
  if (s.ok() && in.signals.ood_checked && !std::isfinite(in.signals.ood_distance)) {
    s = StoreStatus::InvalidArgument("the OOD distance must be finite", prefix + "ood_distance");
  }
  return s;
}

// Exams belong to a principal; the name is only recorded beside it.
StoreStatus CheckSubmitter(const Actor& by) {
  if (by.principal_id <= 0) {
    return StoreStatus::InvalidArgument("the submitter has no principal (token id)",
                                        "submitted_by_id");
  }
  return CheckText(by.name, kMaxKeyBytes, "submitted_by");
}

std::string EncodeCursor(int64_t last_id) { return "e1." + std::to_string(last_id); }

bool DecodeCursor(const std::string& cursor, int64_t* last_id) {
  if (cursor.size() < 4 || cursor.size() > 22 || cursor.compare(0, 3, "e1.") != 0) return false;
  int64_t v = 0;
  for (size_t i = 3; i < cursor.size(); ++i) {
    char c = cursor[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
    if (v > (int64_t{1} << 53)) return false;
  }
  *last_id = v;
  return true;
}

// The content hash once the committer knows received_ms and id: only this short suffix is
// hashed on the committer thread.
std::string FinishContentHash(const Sha256& prefix_hash, int64_t received_ms, int64_t id) {
  Sha256 hasher = prefix_hash;
  std::string suffix = CanonicalExamSuffix(received_ms, id);
  hasher.Update(suffix.data(), suffix.size());
  auto digest = hasher.Final();
  return ToHex(digest.data(), digest.size());
}

}  // namespace

// An exam's numbers formatted and its canonical prefix hashed in the caller's thread, so the
// committer (the serial part) does as little as possible.
struct SqlStore::PreparedExam {
  PreparedExam(const ExamInput& in, const Actor& by) : input(&in), numbers(FormatExamNumbers(in)) {
    std::string prefix =
        CanonicalExamPrefix(in, by.name, by.principal_id, kExamContentVersion, numbers);
    prefix_hash.Update(prefix.data(), prefix.size());
  }
  const ExamInput* input;
  ExamNumbers numbers;
  Sha256 prefix_hash;
};

StoreStatus SqlStore::SubmitExam(const ExamInput& exam, const Actor& by, SubmitResult* out) {
  StoreStatus s = CheckSubmitter(by);
  if (s.ok()) s = CheckExam(exam, "");
  if (!s.ok()) return s;
  PreparedExam prepared(exam, by);
  SubmitResult result;
  s = committer_->Run([&](WriteTxn& txn) { return SubmitInTxn(txn, prepared, by, "", &result); },
                      Isolation::kChecksBeforeWrites, 1);
  if (s.ok()) *out = std::move(result);
  return s;
}

StoreStatus SqlStore::SubmitExamBatch(const std::vector<ExamInput>& exams, const Actor& by,
                                      std::vector<SubmitResult>* out) {
  StoreStatus checked = CheckSubmitter(by);
  if (!checked.ok()) return checked;
  if (exams.empty()) return StoreStatus::InvalidArgument("the batch is empty", "exams");
  if (exams.size() > kMaxBatch) {
    return StoreStatus::InvalidArgument("a batch holds at most 10000 exams", "exams");
  }
  std::vector<PreparedExam> prepared;
  prepared.reserve(exams.size());
  for (size_t i = 0; i < exams.size(); ++i) {
    StoreStatus s = CheckExam(exams[i], "exams[" + std::to_string(i) + "].");
    if (!s.ok()) return s;
    prepared.emplace_back(exams[i], by);
  }
  std::vector<SubmitResult> results;
  StoreStatus s = committer_->Run(
      [&](WriteTxn& txn) -> StoreStatus {
        results.clear();
        results.resize(exams.size());
        for (size_t i = 0; i < exams.size(); ++i) {
          StoreStatus st =
              SubmitInTxn(txn, prepared[i], by, "exams[" + std::to_string(i) + "].", &results[i]);
          if (!st.ok()) return st;  // the committer rolls the whole batch back to its savepoint
        }
        return StoreStatus::Ok();
      },
      Isolation::kSavepoint, static_cast<int64_t>(exams.size()));
  if (s.ok()) *out = std::move(results);
  return s;
}

StoreStatus SqlStore::SubmitInTxn(WriteTxn& txn, const PreparedExam& prepared, const Actor& by,
                                  const std::string& field_prefix, SubmitResult* out) {
  const ExamInput& in = *prepared.input;
  ExamRecord rec;
  rec.input = in;
  rec.submitted_by = by.name;
  rec.submitted_by_id = by.principal_id;
  rec.received_ms = txn.now_ms;
  rec.audit_seq = txn.head.seq + 1;
  const ExamNumbers& n = prepared.numbers;
  if (database_.dialect == Dialect::kPostgres) {
    StoreStatus s = InsertExamAndEventPostgres(txn, prepared, by, &rec);
    if (!s.ok()) return s;
    if (rec.id != 0) {
      s = AddExamToDayStats(txn, rec);
      if (!s.ok()) return s;
      out->exam = std::move(rec);
      out->replayed = false;
      return StoreStatus::Ok();
    }
    return FindReplay(txn, in, by, field_prefix, out);  // the key was known: nothing inserted
  }
  // One statement for the common case (a new key); a known key inserts nothing and returns no id.
  SqlRows rows;
  StoreStatus s = txn.Exec(
      "INSERT INTO exams (submitted_by, client_exam_id, body_sha256, features, client_class, "
      "client_probabilities, model_version, server_class, server_probabilities, agreement, "
      "max_abs_diff, patient_ref, note, client_timestamp, received_ms, audit_seq, "
      "submitted_by_id, content_version, server_set, runtime_build) VALUES "
      "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, "
      "$20) "
      "ON CONFLICT (submitted_by_id, client_exam_id, submitted_by) DO NOTHING RETURNING id",
      {SqlValue::Text(by.name),
       SqlValue::Text(in.client_exam_id),
       SqlValue::Text(in.body_sha256),
       SqlValue::Text(n.features),
       SqlValue::Int(in.client_class),
       SqlValue::Text(n.client_probabilities),
       SqlValue::Int(in.model_version),
       SqlValue::Int(in.server_class),
       SqlValue::Text(n.server_probabilities),
       SqlValue::Int(in.agreement ? 1 : 0),
       SqlValue::Double(in.max_abs_diff),
       SqlValue::Text(in.patient_ref),
       SqlValue::Text(in.note),
       SqlValue::Text(in.client_timestamp),
       SqlValue::Int(rec.received_ms),
       SqlValue::Int(rec.audit_seq),
       SqlValue::Int(by.principal_id),
       SqlValue::Int(kExamContentVersion),
       SqlValue::Int(in.server_set),
       SqlValue::Text(in.runtime_build)},
      &rows);
  if (!s.ok()) return s;
  if (rows.empty()) return FindReplay(txn, in, by, field_prefix, out);
  rec.id = rows.at(0).at(0).AsInt();
  rec.content_sha256 = FinishContentHash(prepared.prefix_hash, rec.received_ms, rec.id);
  AuditEntry e{by, "exam.submit", "exam/" + std::to_string(rec.id), "ok",
               "exam_sha256=" + rec.content_sha256};
  s = AppendEvent(txn, e, nullptr);
  if (s.ok()) s = AddExamToDayStats(txn, rec);
  if (!s.ok()) return s;
  out->exam = std::move(rec);
  out->replayed = false;
  return StoreStatus::Ok();
}

// The exam's contribution to its monitoring aggregates row, written with the exam's group
// (WriteTxn::day_stats).
StoreStatus SqlStore::AddExamToDayStats(WriteTxn& txn, const ExamRecord& rec) {
#ifdef FETAL_BENCH_WITHOUT_DAY_STATS
  return StoreStatus::Ok();  // a benchmark build measuring what the maintenance below costs
#endif
  txn.day_stats[DayStatsKey{ExamDay(rec.input.client_timestamp, rec.received_ms),
                            rec.input.model_version, rec.submitted_by_id, rec.input.runtime_build}]
      .Add(ExamContribution(rec.input));
  return StoreStatus::Ok();
}

// The key is already stored: a replay when the body hash matches, else a conflict.
StoreStatus SqlStore::FindReplay(WriteTxn& txn, const ExamInput& in, const Actor& by,
                                 const std::string& field_prefix, SubmitResult* out) {
  SqlRows rows;
  StoreStatus s = txn.Exec(std::string("SELECT ") + kExamColumns +
                               " FROM exams WHERE submitted_by_id = $1 AND client_exam_id = $2 "
                               "AND submitted_by = $3",
                           {SqlValue::Int(by.principal_id), SqlValue::Text(in.client_exam_id),
                            SqlValue::Text(by.name)},
                           &rows);
  if (!s.ok()) return s;
  if (rows.empty()) return StoreStatus::Internal("exam key conflict without a stored exam");
  ExamRecord original;
  s = RowToExam(rows[0], &original);
  if (!s.ok()) return s;
  if (original.input.body_sha256 != in.body_sha256) {
    return StoreStatus::Conflict("client_exam_id \"" + in.client_exam_id +
                                     "\" was already used for a different exam (id " +
                                     std::to_string(original.id) + ")",
                                 field_prefix + "client_exam_id");
  }
  out->exam = std::move(original);
  out->replayed = true;
  return StoreStatus::Ok();
}

// PostgreSQL: the exam row and its audit event in ONE statement (one round trip), with the id
// taken beforehand from the sequence so the event's hash can be computed here. Leaves rec->id
// at 0 when the key already exists (nothing inserted, the id is simply skipped).
StoreStatus SqlStore::InsertExamAndEventPostgres(WriteTxn& txn, const PreparedExam& prepared,
                                                 const Actor& by, ExamRecord* rec) {
  if (txn.exam_ids.empty()) {
    SqlRows ids;
    StoreStatus s =
        txn.Exec("SELECT nextval('exams_id_seq') FROM generate_series(1, $1::int)",
                 {SqlValue::Int(
                     std::max<int64_t>(1, std::min<int64_t>(txn.exams_expected, 10000)))},
                 &ids);
    if (!s.ok()) return s;
    for (const auto& row : ids) txn.exam_ids.push_back(row.at(0).AsInt());
    std::sort(txn.exam_ids.rbegin(), txn.exam_ids.rend());
    if (txn.exam_ids.empty()) return StoreStatus::Internal("the exam id sequence returned nothing");
  }
  const int64_t id = txn.exam_ids.back();
  txn.exam_ids.pop_back();
  if (txn.exams_expected > 0) --txn.exams_expected;

  const ExamInput& in = *prepared.input;
  const ExamNumbers& n = prepared.numbers;
  std::string content_sha256 = FinishContentHash(prepared.prefix_hash, rec->received_ms, id);
  AuditEntry e{by, "exam.submit", "exam/" + std::to_string(id), "ok",
               "exam_sha256=" + content_sha256};
  const int64_t seq = txn.head.seq + 1;
  std::string hash = AuditEventHash(txn.head.hash, seq, txn.now_ms, e);
  SqlRows rows;
  StoreStatus s = txn.Exec(
      "WITH e AS (INSERT INTO exams (id, submitted_by, client_exam_id, body_sha256, features, "
      "client_class, client_probabilities, model_version, server_class, server_probabilities, "
      "agreement, max_abs_diff, patient_ref, note, client_timestamp, received_ms, audit_seq, "
      "submitted_by_id, content_version, server_set, runtime_build) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $24, "
      "$25, $26, $27) ON CONFLICT (submitted_by_id, client_exam_id, submitted_by) DO NOTHING "
      "RETURNING id) "
      "INSERT INTO audit (seq, time_ms, actor, role, request_id, action, object, outcome, "
      "details, prev_hash, hash) SELECT $17::bigint, $16::bigint, $2::text, $18::text, "
      "$19::text, 'exam.submit', $20::text, 'ok', $21::text, $22::text, $23::text FROM e "
      "RETURNING seq",
      {SqlValue::Int(id),
       SqlValue::Text(by.name),
       SqlValue::Text(in.client_exam_id),
       SqlValue::Text(in.body_sha256),
       SqlValue::Text(n.features),
       SqlValue::Int(in.client_class),
       SqlValue::Text(n.client_probabilities),
       SqlValue::Int(in.model_version),
       SqlValue::Int(in.server_class),
       SqlValue::Text(n.server_probabilities),
       SqlValue::Int(in.agreement ? 1 : 0),
       SqlValue::Double(in.max_abs_diff),
       SqlValue::Text(in.patient_ref),
       SqlValue::Text(in.note),
       SqlValue::Text(in.client_timestamp),
       SqlValue::Int(rec->received_ms),
       SqlValue::Int(seq),
       SqlValue::Text(by.role),
       SqlValue::Text(by.request_id),
       SqlValue::Text(e.object),
       SqlValue::Text(e.details),
       SqlValue::Text(txn.head.hash),
       SqlValue::Text(hash),
       SqlValue::Int(by.principal_id),
       SqlValue::Int(kExamContentVersion),
       SqlValue::Int(in.server_set),
       SqlValue::Text(in.runtime_build)},
      &rows);
  if (!s.ok()) return s;
  if (rows.empty()) return StoreStatus::Ok();  // known key
  rec->id = id;
  rec->audit_seq = seq;
  rec->content_sha256 = std::move(content_sha256);
  txn.head.seq = seq;
  txn.head.hash = std::move(hash);
  return StoreStatus::Ok();
}

StoreStatus SqlStore::GetExam(int64_t id, ExamRecord* out) {
  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) {
    return c->Exec(std::string("SELECT ") + kExamColumns + " FROM exams WHERE id = $1",
                   {SqlValue::Int(id)}, &rows);
  });
  if (!s.ok()) return s;
  if (rows.empty()) return StoreStatus::NotFound("no exam with id " + std::to_string(id));
  return RowToExam(rows[0], out);
}

StoreStatus SqlStore::ListExams(const ExamFilter& filter, const std::string& cursor, int limit,
                                ExamPage* out) {
  if (limit < 1 || limit > kMaxListLimit) {
    return StoreStatus::InvalidArgument("limit must be between 1 and 1000", "limit");
  }
  int64_t after_id = 0;
  if (!cursor.empty() && !DecodeCursor(cursor, &after_id)) {
    return StoreStatus::InvalidArgument("cursor is not one this server returned", "cursor");
  }
  if (filter.client_class && (*filter.client_class < 0 || *filter.client_class >= kNumClasses)) {
    return StoreStatus::InvalidArgument("class must be 0, 1 or 2", "class");
  }
  std::string sql = std::string("SELECT ") + kExamColumns + " FROM exams WHERE id > $1";
  std::vector<SqlValue> params = {SqlValue::Int(after_id)};
  auto add = [&](const char* condition, SqlValue v) {
    params.push_back(std::move(v));
    sql += std::string(" AND ") + condition + " $" + std::to_string(params.size());
  };
  if (filter.from_ms) add("received_ms >=", SqlValue::Int(*filter.from_ms));
  if (filter.to_ms) add("received_ms <", SqlValue::Int(*filter.to_ms));
  if (filter.client_class) add("client_class =", SqlValue::Int(*filter.client_class));
  if (filter.model_version) add("model_version =", SqlValue::Int(*filter.model_version));
  if (filter.agreement) {
    add("agreement =", SqlValue::Int(*filter.agreement == Agreement::kMatch ? 1 : 0));
  }
  if (filter.submitted_by) add("submitted_by =", SqlValue::Text(*filter.submitted_by));
  if (filter.submitted_by_id) add("submitted_by_id =", SqlValue::Int(*filter.submitted_by_id));
  params.push_back(SqlValue::Int(limit + 1));
  sql += " ORDER BY id LIMIT $" + std::to_string(params.size());

  SqlRows rows;
  StoreStatus s = readers_.Run([&](SqlConn* c) { return c->Exec(sql, params, &rows); });
  if (!s.ok()) return s;
  ExamPage page;
  bool more = rows.size() > static_cast<size_t>(limit);
  if (more) rows.resize(limit);
  for (const auto& r : rows) {
    page.exams.emplace_back();
    s = RowToExam(r, &page.exams.back());
    if (!s.ok()) return s;
  }
  if (more) page.next_cursor = EncodeCursor(page.exams.back().id);
  *out = std::move(page);
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
