// Opening a database written by the first schema (version 1) migrates it to principals, one
// written by version 2 gains prediction sets, and one written by version 3 or 4 has its
// monitoring aggregates built from the stored exams (docs/storage.md "Schema versions"), on
// SQLite and PostgreSQL. The version-1 database is built
// here as that schema's code wrote it, with its hash chain, including what it allowed and the
// current code refuses: a token name handed to a second token after the first was revoked, and a
// subnormal probability.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "server_fixture.h"
#include "storage/canonical.h"
#include "storage/store.h"
#include "test_support.h"

namespace fetal {
namespace testing_support {
namespace {

using storage::Actor;
using storage::AuditEntry;
using storage::ExamInput;
using storage::ExamRecord;
using storage::Store;
using storage::StoreStatus;

// The first schema, verbatim.
std::string Version1Tables(bool pg) {
  const std::string autoid = pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
  const std::string blob = pg ? "BYTEA" : "BLOB";
  return "CREATE TABLE storage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
         "INSERT INTO storage_meta (key, value) VALUES ('schema_version', '1');"
         "CREATE TABLE audit (seq BIGINT PRIMARY KEY, time_ms BIGINT NOT NULL, actor TEXT NOT "
         "NULL, role TEXT NOT NULL, request_id TEXT NOT NULL, action TEXT NOT NULL, object TEXT "
         "NOT NULL, outcome TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash "
         "TEXT NOT NULL);"
         "CREATE TABLE exams (id " +
         autoid +
         ", submitted_by TEXT NOT NULL, client_exam_id TEXT NOT NULL, body_sha256 TEXT NOT NULL, "
         "features TEXT NOT NULL, client_class INTEGER NOT NULL, client_probabilities TEXT NOT "
         "NULL, model_version BIGINT NOT NULL, server_class INTEGER NOT NULL, "
         "server_probabilities TEXT NOT NULL, agreement INTEGER NOT NULL, max_abs_diff DOUBLE "
         "PRECISION NOT NULL, patient_ref TEXT NOT NULL, note TEXT NOT NULL, client_timestamp "
         "TEXT NOT NULL, received_ms BIGINT NOT NULL, audit_seq BIGINT NOT NULL, UNIQUE "
         "(submitted_by, client_exam_id));"
         "CREATE INDEX exams_by_submitter ON exams (submitted_by, id);"
         "CREATE TABLE tokens (id " +
         autoid +
         ", name TEXT NOT NULL, role TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE, "
         "created_ms BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, revoked_ms BIGINT NOT "
         "NULL DEFAULT 0);"
         "CREATE TABLE models (version BIGINT PRIMARY KEY, sha256 TEXT NOT NULL, signature TEXT "
         "NOT NULL, metadata_json TEXT NOT NULL, created_ms BIGINT NOT NULL, active INTEGER NOT "
         "NULL DEFAULT 0, bundle " +
         blob + " NOT NULL);";
}

// The second schema: version 1 with exams owned by principals.
std::string Version2Tables(bool pg) {
  std::string sql = Version1Tables(pg);
  const auto replace = [&sql](const std::string& from, const std::string& to) {
    const size_t at = sql.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    sql.replace(at, from.size(), to);
  };
  replace("('schema_version', '1')", "('schema_version', '2')");
  replace("audit_seq BIGINT NOT NULL, UNIQUE (submitted_by, client_exam_id));",
          "audit_seq BIGINT NOT NULL, submitted_by_id BIGINT NOT NULL DEFAULT 0, content_version "
          "INTEGER NOT NULL DEFAULT 2, CONSTRAINT exams_principal_key UNIQUE (submitted_by_id, "
          "client_exam_id, submitted_by));");
  return sql;
}

std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

ExamInput AnExam(const std::string& key, double p0) {
  ExamInput e;
  e.client_exam_id = key;
  for (int f = 0; f < kNumFeatures; ++f) e.features[f] = 100.0 / 3.0 + f * 0.1;
  e.client_class = 1;
  e.client_probabilities = {p0, 0.5, 0.5 - p0};
  e.model_version = 1;
  e.server_class = 1;
  e.server_probabilities = {0.25, 0.5, 0.25};
  e.agreement = false;
  e.max_abs_diff = 0.25;
  e.note = "it's \"noted\"\nline 2";
  e.client_timestamp = "2026-11-28T12:00:00Z";
  e.body_sha256 = std::string(64, key.back());
  return e;
}

class SchemaMigrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_ = MakeTempDir("migration");
      url_ = dir_ + "/fetal.db";
    } else {
      std::string error;
      url_ = Postgres::NewDatabase(&error);
      ASSERT_FALSE(url_.empty()) << error;
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) RemoveTree(dir_);
  }

