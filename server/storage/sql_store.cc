// The Store implementation shared by SQLite and PostgreSQL. Backend differences are confined to
// the DDL, how a write transaction starts (and takes the chain lock), and sql.h's connections.
//
// Writes: callers enqueue an operation and block; one committer thread takes every queued
// operation, runs them in one transaction (each inside a SAVEPOINT so one failure does not undo
// the others), commits once and acknowledges them all. The audit chain head is read inside that
// transaction after the chain lock is held, so several processes on one database keep one linear
// chain: SQLite serializes writers with BEGIN IMMEDIATE, PostgreSQL with a transaction-scoped
// advisory lock.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cmath>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "fetal/sha256.h"
#include "storage/canonical.h"
#include "storage/sql.h"
#include "storage/store.h"

namespace fetal {
namespace storage {

std::string StoreStatus::ToString() const {
  const char* name = "ok";
  switch (code_) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: name = "invalid argument"; break;
    case Code::kNotFound: name = "not found"; break;
    case Code::kConflict: name = "conflict"; break;
    case Code::kUnavailable: name = "unavailable"; break;
    case Code::kCorruption: name = "corruption"; break;
    case Code::kInternal: name = "internal"; break;
  }
  std::string out = std::string(name) + ": " + message_;
  if (!field_.empty()) out += " (field " + field_ + ")";
  return out;
}

int64_t SqlValue::AsInt() const {
  switch (type) {
    case Type::kInt: return i;
    case Type::kDouble: return static_cast<int64_t>(d);
    case Type::kText: return strtoll(s.c_str(), nullptr, 10);
    default: return 0;
  }
}

double SqlValue::AsDouble() const {
  switch (type) {
    case Type::kInt: return static_cast<double>(i);
    case Type::kDouble: return d;
    case Type::kText: return strtod(s.c_str(), nullptr);
    default: return 0;
  }
}

std::string SqlValue::AsBlob() const {
  if (type == Type::kText && s.size() >= 2 && s[0] == '\\' && s[1] == 'x') {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return 0;
    };
    std::string out;
    out.reserve((s.size() - 2) / 2);
    for (size_t k = 2; k + 1 < s.size(); k += 2) {
      out.push_back(static_cast<char>(nibble(s[k]) << 4 | nibble(s[k + 1])));
    }
    return out;
  }
  return s;
}