  void Sql(const std::string& sql) {
    std::string error;
    ASSERT_TRUE(GetParam() == "sqlite" ? SqliteExecute(url_, sql, &error)
                                       : Postgres::Execute(url_, sql, &error))
        << error;
  }

  StoreStatus Open() {
    store_.reset();
    storage::StoreOptions options;
    options.url = url_;
    return Store::Open(options, &store_);
  }

  // Appends one event of the version-1 chain by hand.
  void Event(const std::string& actor, const std::string& role, const std::string& action,
             const std::string& object, const std::string& details) {
    const int64_t seq = ++seq_;
    const int64_t time_ms = 1795000000000 + seq;
    AuditEntry entry{Actor{actor, role, "r" + std::to_string(seq)}, action, object, "ok", details};
    const std::string hash = storage::AuditEventHash(head_, seq, time_ms, entry);
    Sql("INSERT INTO audit VALUES (" + std::to_string(seq) + ", " + std::to_string(time_ms) + ", " +
        Quoted(actor) + ", " + Quoted(role) + ", " + Quoted(entry.actor.request_id) + ", " +
        Quoted(action) + ", " + Quoted(object) + ", 'ok', " + Quoted(details) + ", " +
        Quoted(head_) + ", " + Quoted(hash) + ")");
    head_ = hash;
  }

  // Stores exam `id` submitted under `name` with its exam.submit event: in the version-1 form,
  // or given an owner (a principal, version 2) in the version-2 form.
  void Exam(int64_t id, const std::string& name, const ExamInput& e, int64_t owner = -1) {
    ExamRecord rec{id, e, name, 1795000000000 + seq_ + 1, seq_ + 1, ""};
    rec.content_version = owner < 0 ? 1 : 2;
    rec.submitted_by_id = owner < 0 ? 0 : owner;
    const storage::ExamNumbers n = storage::FormatExamNumbers(e);
    const std::string version2 =
        owner < 0 ? "" : ", " + std::to_string(owner) + ", " + std::to_string(rec.content_version);
    Sql("INSERT INTO exams VALUES (" + std::to_string(id) + ", " + Quoted(name) + ", " +
        Quoted(e.client_exam_id) + ", " + Quoted(e.body_sha256) + ", " + Quoted(n.features) +
        ", 1, " + Quoted(n.client_probabilities) + ", 1, 1, " + Quoted(n.server_probabilities) +
        ", 0, " + n.max_abs_diff + ", '', " + Quoted(e.note) + ", " + Quoted(e.client_timestamp) +
        ", " + std::to_string(rec.received_ms) + ", " + std::to_string(rec.audit_seq) + version2 +
        ")");
    Event(name, "clinician", "exam.submit", "exam/" + std::to_string(id),
          "exam_sha256=" + storage::ExamContentHash(rec));
  }

  void Token(int64_t id, const std::string& name, bool revoked) {
    Sql("INSERT INTO tokens VALUES (" + std::to_string(id) + ", " + Quoted(name) +
        ", 'clinician', " + Quoted(std::string(63, 'a') + std::to_string(id)) + ", 1, " +
        (revoked ? "1, 2" : "0, 0") + ")");
    Event("cli", "admin", "token.create", "token/" + std::to_string(id),
          "name=" + name + ";role=clinician");
  }

  std::string dir_, url_;
  std::unique_ptr<Store> store_;
  int64_t seq_ = 0;
  std::string head_ = storage::kGenesisHash;
};

TEST_P(SchemaMigrationTest, Version1DatabaseMigratesToPrincipals) {
  const bool pg = GetParam() == "postgresql";
  Sql(Version1Tables(pg));
  Token(1, "ward-3", true);
  Exam(1, "ward-3", AnExam("k1", 0.1));
  Event("cli", "admin", "token.revoke", "token/1", "");
  Token(2, "ward-3", false);  // version 1 let a revoked name go to someone else
  Exam(2, "ward-3", AnExam("k4", 0.2));
  Exam(3, "ward-3", AnExam("k2", 1e-310));  // version 1 stored subnormals
  Exam(4, "ghost", AnExam("k1", 0.3));      // a name no token had
  if (pg) Sql("SELECT setval('exams_id_seq', 4); SELECT setval('tokens_id_seq', 2)");

  StoreStatus s = Open();
  ASSERT_TRUE(s.ok()) << s.ToString();
  const int64_t owners[] = {0, 1, 2, 2, 0};
  for (int64_t id = 1; id <= 4; ++id) {
    ExamRecord got;
    s = store_->GetExam(id, &got);
    ASSERT_TRUE(s.ok()) << id << ": " << s.ToString();
    EXPECT_EQ(got.submitted_by_id, owners[id]) << id;
    EXPECT_EQ(got.content_version, 1) << id;
  }
  ExamRecord subnormal;
  ASSERT_TRUE(store_->GetExam(3, &subnormal).ok());
  EXPECT_EQ(subnormal.input.client_probabilities[0], 1e-310) << "read back exactly";
  storage::AuditVerifyResult v;
  ASSERT_TRUE(store_->VerifyAudit(&v).ok());
  EXPECT_TRUE(v.ok) << v.problem << " at " << v.first_bad_seq;
  EXPECT_EQ(v.length, 7);

  // Keys now belong to principals: each token replays its own exam, and the second token's
  // "k1" is its own (version 1 would have handed it the first token's exam).
  storage::SubmitResult r;
  ASSERT_TRUE(store_->SubmitExam(AnExam("k4", 0.2), Actor{"ward-3", "clinician", "", 2}, &r).ok());
  EXPECT_TRUE(r.replayed);
  EXPECT_EQ(r.exam.id, 2);
  ASSERT_TRUE(store_->SubmitExam(AnExam("k1", 0.1), Actor{"ward-3", "clinician", "", 1}, &r).ok());
  EXPECT_TRUE(r.replayed);
  EXPECT_EQ(r.exam.id, 1);
  ASSERT_TRUE(store_->SubmitExam(AnExam("k1", 0.4), Actor{"ward-3", "clinician", "", 2}, &r).ok());
  EXPECT_FALSE(r.replayed);
  EXPECT_GT(r.exam.id, 4);  // PostgreSQL's sequence may have skipped the replays' ids
  EXPECT_EQ(r.exam.content_version, storage::kExamContentVersion);
  const int64_t new_id = r.exam.id;
  storage::ExamFilter mine;
  mine.submitted_by_id = 2;
  storage::ExamPage page;
  ASSERT_TRUE(store_->ListExams(mine, "", 100, &page).ok());
  ASSERT_EQ(page.exams.size(), 3u);
  EXPECT_EQ(page.exams[0].id, 2);
  EXPECT_EQ(page.exams[2].id, new_id);
  // The name stays with its tokens.
  storage::TokenRecord t;
  EXPECT_EQ(store_
                ->CreateToken("ward-3", "clinician", std::string(64, 'f'),
                              Actor{"cli", "admin", ""}, &t)
                .code(),
            StoreStatus::Code::kConflict);

  // Opening again changes nothing; a database from a newer schema is refused.
  s = Open();
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(store_->VerifyAudit(&v).ok());
  EXPECT_TRUE(v.ok) << v.problem;
  store_.reset();
  Sql("UPDATE storage_meta SET value = '99' WHERE key = 'schema_version'");
  s = Open();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("schema version 99"), std::string::npos) << s.ToString();
}