namespace {

enum class Dialect { kSqlite, kPostgres };

// Any constant works; it only has to be the same for every instance on one database.
constexpr const char* kChainLockSql = "SELECT pg_advisory_xact_lock(7277046850418761)";

constexpr int kMaxListLimit = 1000;
constexpr size_t kMaxKeyBytes = 128;
constexpr size_t kMaxTextBytes = 8192;
constexpr size_t kMaxBatch = 10000;

const char kExamColumns[] =
    "id, submitted_by, client_exam_id, body_sha256, features, client_class, "
    "client_probabilities, model_version, server_class, server_probabilities, agreement, "
    "max_abs_diff, patient_ref, note, client_timestamp, received_ms, audit_seq";
const char kAuditColumns[] =
    "seq, time_ms, actor, role, request_id, action, object, outcome, details, prev_hash, hash";
const char kTokenColumns[] = "id, name, role, token_sha256, created_ms, revoked, revoked_ms";
const char kModelColumns[] = "version, sha256, signature, metadata_json, created_ms, active";

std::string Schema(Dialect d) {
  const bool pg = d == Dialect::kPostgres;
  const std::string autoid = pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
  const std::string blob = pg ? "BYTEA" : "BLOB";
  return
      "CREATE TABLE IF NOT EXISTS storage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO storage_meta (key, value) VALUES ('schema_version', '1') "
      "  ON CONFLICT (key) DO NOTHING;"
      "CREATE TABLE IF NOT EXISTS audit ("
      "  seq BIGINT PRIMARY KEY, time_ms BIGINT NOT NULL, actor TEXT NOT NULL,"
      "  role TEXT NOT NULL, request_id TEXT NOT NULL, action TEXT NOT NULL,"
      "  object TEXT NOT NULL, outcome TEXT NOT NULL, details TEXT NOT NULL,"
      "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS exams ("
      "  id " + autoid + ", submitted_by TEXT NOT NULL, client_exam_id TEXT NOT NULL,"
      "  body_sha256 TEXT NOT NULL, features TEXT NOT NULL, client_class INTEGER NOT NULL,"
      "  client_probabilities TEXT NOT NULL, model_version BIGINT NOT NULL,"
      "  server_class INTEGER NOT NULL, server_probabilities TEXT NOT NULL,"
      "  agreement INTEGER NOT NULL, max_abs_diff DOUBLE PRECISION NOT NULL,"
      "  patient_ref TEXT NOT NULL, note TEXT NOT NULL, client_timestamp TEXT NOT NULL,"
      "  received_ms BIGINT NOT NULL, audit_seq BIGINT NOT NULL,"
      "  UNIQUE (submitted_by, client_exam_id));"
      // Clinicians page through their own exams: WHERE submitted_by = ? AND id > ? ORDER BY id.
      "CREATE INDEX IF NOT EXISTS exams_by_submitter ON exams (submitted_by, id);"
      "CREATE TABLE IF NOT EXISTS tokens ("
      "  id " + autoid + ", name TEXT NOT NULL, role TEXT NOT NULL,"
      "  token_sha256 TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL,"
      "  revoked INTEGER NOT NULL DEFAULT 0, revoked_ms BIGINT NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS models ("
      "  version BIGINT PRIMARY KEY, sha256 TEXT NOT NULL, signature TEXT NOT NULL,"
      "  metadata_json TEXT NOT NULL, created_ms BIGINT NOT NULL,"
      "  active INTEGER NOT NULL DEFAULT 0, bundle " + blob + " NOT NULL);";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StoreStatus RowToExam(const SqlRow& r, ExamRecord* out) {
  ExamRecord e;
  e.id = r[0].AsInt();
  e.submitted_by = r[1].AsText();
  e.input.client_exam_id = r[2].AsText();
  e.input.body_sha256 = r[3].AsText();
  bool ok = ParseDoubles(r[4].AsText(), e.input.features.data(), kNumFeatures);
  e.input.client_class = static_cast<int>(r[5].AsInt());
  ok = ok && ParseDoubles(r[6].AsText(), e.input.client_probabilities.data(), kNumClasses);
  e.input.model_version = r[7].AsInt();
  e.input.server_class = static_cast<int>(r[8].AsInt());
  ok = ok && ParseDoubles(r[9].AsText(), e.input.server_probabilities.data(), kNumClasses);
  e.input.agreement = r[10].AsInt() != 0;
  e.input.max_abs_diff = r[11].AsDouble();
  e.input.patient_ref = r[12].AsText();
  e.input.note = r[13].AsText();
  e.input.client_timestamp = r[14].AsText();
  e.received_ms = r[15].AsInt();
  e.audit_seq = r[16].AsInt();
  if (!ok) {
    return StoreStatus::Corruption("exam " + std::to_string(e.id) +
                                   ": stored numbers are not in canonical list form");
  }
  e.content_sha256 = ExamContentHash(e);
  *out = std::move(e);
  return StoreStatus::Ok();
}

void RowToAudit(const SqlRow& r, AuditEvent* out) {
  out->seq = r[0].AsInt();
  out->time_ms = r[1].AsInt();
  out->entry.actor.name = r[2].AsText();
  out->entry.actor.role = r[3].AsText();
  out->entry.actor.request_id = r[4].AsText();
  out->entry.action = r[5].AsText();
  out->entry.object = r[6].AsText();
  out->entry.outcome = r[7].AsText();
  out->entry.details = r[8].AsText();
  out->prev_hash = r[9].AsText();
  out->hash = r[10].AsText();
}

void RowToToken(const SqlRow& r, TokenRecord* out) {
  out->id = r[0].AsInt();
  out->name = r[1].AsText();
  out->role = r[2].AsText();
  out->token_sha256 = r[3].AsText();
  out->created_ms = r[4].AsInt();
  out->revoked = r[5].AsInt() != 0;
  out->revoked_ms = r[6].AsInt();
}

void RowToModel(const SqlRow& r, ModelRecord* out) {
  out->version = r[0].AsInt();
  out->sha256 = r[1].AsText();
  out->signature = r[2].AsText();
  out->metadata_json = r[3].AsText();
  out->created_ms = r[4].AsInt();
  out->active = r[5].AsInt() != 0;
  if (r.size() > 6) out->bundle = r[6].AsBlob();
}

bool AllFinite(const double* v, int n) {
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return false;
  }
  return true;
}

StoreStatus ValidateExam(const ExamInput& in, const std::string& prefix) {
  if (in.client_exam_id.empty() || in.client_exam_id.size() > kMaxKeyBytes) {
    return StoreStatus::InvalidArgument("client_exam_id must be 1 to 128 bytes",
                                        prefix + "client_exam_id");
  }
  if (!IsSha256Hex(in.body_sha256)) {
    return StoreStatus::InvalidArgument("body_sha256 must be 64 lowercase hex characters",
                                        prefix + "body_sha256");
  }
  for (int i = 0; i < kNumFeatures; ++i) {
    if (!std::isfinite(in.features[i])) {
      return StoreStatus::InvalidArgument("feature must be a finite number",
                                          prefix + std::string(FeatureSchema()[i].key));
    }
  }
  if (in.client_class < 0 || in.client_class >= kNumClasses) {
    return StoreStatus::InvalidArgument("class must be 0, 1 or 2", prefix + "client_class");
  }
  if (in.server_class < 0 || in.server_class >= kNumClasses) {
    return StoreStatus::InvalidArgument("class must be 0, 1 or 2", prefix + "server_class");
  }
  if (!AllFinite(in.client_probabilities.data(), kNumClasses)) {
    return StoreStatus::InvalidArgument("probabilities must be finite numbers",
                                        prefix + "client_probabilities");
  }
  if (!AllFinite(in.server_probabilities.data(), kNumClasses)) {
    return StoreStatus::InvalidArgument("probabilities must be finite numbers",
                                        prefix + "server_probabilities");
  }
  if (in.model_version < 1) {
    return StoreStatus::InvalidArgument("model_version must be >= 1", prefix + "model_version");
  }
  if (!std::isfinite(in.max_abs_diff) || in.max_abs_diff < 0) {
    return StoreStatus::InvalidArgument("max_abs_diff must be a finite number >= 0",
                                        prefix + "max_abs_diff");
  }
  if (in.patient_ref.size() > kMaxTextBytes) {
    return StoreStatus::InvalidArgument("patient_ref is longer than 8192 bytes",
                                        prefix + "patient_ref");
  }
  if (in.note.size() > kMaxTextBytes) {
    return StoreStatus::InvalidArgument("note is longer than 8192 bytes", prefix + "note");
  }
  if (in.client_timestamp.size() > kMaxKeyBytes) {
    return StoreStatus::InvalidArgument("client_timestamp is longer than 128 bytes",
                                        prefix + "client_timestamp");
  }
  return StoreStatus::Ok();
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

class SqlStore : public Store {
 public:
  SqlStore(Dialect dialect, std::string url, const StoreOptions& options)
      : dialect_(dialect), url_(std::move(url)), options_(options) {
    if (options_.read_connections < 1) options_.read_connections = 1;
    if (options_.max_group_size < 1) options_.max_group_size = 1;
  }

  ~SqlStore() override {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    stop_cv_.notify_all();
    if (committer_.joinable()) committer_.join();
    if (checkpointer_.joinable()) checkpointer_.join();
  }

  StoreStatus Init() {
    StoreStatus s = NewConn(&write_conn_);
    if (!s.ok()) return s;
    s = Migrate();
    if (!s.ok()) return s;
    if (dialect_ == Dialect::kSqlite) {
      // Checkpoints copy the WAL into the database file and fsync it; done by the committer they
      // stall every writer waiting on that group. A background thread does them instead.
      s = write_conn_->ExecScript("PRAGMA wal_autocheckpoint=0");
      if (!s.ok()) return s;
      checkpointer_ = std::thread([this] { CheckpointerLoop(); });
    }
    committer_ = std::thread([this] { CommitterLoop(); });
    return StoreStatus::Ok();
  }

  const char* backend() const override {
    return dialect_ == Dialect::kSqlite ? "sqlite" : "postgresql";
  }

  StoreStatus Ping() override {
    return WithReader([&](SqlConn* c) { return c->Exec("SELECT 1"); });
  }

  // --- tokens ---------------------------------------------------------------------------------

  StoreStatus CreateToken(const std::string& name, const std::string& role,
                          const std::string& token_sha256, const Actor& by,
                          TokenRecord* out) override {
    if (name.empty() || name.size() > kMaxKeyBytes) {
      return StoreStatus::InvalidArgument("token name must be 1 to 128 bytes", "name");
    }
    if (role != "clinician" && role != "auditor" && role != "admin") {
      return StoreStatus::InvalidArgument("role must be clinician, auditor or admin", "role");
    }
    if (!IsSha256Hex(token_sha256)) {
      return StoreStatus::InvalidArgument("token hash must be 64 lowercase hex characters",
                                          "token_sha256");
    }
    TokenRecord rec;
    StoreStatus s = RunWrite([&](WriteCtx& ctx) -> StoreStatus {
      SqlRows rows;
      StoreStatus st = ctx.Exec(
          "SELECT id FROM tokens WHERE token_sha256 = $1 OR (name = $2 AND revoked = 0)",
          {SqlValue::Text(token_sha256), SqlValue::Text(name)}, &rows);
      if (!st.ok()) return st;
      if (!rows.empty()) {
        return StoreStatus::Conflict("a token named \"" + name +
                                         "\" already exists (or the secret is reused)",
                                     "name");
      }
      rows.clear();
      st = ctx.Exec(
          "INSERT INTO tokens (name, role, token_sha256, created_ms, revoked, revoked_ms) "
          "VALUES ($1, $2, $3, $4, 0, 0) RETURNING id",
          {SqlValue::Text(name), SqlValue::Text(role), SqlValue::Text(token_sha256),
           SqlValue::Int(ctx.now_ms)},
          &rows);
      if (!st.ok()) return st;
      rec.id = rows.at(0).at(0).AsInt();
      rec.name = name;
      rec.role = role;
      rec.token_sha256 = token_sha256;
      rec.created_ms = ctx.now_ms;
      AuditEntry e{by, "token.create", "token/" + std::to_string(rec.id), "ok",
                   "name=" + name + ";role=" + role};
      return AppendInTxn(ctx, e, nullptr);
    });
    if (s.ok()) *out = rec;
    return s;
  }

  StoreStatus FindTokenByHash(const std::string& token_sha256, TokenRecord* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(std::string("SELECT ") + kTokenColumns + " FROM tokens WHERE token_sha256 = $1",
                     {SqlValue::Text(token_sha256)}, &rows);
    });
    if (!s.ok()) return s;
    if (rows.empty()) return StoreStatus::NotFound("no token with this hash");
    RowToToken(rows[0], out);
    return StoreStatus::Ok();
  }