// Version 2 -> 3: the exams stored before read back with no set (0) and their hashes unchanged;
// new exams keep the server's set, which reads back as stored and is covered by the chain.
TEST_P(SchemaMigrationTest, Version2DatabaseGainsPredictionSets) {
  const bool pg = GetParam() == "postgresql";
  Sql(Version2Tables(pg));
  Token(1, "ward-3", false);
  Exam(1, "ward-3", AnExam("k1", 0.1), 1);
  if (pg) Sql("SELECT setval('exams_id_seq', 1); SELECT setval('tokens_id_seq', 1)");

  StoreStatus s = Open();
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExamRecord old;
  ASSERT_TRUE(store_->GetExam(1, &old).ok());
  EXPECT_EQ(old.input.server_set, 0u);
  EXPECT_EQ(old.content_version, 2);
  EXPECT_EQ(old.submitted_by_id, 1);

  ExamInput with_set = AnExam("k2", 0.2);
  with_set.server_set = 6;  // Suspect or Pathological; server_class is Suspect
  storage::SubmitResult r;
  ASSERT_TRUE(store_->SubmitExam(with_set, Actor{"ward-3", "clinician", "", 1}, &r).ok());
  const int64_t with_set_id = r.exam.id;
  ExamRecord got;
  ASSERT_TRUE(store_->GetExam(with_set_id, &got).ok());
  EXPECT_EQ(got.input.server_set, 6u);
  EXPECT_EQ(got.content_sha256, r.exam.content_sha256);
  storage::AuditVerifyResult v;
  ASSERT_TRUE(store_->VerifyAudit(&v).ok());
  EXPECT_TRUE(v.ok) << v.problem << " at " << v.first_bad_seq;
  EXPECT_EQ(v.length, 3);

  // A set that does not hold the server's class is refused, naming the field.
  ExamInput wrong = AnExam("k3", 0.3);
  wrong.server_set = 4;  // Pathological only; server_class is Suspect
  s = store_->SubmitExam(wrong, Actor{"ward-3", "clinician", "", 1}, &r);
  EXPECT_EQ(s.code(), StoreStatus::Code::kInvalidArgument);
  EXPECT_EQ(s.field(), "server_set") << s.ToString();

  // Opening again changes nothing.
  s = Open();
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(store_->GetExam(with_set_id, &got).ok());
  EXPECT_EQ(got.input.server_set, 6u);
  ASSERT_TRUE(store_->VerifyAudit(&v).ok());
  EXPECT_TRUE(v.ok) << v.problem;
}

// Equal JSON, but floating-point numbers only to 1e-12 relative: the rebuild sums a row's
// probabilities and distances in other groups than the live writes did.
bool SameFigures(const json& a, const json& b) {
  if (a.is_number_float() || b.is_number_float()) {
    if (!a.is_number() || !b.is_number()) return false;
    const double x = a.get<double>(), y = b.get<double>();
    return std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameFigures(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key()) || !SameFigures(it.value(), b[it.key()])) return false;
    }
    return true;
  }
  return a == b;
}

// A real fetal-server over a database migrated from versions 4 and 3: GET /monitoring counts
// the exams stored before the aggregates existed, with the figures the server had computed for
// them as they were submitted.
class MigratedMonitoringTest : public ServerFixture {
 protected:
  void SubmitOn(const std::string& id, const std::string& day, bool nudge = false) {
    json exam = Exam(id);
    exam["client_time"] = day + "T09:30:00Z";
    if (nudge) {  // a browser that showed another class: a client/server disagreement
      const std::string cls = exam["client_result"]["class"];
      exam["client_result"]["class"] = cls == "Normal" ? "Suspect" : "Normal";
    }
    submitted_.push_back(Submit(exam, clinician_)["id"].get<int64_t>());
  }

  json Windows() {
    auto r = Get("/api/v1/monitoring?from=2026-11-01&to=2026-11-05", auditor_);
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return Body(r)["windows"];
  }

  void Downgrade(const std::string& sql) {
    ASSERT_EQ(server_.Stop(), 0);
    RawSql(sql);
    ASSERT_TRUE(StartServer(DefaultArgs()));
  }

  std::vector<int64_t> submitted_;
};

TEST_P(MigratedMonitoringTest, ExamsStoredBeforeTheAggregatesAreCounted) {
  for (const char* day : {"2026-11-01", "2026-11-01", "2026-11-01", "2026-11-04", "2026-11-04"}) {
    SubmitOn("m-" + std::to_string(submitted_.size()), day);
  }
  SubmitOn("m-nudged", "2026-11-02", true);
  // More than one page of the rebuild (1,000 exams by id), on a day of their own.
  for (int first = 0; first < 1500; first += 500) {
    json batch = {{"exams", json::array()}};
    for (int i = first; i < first + 500; ++i) {
      json exam = Exam("bulk-" + std::to_string(i));
      exam["client_time"] = "2026-11-03T08:00:00Z";
      batch["exams"].push_back(exam);
    }
    auto r = Post("/api/v1/exams:batch", clinician_, batch.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body.substr(0, 300);
  }
  auto r = Post("/api/v1/exams/" + std::to_string(submitted_[0]) + "/outcome", clinician_,
                R"({"final_reading": "Pathological"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const json live = Windows();
  ASSERT_EQ(live.size(), 5u) << live;
  ASSERT_EQ(live[0]["exams"], 3);
  ASSERT_EQ(live[0]["outcomes"]["count"], 1);

  // Version 4 whose aggregates were lost: rebuilt, outcome included, to the same answer.
  Downgrade(
      "DELETE FROM exam_day_stats;"
      "UPDATE storage_meta SET value = '4' WHERE key = 'schema_version';");
  const json rebuilt = Windows();
  EXPECT_TRUE(SameFigures(rebuilt, live)) << rebuilt << "\n" << live;

  // Version 3: no aggregates, no outcomes, no runtime builds.
  Downgrade(
      "DROP TABLE exam_day_stats; DROP TABLE exam_outcomes;"
      "ALTER TABLE exams DROP COLUMN runtime_build;"
      "UPDATE storage_meta SET value = '3' WHERE key = 'schema_version';");
  const json migrated = Windows();
  ASSERT_EQ(migrated.size(), live.size()) << migrated;
  int64_t exams = 0;
  for (size_t i = 0; i < live.size(); ++i) {
    exams += migrated[i]["exams"].get<int64_t>();
    for (const char* same :
         {"exams", "class_mix", "mean_probabilities", "ood", "out_of_range_share", "warning_share",
          "figo_disagreement_rate", "client_server_disagreement", "drift", "estimated"}) {
      EXPECT_TRUE(SameFigures(migrated[i][same], live[i][same]))
          << same << " of " << live[i]["start"] << ": " << migrated[i][same] << " against "
          << live[i][same];
    }
    EXPECT_EQ(migrated[i]["outcomes"]["count"], 0);
  }
  EXPECT_EQ(exams, static_cast<int64_t>(submitted_.size()) + 1500);
  EXPECT_EQ(migrated[2]["exams"], 1500);
  EXPECT_EQ(migrated[1]["client_server_disagreement"]["count"], 1);

  // Outcomes recorded after the migration land on the migrated exams' rows.
  r = Post("/api/v1/exams/" + std::to_string(submitted_[0]) + "/outcome", clinician_,
           R"({"final_reading": "Pathological"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_TRUE(SameFigures(Windows()[0]["performance"], live[0]["performance"]));
}

INSTANTIATE_TEST_SUITE_P(Backends, MigratedMonitoringTest,
                         ::testing::Values("sqlite", "postgresql"), BackendName);

INSTANTIATE_TEST_SUITE_P(Backends, SchemaMigrationTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& backend) {
                           return backend.param;
                         });

}  // namespace
}  // namespace testing_support
}  // namespace fetal