  StoreStatus ListTokens(std::vector<TokenRecord>* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(std::string("SELECT ") + kTokenColumns + " FROM tokens ORDER BY id", {}, &rows);
    });
    if (!s.ok()) return s;
    out->clear();
    for (const auto& r : rows) {
      out->emplace_back();
      RowToToken(r, &out->back());
    }
    return StoreStatus::Ok();
  }

  StoreStatus RevokeToken(int64_t id, const Actor& by) override {
    return RunWrite([&](WriteCtx& ctx) -> StoreStatus {
      SqlRows rows;
      StoreStatus st = ctx.Exec("SELECT revoked FROM tokens WHERE id = $1",
                                      {SqlValue::Int(id)}, &rows);
      if (!st.ok()) return st;
      if (rows.empty()) return StoreStatus::NotFound("no token with id " + std::to_string(id));
      if (rows[0][0].AsInt() != 0) return StoreStatus::Ok();
      st = ctx.Exec("UPDATE tokens SET revoked = 1, revoked_ms = $2 WHERE id = $1",
                          {SqlValue::Int(id), SqlValue::Int(ctx.now_ms)}, nullptr);
      if (!st.ok()) return st;
      AuditEntry e{by, "token.revoke", "token/" + std::to_string(id), "ok", ""};
      return AppendInTxn(ctx, e, nullptr);
    });
  }

  // --- exams ----------------------------------------------------------------------------------

  StoreStatus SubmitExam(const ExamInput& exam, const Actor& by, SubmitResult* out) override {
    if (by.name.empty()) return StoreStatus::InvalidArgument("submitter name is empty", "submitted_by");
    StoreStatus s = ValidateExam(exam, "");
    if (!s.ok()) return s;
    PreparedExam prepared(exam, by.name);
    SubmitResult result;
    s = RunWrite([&](WriteCtx& ctx) { return SubmitInTxn(ctx, prepared, by, "", &result); },
                 Isolation::kChecksBeforeWrites, 1);
    if (s.ok()) *out = std::move(result);
    return s;
  }

  StoreStatus SubmitExamBatch(const std::vector<ExamInput>& exams, const Actor& by,
                              std::vector<SubmitResult>* out) override {
    if (by.name.empty()) return StoreStatus::InvalidArgument("submitter name is empty", "submitted_by");
    if (exams.empty()) return StoreStatus::InvalidArgument("the batch is empty", "exams");
    if (exams.size() > kMaxBatch) {
      return StoreStatus::InvalidArgument("a batch holds at most 10000 exams", "exams");
    }
    std::vector<PreparedExam> prepared;
    prepared.reserve(exams.size());
    for (size_t i = 0; i < exams.size(); ++i) {
      StoreStatus s = ValidateExam(exams[i], "exams[" + std::to_string(i) + "].");
      if (!s.ok()) return s;
      prepared.emplace_back(exams[i], by.name);
    }
    std::vector<SubmitResult> results;
    StoreStatus s = RunWrite([&](WriteCtx& ctx) -> StoreStatus {
      results.clear();
      results.resize(exams.size());
      for (size_t i = 0; i < exams.size(); ++i) {
        StoreStatus st =
            SubmitInTxn(ctx, prepared[i], by, "exams[" + std::to_string(i) + "].", &results[i]);
        if (!st.ok()) return st;  // the committer rolls the whole batch back to its savepoint
      }
      return StoreStatus::Ok();
    }, Isolation::kSavepoint, static_cast<int64_t>(exams.size()));
    if (s.ok()) *out = std::move(results);
    return s;
  }

  StoreStatus GetExam(int64_t id, ExamRecord* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(std::string("SELECT ") + kExamColumns + " FROM exams WHERE id = $1",
                     {SqlValue::Int(id)}, &rows);
    });
    if (!s.ok()) return s;
    if (rows.empty()) return StoreStatus::NotFound("no exam with id " + std::to_string(id));
    return RowToExam(rows[0], out);
  }

  StoreStatus ListExams(const ExamFilter& filter, const std::string& cursor, int limit,
                        ExamPage* out) override {
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
    params.push_back(SqlValue::Int(limit + 1));
    sql += " ORDER BY id LIMIT $" + std::to_string(params.size());

    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) { return c->Exec(sql, params, &rows); });
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

  // --- audit ----------------------------------------------------------------------------------

  StoreStatus AppendAudit(const AuditEntry& entry, AuditEvent* out) override {
    if (entry.action.empty()) return StoreStatus::InvalidArgument("action is empty", "action");
    AuditEvent event;
    StoreStatus s = RunWrite([&](WriteCtx& ctx) { return AppendInTxn(ctx, entry, &event); },
                             Isolation::kChecksBeforeWrites);
    if (s.ok() && out) *out = std::move(event);
    return s;
  }

  StoreStatus ListAudit(int64_t after_seq, int limit, std::vector<AuditEvent>* out) override {
    if (limit < 1 || limit > kMaxListLimit) {
      return StoreStatus::InvalidArgument("limit must be between 1 and 1000", "limit");
    }
    if (after_seq < 0) return StoreStatus::InvalidArgument("after must be >= 0", "after");
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(std::string("SELECT ") + kAuditColumns +
                         " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
                     {SqlValue::Int(after_seq), SqlValue::Int(limit)}, &rows);
    });
    if (!s.ok()) return s;
    out->clear();
    for (const auto& r : rows) {
      out->emplace_back();
      RowToAudit(r, &out->back());
    }
    return StoreStatus::Ok();
  }

  StoreStatus GetAudit(int64_t seq, AuditEvent* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(std::string("SELECT ") + kAuditColumns + " FROM audit WHERE seq = $1",
                     {SqlValue::Int(seq)}, &rows);
    });
    if (!s.ok()) return s;
    if (rows.empty()) return StoreStatus::NotFound("no audit event with seq " + std::to_string(seq));
    RowToAudit(rows[0], out);
    return StoreStatus::Ok();
  }

  StoreStatus VerifyAudit(AuditVerifyResult* result) override {
    return WithReader([&](SqlConn* c) -> StoreStatus {
      // One snapshot for the whole walk: concurrent appends neither break nor extend it.
      StoreStatus s = c->Exec(dialect_ == Dialect::kPostgres
                                  ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                  : "BEGIN");
      if (!s.ok()) return s;
      s = VerifyInSnapshot(c, result);
      StoreStatus end = c->Exec("ROLLBACK");
      return s.ok() ? end : s;
    });
  }

  StoreStatus Checkpoint(AuditCheckpoint* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", {}, &rows);
    });
    if (!s.ok()) return s;
    out->seq = rows.empty() ? 0 : rows[0][0].AsInt();
    out->hash = rows.empty() ? kGenesisHash : rows[0][1].AsText();
    return StoreStatus::Ok();
  }

  // --- models ---------------------------------------------------------------------------------

  StoreStatus PutModel(const ModelInput& model, const Actor& by, ModelRecord* out) override {
    if (model.version < 0) return StoreStatus::InvalidArgument("version must be >= 0", "version");
    if (model.bundle.empty()) return StoreStatus::InvalidArgument("bundle is empty", "bundle");
    std::string actual = Sha256Hex(model.bundle.data(), model.bundle.size());
    if (model.sha256 != actual) {
      return StoreStatus::InvalidArgument("sha256 does not match the bundle bytes (expected " +
                                              actual + ")",
                                          "sha256");
    }
    ModelRecord rec;
    StoreStatus s = RunWrite([&](WriteCtx& ctx) -> StoreStatus {
      SqlRows rows;
      int64_t version = model.version;
      StoreStatus st;
      if (version == 0) {
        st = ctx.Exec("SELECT COALESCE(MAX(version), 0) + 1 FROM models", {}, &rows);
        if (!st.ok()) return st;
        version = rows.at(0).at(0).AsInt();
      } else {
        st = ctx.Exec("SELECT version FROM models WHERE version = $1",
                            {SqlValue::Int(version)}, &rows);
        if (!st.ok()) return st;
        if (!rows.empty()) {
          return StoreStatus::Conflict("model version " + std::to_string(version) +
                                           " already exists",
                                       "version");
        }
      }
      st = ctx.Exec(
          "INSERT INTO models (version, sha256, signature, metadata_json, created_ms, active, "
          "bundle) VALUES ($1, $2, $3, $4, $5, 0, $6)",
          {SqlValue::Int(version), SqlValue::Text(model.sha256), SqlValue::Text(model.signature),
           SqlValue::Text(model.metadata_json), SqlValue::Int(ctx.now_ms),
           SqlValue::Blob(model.bundle)},
          nullptr);
      if (!st.ok()) return st;
      rec.version = version;
      rec.sha256 = model.sha256;
      rec.signature = model.signature;
      rec.metadata_json = model.metadata_json;
      rec.created_ms = ctx.now_ms;
      AuditEntry e{by, "model.put", "model/" + std::to_string(version), "ok",
                   "sha256=" + model.sha256};
      return AppendInTxn(ctx, e, nullptr);
    });
    if (s.ok()) *out = std::move(rec);
    return s;
  }

  StoreStatus ListModels(std::vector<ModelRecord>* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(std::string("SELECT ") + kModelColumns + " FROM models ORDER BY version", {},
                     &rows);
    });
    if (!s.ok()) return s;
    out->clear();
    for (const auto& r : rows) {
      out->emplace_back();
      RowToModel(r, &out->back());
    }
    return StoreStatus::Ok();
  }

  StoreStatus GetModel(int64_t version, ModelRecord* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(std::string("SELECT ") + kModelColumns + ", bundle FROM models WHERE version = $1",
                     {SqlValue::Int(version)}, &rows);
    });
    if (!s.ok()) return s;
    if (rows.empty()) return StoreStatus::NotFound("no model version " + std::to_string(version));
    RowToModel(rows[0], out);
    return StoreStatus::Ok();
  }

  StoreStatus GetActiveModel(ModelRecord* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(std::string("SELECT ") + kModelColumns +
                         ", bundle FROM models WHERE active = 1 ORDER BY version DESC LIMIT 1",
                     {}, &rows);
    });
    if (!s.ok()) return s;
    if (rows.empty()) return StoreStatus::NotFound("no model is active");
    RowToModel(rows[0], out);
    return StoreStatus::Ok();
  }

  StoreStatus ActivateModel(int64_t version, const Actor& by) override {
    return RunWrite([&](WriteCtx& ctx) -> StoreStatus {
      SqlRows rows;
      StoreStatus st = ctx.Exec("SELECT version FROM models WHERE version = $1",
                                      {SqlValue::Int(version)}, &rows);
      if (!st.ok()) return st;
      if (rows.empty()) return StoreStatus::NotFound("no model version " + std::to_string(version));
      rows.clear();
      st = ctx.Exec("SELECT version FROM models WHERE active = 1", {}, &rows);
      if (!st.ok()) return st;
      std::string previous = rows.empty() ? "none" : std::to_string(rows[0][0].AsInt());
      st = ctx.Exec(
          "UPDATE models SET active = CASE WHEN version = $1 THEN 1 ELSE 0 END "
          "WHERE active = 1 OR version = $1",
          {SqlValue::Int(version)}, nullptr);
      if (!st.ok()) return st;
      AuditEntry e{by, "model.activate", "model/" + std::to_string(version), "ok",
                   "previous=" + previous};
      return AppendInTxn(ctx, e, nullptr);
    });
  }

  StoreStatus Stats(StoreStats* out) override {
    SqlRows rows;
    StoreStatus s = WithReader([&](SqlConn* c) {
      return c->Exec(
          "SELECT (SELECT COUNT(*) FROM exams), (SELECT COUNT(*) FROM exams WHERE agreement = 0), "
          "(SELECT COALESCE(MAX(seq), 0) FROM audit)",
          {}, &rows);
    });
    if (!s.ok()) return s;
    out->exams = rows.at(0).at(0).AsInt();
    out->mismatches = rows[0].at(1).AsInt();
    out->audit_length = rows[0].at(2).AsInt();
    out->commits = commits_.load();
    out->committed_writes = committed_writes_.load();
    return StoreStatus::Ok();
  }

 private:
  // An exam's numbers formatted and its canonical prefix hashed in the caller's thread, so the
  // committer (the serial part) does as little as possible.
  struct PreparedExam {
    PreparedExam(const ExamInput& in, const std::string& submitted_by)
        : input(&in), numbers(FormatExamNumbers(in)) {
      std::string prefix = CanonicalExamPrefix(in, submitted_by, numbers);
      prefix_hash.Update(prefix.data(), prefix.size());
    }
    const ExamInput* input;
    ExamNumbers numbers;
    Sha256 prefix_hash;
  };

  struct WriteCtx {
    SqlConn* conn = nullptr;
    int64_t head_seq = 0;
    std::string head_hash;
    int64_t now_ms = 0;
    bool db_error = false;  // a statement failed: the transaction state is no longer known
    // PostgreSQL: exam ids taken from the sequence in one round trip per group.
    std::vector<int64_t> exam_ids;  // unused ids, ascending order reversed (back() is next)
    int64_t exams_expected = 0;     // submissions still to come in this group (allocation hint)

    StoreStatus Exec(const std::string& sql, const std::vector<SqlValue>& params, SqlRows* rows) {
      StoreStatus s = conn->Exec(sql, params, rows);
      if (!s.ok()) db_error = true;
      return s;
    }
  };
  using WriteFn = std::function<StoreStatus(WriteCtx&)>;

  // How an operation is isolated from the others in its group.
  enum class Isolation {
    // Runs inside its own SAVEPOINT; any failure rolls back just this operation.
    kSavepoint,
    // The operation makes all its checks before its first write, so a logical failure (conflict,
    // not found) has written nothing. Saves two statements (round trips on PostgreSQL) per
    // operation on the hot path (single submissions, audit appends). If one of its statements
    // fails, the group is rolled back and run again without it.
    kChecksBeforeWrites,
  };
  struct Op {
    WriteFn fn;
    Isolation isolation;
    int64_t exams = 0;  // exams it may insert (sizes the PostgreSQL id allocation)
    std::promise<StoreStatus> done;
  };

  StoreStatus NewConn(std::unique_ptr<SqlConn>* out) {
    if (dialect_ == Dialect::kSqlite) return OpenSqliteConn(url_, options_.busy_timeout_ms, out);
    return OpenPostgresConn(url_, out);
  }

  StoreStatus Migrate() {
    std::string script = dialect_ == Dialect::kSqlite
                             ? "BEGIN IMMEDIATE;" + Schema(dialect_) + "COMMIT;"
                             : std::string("BEGIN;") + kChainLockSql + ";" + Schema(dialect_) +
                                   "COMMIT;";
    StoreStatus s = write_conn_->ExecScript(script);
    if (!s.ok()) write_conn_->ExecScript("ROLLBACK");
    return s;
  }

  // --- read connection pool ---

  StoreStatus WithReader(const std::function<StoreStatus(SqlConn*)>& fn) {
    std::unique_ptr<SqlConn> conn;
    {
      std::unique_lock<std::mutex> lock(pool_mu_);
      pool_cv_.wait(lock, [&] { return !idle_.empty() || open_readers_ < options_.read_connections; });
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ++open_readers_;
      }
    }
    StoreStatus s;
    if (!conn) s = NewConn(&conn);
    if (s.ok()) s = fn(conn.get());
    if (!s.ok() && conn && conn->broken()) {
      // A pooled connection the server dropped while idle: reads are safe to run again once.
      conn.reset();
      s = NewConn(&conn);
      if (s.ok()) s = fn(conn.get());
    }
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (conn && !conn->broken()) {
        idle_.push_back(std::move(conn));
      } else {
        --open_readers_;  // reopened on a later call
      }
    }
    pool_cv_.notify_one();
    return s;
  }

  // --- group commit ---

  StoreStatus RunWrite(WriteFn fn, Isolation isolation = Isolation::kSavepoint, int64_t exams = 0) {
    Op op;
    op.fn = std::move(fn);
    op.isolation = isolation;
    op.exams = exams;
    std::future<StoreStatus> done = op.done.get_future();
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (stopping_) return StoreStatus::Unavailable("the store is closing");
      queue_.push_back(&op);
    }
    queue_cv_.notify_one();
    return done.get();
  }

  void CommitterLoop() {
    std::vector<Op*> group;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        size_t n = std::min(queue_.size(), static_cast<size_t>(options_.max_group_size));
        group.assign(queue_.begin(), queue_.begin() + n);
        queue_.erase(queue_.begin(), queue_.begin() + n);
      }
      CommitGroup(group);
    }
  }

  // SQLite only: PASSIVE checkpoints never block the committer or readers.
  void CheckpointerLoop() {
    std::unique_ptr<SqlConn> conn;
    std::unique_lock<std::mutex> lock(queue_mu_);
    while (!stopping_) {
      stop_cv_.wait_for(lock, std::chrono::milliseconds(200));
      if (stopping_) break;
      lock.unlock();
      if (!conn && !NewConn(&conn).ok()) conn.reset();
      if (conn) conn->ExecScript("PRAGMA wal_checkpoint(PASSIVE)");
      lock.lock();
    }
    lock.unlock();
    // A final full checkpoint keeps the WAL short for the next open.
    if (conn) conn->ExecScript("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  void FailAll(const std::vector<Op*>& group, const StoreStatus& s) {
    for (Op* op : group) op->done.set_value(s);
  }

  void CommitGroup(std::vector<Op*> group) {
    // Each pass commits the group, or drops one operation whose statement failed and tries again.
    while (!group.empty()) {
      size_t failed = 0;
      StoreStatus failure;
      if (TryCommitGroup(group, &failed, &failure)) return;
      group[failed]->done.set_value(failure);
      group.erase(group.begin() + failed);
      if (failure.code() == StoreStatus::Code::kUnavailable) {
        FailAll(group, failure);  // the database is not there: the others would fail the same way
        return;
      }
    }
  }

  // True when every operation of the group was answered. False when an operation without its own
  // savepoint hit a statement error: everything was rolled back, nobody was answered, and
  // *failed / *failure say which operation and why.
  bool TryCommitGroup(const std::vector<Op*>& group, size_t* failed, StoreStatus* failure) {
    if (!write_conn_ || write_conn_->broken()) {
      write_conn_.reset();
      StoreStatus s = NewConn(&write_conn_);
      if (!s.ok()) {
        write_conn_.reset();
        FailAll(group, s);
        return true;
      }
    }
    const char* begin = dialect_ == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN";
    StoreStatus s = write_conn_->Exec(begin);
    if (!s.ok() && write_conn_->broken()) {
      // Dropped while idle; nothing of this group has run yet, so reconnect and start once more.
      write_conn_.reset();
      s = NewConn(&write_conn_);
      if (s.ok()) s = write_conn_->Exec(begin);
    }
    SqlConn* conn = write_conn_.get();
    WriteCtx ctx;
    ctx.conn = conn;
    ctx.now_ms = NowMs();
    auto abort_group = [&](const StoreStatus& st) {
      if (conn) conn->Exec("ROLLBACK");
      FailAll(group, st);
      return true;
    };
    if (!s.ok()) return abort_group(s);
    if (dialect_ == Dialect::kPostgres) {
      s = conn->Exec(kChainLockSql);
      if (!s.ok()) return abort_group(s);
    }
    SqlRows head;
    s = conn->Exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", {}, &head);
    if (!s.ok()) return abort_group(s);
    ctx.head_seq = head.empty() ? 0 : head[0][0].AsInt();
    ctx.head_hash = head.empty() ? kGenesisHash : head[0][1].AsText();
    for (const Op* op : group) ctx.exams_expected += op->exams;

    std::vector<StoreStatus> results(group.size());
    for (size_t i = 0; i < group.size(); ++i) {
      const bool savepoint = group[i]->isolation == Isolation::kSavepoint;
      if (savepoint) {
        s = conn->Exec("SAVEPOINT op");
        if (!s.ok()) return abort_group(s);
      }
      const int64_t saved_seq = ctx.head_seq;
      const std::string saved_hash = ctx.head_hash;
      ctx.db_error = false;
      results[i] = group[i]->fn(ctx);
      if (!savepoint) {
        if (!results[i].ok() && ctx.db_error) {
          conn->Exec("ROLLBACK");
          *failed = i;
          *failure = results[i];
          return false;
        }
        continue;
      }
      if (results[i].ok()) {
        s = conn->Exec("RELEASE SAVEPOINT op");
      } else {
        ctx.head_seq = saved_seq;
        ctx.head_hash = saved_hash;
        s = conn->Exec("ROLLBACK TO SAVEPOINT op");
        if (s.ok()) s = conn->Exec("RELEASE SAVEPOINT op");
      }
      if (!s.ok()) return abort_group(s);
    }
    s = conn->Exec("COMMIT");
    if (!s.ok()) {
      // Nothing of this group is acknowledged; clients retry with their idempotency keys.
      return abort_group(s);
    }
    commits_.fetch_add(1);
    committed_writes_.fetch_add(static_cast<int64_t>(group.size()));
    for (size_t i = 0; i < group.size(); ++i) group[i]->done.set_value(results[i]);
    return true;
  }

  StoreStatus AppendInTxn(WriteCtx& ctx, const AuditEntry& entry, AuditEvent* out) {
    const int64_t seq = ctx.head_seq + 1;
    std::string hash = AuditEventHash(ctx.head_hash, seq, ctx.now_ms, entry);
    StoreStatus s = ctx.Exec(
        std::string("INSERT INTO audit (") + kAuditColumns +
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        {SqlValue::Int(seq), SqlValue::Int(ctx.now_ms), SqlValue::Text(entry.actor.name),
         SqlValue::Text(entry.actor.role), SqlValue::Text(entry.actor.request_id),
         SqlValue::Text(entry.action), SqlValue::Text(entry.object),
         SqlValue::Text(entry.outcome), SqlValue::Text(entry.details),
         SqlValue::Text(ctx.head_hash), SqlValue::Text(hash)},
        nullptr);
    if (!s.ok()) return s;
    if (out) {
      out->seq = seq;
      out->time_ms = ctx.now_ms;
      out->entry = entry;
      out->prev_hash = ctx.head_hash;
      out->hash = hash;
    }
    ctx.head_seq = seq;
    ctx.head_hash = std::move(hash);
    return StoreStatus::Ok();
  }

  StoreStatus SubmitInTxn(WriteCtx& ctx, const PreparedExam& prepared, const Actor& by,
                          const std::string& field_prefix, SubmitResult* out) {
    const ExamInput& in = *prepared.input;
    ExamRecord rec;
    rec.input = in;
    rec.submitted_by = by.name;
    rec.received_ms = ctx.now_ms;
    rec.audit_seq = ctx.head_seq + 1;
    const ExamNumbers& n = prepared.numbers;
    if (dialect_ == Dialect::kPostgres) {
      StoreStatus s = InsertExamAndEventPostgres(ctx, prepared, by, &rec);
      if (!s.ok()) return s;
      if (rec.id != 0) {
        out->exam = std::move(rec);
        out->replayed = false;
        return StoreStatus::Ok();
      }
      return FindReplay(ctx, in, by, field_prefix, out);  // the key was known: nothing inserted
    }
    // One statement for the common case (a new key); a known key inserts nothing and returns no id.
    SqlRows rows;
    StoreStatus s = ctx.Exec(
        "INSERT INTO exams (submitted_by, client_exam_id, body_sha256, features, client_class, "
        "client_probabilities, model_version, server_class, server_probabilities, agreement, "
        "max_abs_diff, patient_ref, note, client_timestamp, received_ms, audit_seq) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
        "ON CONFLICT (submitted_by, client_exam_id) DO NOTHING RETURNING id",
        {SqlValue::Text(by.name), SqlValue::Text(in.client_exam_id), SqlValue::Text(in.body_sha256),
         SqlValue::Text(n.features), SqlValue::Int(in.client_class),
         SqlValue::Text(n.client_probabilities), SqlValue::Int(in.model_version),
         SqlValue::Int(in.server_class), SqlValue::Text(n.server_probabilities),
         SqlValue::Int(in.agreement ? 1 : 0), SqlValue::Double(in.max_abs_diff),
         SqlValue::Text(in.patient_ref), SqlValue::Text(in.note),
         SqlValue::Text(in.client_timestamp), SqlValue::Int(rec.received_ms),
         SqlValue::Int(rec.audit_seq)},
        &rows);
    if (!s.ok()) return s;
    if (rows.empty()) return FindReplay(ctx, in, by, field_prefix, out);
    rec.id = rows.at(0).at(0).AsInt();
    // Only the short suffix (received_ms, id) is hashed here; the prefix was hashed by the caller.
    Sha256 hasher = prepared.prefix_hash;
    std::string suffix = CanonicalExamSuffix(rec.received_ms, rec.id);
    hasher.Update(suffix.data(), suffix.size());
    auto digest = hasher.Final();
    rec.content_sha256 = ToHex(digest.data(), digest.size());
    AuditEntry e{by, "exam.submit", "exam/" + std::to_string(rec.id), "ok",
                 "exam_sha256=" + rec.content_sha256};
    s = AppendInTxn(ctx, e, nullptr);
    if (!s.ok()) return s;
    out->exam = std::move(rec);
    out->replayed = false;
    return StoreStatus::Ok();
  }

  // The key is already stored: a replay when the body hash matches, else a conflict.
  StoreStatus FindReplay(WriteCtx& ctx, const ExamInput& in, const Actor& by,
                         const std::string& field_prefix, SubmitResult* out) {
    SqlRows rows;
    StoreStatus s = ctx.Exec(std::string("SELECT ") + kExamColumns +
                                 " FROM exams WHERE submitted_by = $1 AND client_exam_id = $2",
                             {SqlValue::Text(by.name), SqlValue::Text(in.client_exam_id)}, &rows);
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
  StoreStatus InsertExamAndEventPostgres(WriteCtx& ctx, const PreparedExam& prepared,
                                         const Actor& by, ExamRecord* rec) {
    if (ctx.exam_ids.empty()) {
      SqlRows ids;
      StoreStatus s = ctx.Exec(
          "SELECT nextval('exams_id_seq') FROM generate_series(1, $1::int)",
          {SqlValue::Int(std::max<int64_t>(1, std::min<int64_t>(ctx.exams_expected, 10000)))}, &ids);
      if (!s.ok()) return s;
      for (const auto& row : ids) ctx.exam_ids.push_back(row.at(0).AsInt());
      std::sort(ctx.exam_ids.rbegin(), ctx.exam_ids.rend());
      if (ctx.exam_ids.empty()) return StoreStatus::Internal("the exam id sequence returned nothing");
    }
    const int64_t id = ctx.exam_ids.back();
    ctx.exam_ids.pop_back();
    if (ctx.exams_expected > 0) --ctx.exams_expected;

    const ExamInput& in = *prepared.input;
    const ExamNumbers& n = prepared.numbers;
    Sha256 hasher = prepared.prefix_hash;
    std::string suffix = CanonicalExamSuffix(rec->received_ms, id);
    hasher.Update(suffix.data(), suffix.size());
    auto digest = hasher.Final();
    std::string content_sha256 = ToHex(digest.data(), digest.size());
    AuditEntry e{by, "exam.submit", "exam/" + std::to_string(id), "ok",
                 "exam_sha256=" + content_sha256};
    const int64_t seq = ctx.head_seq + 1;
    std::string hash = AuditEventHash(ctx.head_hash, seq, ctx.now_ms, e);
    SqlRows rows;
    StoreStatus s = ctx.Exec(
        "WITH e AS (INSERT INTO exams (id, submitted_by, client_exam_id, body_sha256, features, "
        "client_class, client_probabilities, model_version, server_class, server_probabilities, "
        "agreement, max_abs_diff, patient_ref, note, client_timestamp, received_ms, audit_seq) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
        "ON CONFLICT (submitted_by, client_exam_id) DO NOTHING RETURNING id) "
        "INSERT INTO audit (seq, time_ms, actor, role, request_id, action, object, outcome, "
        "details, prev_hash, hash) SELECT $17::bigint, $16::bigint, $2::text, $18::text, "
        "$19::text, 'exam.submit', $20::text, 'ok', $21::text, $22::text, $23::text FROM e "
        "RETURNING seq",
        {SqlValue::Int(id), SqlValue::Text(by.name), SqlValue::Text(in.client_exam_id),
         SqlValue::Text(in.body_sha256), SqlValue::Text(n.features), SqlValue::Int(in.client_class),
         SqlValue::Text(n.client_probabilities), SqlValue::Int(in.model_version),
         SqlValue::Int(in.server_class), SqlValue::Text(n.server_probabilities),
         SqlValue::Int(in.agreement ? 1 : 0), SqlValue::Double(in.max_abs_diff),
         SqlValue::Text(in.patient_ref), SqlValue::Text(in.note),
         SqlValue::Text(in.client_timestamp), SqlValue::Int(rec->received_ms), SqlValue::Int(seq),
         SqlValue::Text(by.role), SqlValue::Text(by.request_id), SqlValue::Text(e.object),
         SqlValue::Text(e.details), SqlValue::Text(ctx.head_hash), SqlValue::Text(hash)},
        &rows);
    if (!s.ok()) return s;
    if (rows.empty()) return StoreStatus::Ok();  // known key
    rec->id = id;
    rec->audit_seq = seq;
    rec->content_sha256 = std::move(content_sha256);
    ctx.head_seq = seq;
    ctx.head_hash = std::move(hash);
    return StoreStatus::Ok();
  }

  // --- verification ---

  StoreStatus VerifyInSnapshot(SqlConn* c, AuditVerifyResult* result) {
    constexpr int kChunk = 2000;
    AuditVerifyResult r;
    r.head_hash = kGenesisHash;
    auto fail = [&](int64_t seq, std::string problem) {
      r.ok = false;
      r.first_bad_seq = seq;
      r.problem = std::move(problem);
      *result = r;
      return StoreStatus::Ok();
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
          s = c->Exec(std::string("SELECT ") + kExamColumns + " FROM exams WHERE id >= $1 AND id <= $2",
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
          return fail(expected_seq, "audit event " + std::to_string(expected_seq) + " is missing");
        }
        if (e.prev_hash != r.head_hash) {
          return fail(e.seq, "prev_hash does not equal the hash of event " +
                                 std::to_string(e.seq - 1));
        }
        std::string hash = AuditEventHash(e.prev_hash, e.seq, e.time_ms, e.entry);
        if (hash != e.hash) {
          return fail(e.seq, "stored hash does not match the recomputed hash of the event");
        }
        if (e.entry.action == "exam.submit") {
          int64_t id = ExamIdFromObject(e.entry.object);
          auto it = exams.find(id);
          if (id <= 0 || it == exams.end()) {
            return fail(e.seq, "the exam this event records (" + e.entry.object + ") is missing");
          }
          ExamRecord exam;
          s = RowToExam(it->second, &exam);
          if (!s.ok()) return fail(e.seq, "exam " + std::to_string(id) + " is unreadable: " + s.message());
          if (exam.audit_seq != e.seq) {
            return fail(e.seq, "exam " + std::to_string(id) + " points at audit seq " +
                                   std::to_string(exam.audit_seq));
          }
          if ("exam_sha256=" + exam.content_sha256 != e.entry.details) {
            return fail(e.seq, "exam " + std::to_string(id) +
                                   " content does not match the hash recorded in this event");
          }
          covered_exams.insert(id);
        }
        r.head_hash = e.hash;
        r.length = e.seq;
        ++expected_seq;
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
        return fail(seq, "exam " + std::to_string(id) + " is not recorded by any audit event");
      }
    }
    r.ok = true;
    *result = r;
    return StoreStatus::Ok();
  }

  const Dialect dialect_;
  const std::string url_;
  StoreOptions options_;

  std::unique_ptr<SqlConn> write_conn_;  // committer thread only (after Init)
  std::thread committer_;
  std::thread checkpointer_;  // SQLite only
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::condition_variable stop_cv_;  // wakes the checkpointer at shutdown
  std::deque<Op*> queue_;
  bool stopping_ = false;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<SqlConn>> idle_;
  int open_readers_ = 0;

  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> committed_writes_{0};
};

}  // namespace

StoreStatus Store::Open(const StoreOptions& options, std::unique_ptr<Store>* store) {
  const std::string& url = options.url;
  Dialect dialect = Dialect::kSqlite;
  std::string target = url;
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    dialect = Dialect::kPostgres;
  } else if (url.rfind("sqlite:", 0) == 0) {
    target = url.substr(7);
  }
  if (target.empty()) {
    return StoreStatus::InvalidArgument(
        "database url is empty; expected a SQLite file path or postgresql://...", "url");
  }
  auto s = std::make_unique<SqlStore>(dialect, target, options);
  StoreStatus st = s->Init();
  if (!st.ok()) return st;
  *store = std::move(s);
  return StoreStatus::Ok();
}

}  // namespace storage
}  // namespace fetal
