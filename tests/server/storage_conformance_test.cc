// One conformance suite for every Store backend: the same behaviour is required of SQLite and
// PostgreSQL. PostgreSQL comes from FETAL_TEST_PG_URL, or else a throwaway cluster this binary
// starts with scripts/pg-throwaway.sh and stops at exit. Each test gets a fresh database / file.
// Tampering goes straight to the database (sqlite3 / libpqxx), never through the Store.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fetal/sha256.h"
#include "storage/canonical.h"
#include "storage/store.h"

// libpqxx 6.4 drops the PGresult of a statement that fails on a lost connection (a few hundred
// bytes per failure, only while PostgreSQL is down); the outage tests would otherwise fail the
// sanitizer build (FETAL_SANITIZE) on that library leak.
extern "C" const char* __lsan_default_suppressions() { return "leak:PQmakeEmptyPGresult\n"; }

namespace fetal {
namespace storage {
namespace {

// --- throwaway PostgreSQL ----------------------------------------------------------------------

std::string RunCommand(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *exit_code = -1;
    return out;
  }
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int rc = pclose(p);
  *exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Replaces the database name of a postgresql:// URL.
std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return url + "/" + db;
  size_t end = url.find('?', slash);
  return url.substr(0, slash + 1) + db + (end == std::string::npos ? "" : url.substr(end));
}

class PostgresCluster : public ::testing::Environment {
 public:
  static PostgresCluster* Get() {
    static PostgresCluster* env =
        static_cast<PostgresCluster*>(::testing::AddGlobalTestEnvironment(new PostgresCluster));
    return env;
  }

  // Admin URL (database "postgres"); empty with *error set when no cluster can be had.
  std::string AdminUrl(std::string* error) {
    if (!admin_url_.empty() || !error_.empty()) {
      *error = error_;
      return admin_url_;
    }
    if (const char* env = getenv("FETAL_TEST_PG_URL"); env && *env) {
      admin_url_ = env;
      return admin_url_;
    }
    char tmpl[] = "/tmp/fetal-pg-XXXXXX";
    if (!mkdtemp(tmpl)) {
      error_ = "mkdtemp failed";
      *error = error_;
      return "";
    }
    dir_ = tmpl;
    for (int attempt = 0; attempt < 5 && admin_url_.empty(); ++attempt) {
      int port = 20000 + (getpid() * 7 + attempt * 131) % 30000;
      int rc = 0;
      std::string out =
          RunCommand(std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh start " + dir_ +
                         " " + std::to_string(port) + " 2>&1",
                     &rc);
      if (rc == 0) {
        admin_url_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
      } else {
        error_ = "pg-throwaway.sh start failed: " + out;
      }
    }
    if (!admin_url_.empty()) error_.clear();
    *error = error_;
    return admin_url_;
  }

  // A fresh, empty database on the cluster; returns its URL.
  std::string CreateDatabase(std::string* error) {
    std::string admin = AdminUrl(error);
    if (admin.empty()) return "";
    std::string name = "fetal_t" + std::to_string(getpid()) + "_" + std::to_string(++counter_);
    try {
      pqxx::connection c(admin);
      pqxx::nontransaction tx(c);
      tx.exec("CREATE DATABASE " + name);
    } catch (const std::exception& e) {
      *error = e.what();
      return "";
    }
    return WithDatabase(admin, name);
  }

  void TearDown() override {
    if (!dir_.empty()) {
      int rc = 0;
      RunCommand(std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh stop " + dir_ + " 2>&1",
                 &rc);
    }
  }

 private:
  std::string dir_, admin_url_, error_;
  int counter_ = 0;
};

// Registers the environment before RUN_ALL_TESTS so its TearDown stops the cluster.
[[maybe_unused]] PostgresCluster* const kRegistered = PostgresCluster::Get();

// --- helpers -----------------------------------------------------------------------------------

std::string HashOf(const std::string& s) { return Sha256Hex(s.data(), s.size()); }

// A plausible exam whose numbers vary with `i`; awkward doubles test exact round trips.
ExamInput MakeExam(int i, const std::string& key_prefix = "k") {
  ExamInput e;
  e.client_exam_id = key_prefix + std::to_string(i);
  for (int f = 0; f < kNumFeatures; ++f) e.features[f] = 100.0 / 3.0 + f * 0.1 + i * 1e-7;
  e.features[1] = 0.001 * (i % 7);
  e.client_class = i % 3;
  e.client_probabilities = {0.1 + 1e-17 * i, 1.0 / 3.0, 0.9 - 1.0 / 3.0};
  e.model_version = 1 + i % 2;
  e.server_class = e.client_class;
  e.server_probabilities = e.client_probabilities;
  // Every third exam without a prediction set (as from a model that has none), the others with one.
  e.server_set = i % 3 == 0 ? 0u : (1u << e.server_class) | (i % 2 ? 4u : 0u);
  e.agreement = i % 5 != 0;
  e.max_abs_diff = e.agreement ? 0 : 0.25;
  e.patient_ref = i % 4 == 0 ? "" : "P-" + std::to_string(i);
  e.note = "note \"quoted\"\nline=" + std::to_string(i) + ":x";
  e.client_timestamp = "2026-11-28T12:00:00Z";
  e.body_sha256 = HashOf(CanonicalExam(ExamRecord{0, e, "", 0, 0, ""}));
  return e;
}

// A clinician principal per name (the server's token id; here just a number per name).
Actor Clinician(const std::string& name = "clin-a") {
  static std::mutex mu;
  static std::map<std::string, int64_t> ids;
  std::lock_guard<std::mutex> lock(mu);
  int64_t id = ids.emplace(name, static_cast<int64_t>(ids.size()) + 1).first->second;
  return Actor{name, "clinician", "req-1", id};
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      char tmpl[] = "/tmp/fetal-store-XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      url_ = dir_ + "/fetal.db";
    } else {
      std::string error;
      url_ = PostgresCluster::Get()->CreateDatabase(&error);
      ASSERT_FALSE(url_.empty()) << "no PostgreSQL for the conformance suite: " << error;
    }
    ASSERT_TRUE(Reopen().ok());
  }

  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) {
      int rc = 0;
      RunCommand("rm -rf " + dir_, &rc);
    }
  }

  StoreStatus Reopen() {
    store_.reset();
    StoreOptions options;
    options.url = url_;
    return Store::Open(options, &store_);
  }

  std::unique_ptr<Store> OpenAnother() {
    StoreOptions options;
    options.url = url_;
    std::unique_ptr<Store> s;
    StoreStatus st = Store::Open(options, &s);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return s;
  }

  // Runs SQL directly on the database, bypassing the Store (the tamper tests' attacker).
  void RawExec(const std::string& sql) {
    if (GetParam() == "sqlite") {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(url_.c_str(), &db), SQLITE_OK);
      sqlite3_busy_timeout(db, 5000);
      char* err = nullptr;
      int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
      EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
      sqlite3_free(err);
      sqlite3_close(db);
    } else {
      pqxx::connection c(url_);
      pqxx::nontransaction tx(c);
      tx.exec(sql);
    }
  }

  int64_t AuditLength() {
    AuditCheckpoint cp;
    EXPECT_TRUE(store_->Checkpoint(&cp).ok());
    return cp.seq;
  }

  SubmitResult Submit(const ExamInput& e, const Actor& by = Clinician()) {
    SubmitResult r;
    StoreStatus s = store_->SubmitExam(e, by, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  AuditVerifyResult Verify() {
    AuditVerifyResult v;
    StoreStatus s = store_->VerifyAudit(&v);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return v;
  }

  std::string dir_, url_;
  std::unique_ptr<Store> store_;
};

// --- exams -------------------------------------------------------------------------------------

TEST_P(StoreTest, SubmittedExamReadsBackExactly) {
  ExamInput in = MakeExam(7);
  SubmitResult r = Submit(in);
  EXPECT_FALSE(r.replayed);
  EXPECT_GT(r.exam.id, 0);
  EXPECT_GT(r.exam.audit_seq, 0);

  ExamRecord got;
  ASSERT_TRUE(store_->GetExam(r.exam.id, &got).ok());
  for (int f = 0; f < kNumFeatures; ++f) EXPECT_EQ(got.input.features[f], in.features[f]) << f;
  for (int c = 0; c < kNumClasses; ++c) {
    EXPECT_EQ(got.input.client_probabilities[c], in.client_probabilities[c]);
    EXPECT_EQ(got.input.server_probabilities[c], in.server_probabilities[c]);
  }
  EXPECT_EQ(got.input.client_exam_id, in.client_exam_id);
  EXPECT_EQ(got.input.note, in.note);
  EXPECT_EQ(got.input.patient_ref, in.patient_ref);
  EXPECT_EQ(got.input.max_abs_diff, in.max_abs_diff);
  EXPECT_EQ(got.input.agreement, in.agreement);
  EXPECT_EQ(got.input.server_set, in.server_set);
  EXPECT_NE(in.server_set, 0u);
  EXPECT_EQ(got.submitted_by, "clin-a");
  EXPECT_EQ(got.content_sha256, r.exam.content_sha256);

  AuditEvent ev;
  ASSERT_TRUE(store_->GetAudit(r.exam.audit_seq, &ev).ok());
  EXPECT_EQ(ev.entry.action, "exam.submit");
  EXPECT_EQ(ev.entry.object, "exam/" + std::to_string(r.exam.id));
  EXPECT_EQ(ev.entry.details, "exam_sha256=" + r.exam.content_sha256);
  EXPECT_EQ(ev.entry.actor.request_id, "req-1");

  ExamRecord missing;
  EXPECT_EQ(store_->GetExam(r.exam.id + 1000, &missing).code(), StoreStatus::Code::kNotFound);
}

TEST_P(StoreTest, ReplaySameKeyAndBodyReturnsOriginal) {
  SubmitResult first = Submit(MakeExam(1));
  int64_t length = AuditLength();
  SubmitResult again = Submit(MakeExam(1));
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.exam.id, first.exam.id);
  EXPECT_EQ(again.exam.received_ms, first.exam.received_ms);
  EXPECT_EQ(again.exam.content_sha256, first.exam.content_sha256);
  EXPECT_EQ(AuditLength(), length) << "a replay is not a state change";
}

TEST_P(StoreTest, SameKeyOtherBodyIsConflictNamingTheKey) {
  Submit(MakeExam(1));
  ExamInput changed = MakeExam(1);
  changed.note = "edited";
  changed.body_sha256 = HashOf("another body");
  SubmitResult r;
  StoreStatus s = store_->SubmitExam(changed, Clinician(), &r);
  EXPECT_EQ(s.code(), StoreStatus::Code::kConflict);
  EXPECT_EQ(s.field(), "client_exam_id");
  EXPECT_NE(s.message().find("\"k1\""), std::string::npos) << s.message();
}

TEST_P(StoreTest, IdempotencyKeysAreScopedPerSubmitter) {
  SubmitResult a = Submit(MakeExam(1), Clinician("a"));
  SubmitResult b = Submit(MakeExam(1), Clinician("b"));
  EXPECT_FALSE(b.replayed);
  EXPECT_NE(a.exam.id, b.exam.id);
  EXPECT_EQ(a.exam.submitted_by_id, Clinician("a").principal_id);
  ExamRecord got;
  ASSERT_TRUE(store_->GetExam(b.exam.id, &got).ok());
  EXPECT_EQ(got.submitted_by_id, Clinician("b").principal_id);
  EXPECT_EQ(got.content_version, kExamContentVersion);
  // The key belongs to the principal: another principal under the same name is not a replay.
  Actor same_name_other_principal = Clinician("a");
  same_name_other_principal.principal_id = 999;
  SubmitResult c = Submit(MakeExam(1), same_name_other_principal);
  EXPECT_FALSE(c.replayed);
  ExamPage page;
  ExamFilter mine;
  mine.submitted_by_id = 999;
  ASSERT_TRUE(store_->ListExams(mine, "", 100, &page).ok());
  ASSERT_EQ(page.exams.size(), 1u);
  EXPECT_EQ(page.exams[0].id, c.exam.id);
  // Without a principal nothing is stored.
  SubmitResult r;
  EXPECT_EQ(store_->SubmitExam(MakeExam(2), Actor{"nobody", "clinician", ""}, &r).field(),
            "submitted_by_id");
}

TEST_P(StoreTest, InvalidExamNamesTheField) {
  ExamInput e = MakeExam(1);
  e.features[3] = std::nan("");
  SubmitResult r;
  StoreStatus s = store_->SubmitExam(e, Clinician(), &r);
  EXPECT_EQ(s.code(), StoreStatus::Code::kInvalidArgument);
  EXPECT_EQ(s.field(), std::string(FeatureSchema()[3].key));
  e = MakeExam(1);
  e.client_exam_id = "";
  EXPECT_EQ(store_->SubmitExam(e, Clinician(), &r).field(), "client_exam_id");
  e = MakeExam(1);
  e.client_class = 3;
  EXPECT_EQ(store_->SubmitExam(e, Clinician(), &r).field(), "client_class");
}

TEST_P(StoreTest, BatchWithOneConflictStoresNothing) {
  Submit(MakeExam(500, "b"));  // a stored exam the batch will collide with
  StoreStats before;
  ASSERT_TRUE(store_->Stats(&before).ok());
  std::vector<ExamInput> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(MakeExam(i, "b"));
  batch[500].note = "different";
  batch[500].body_sha256 = HashOf("different");
  std::vector<SubmitResult> out;
  StoreStatus s = store_->SubmitExamBatch(batch, Clinician(), &out);
  EXPECT_EQ(s.code(), StoreStatus::Code::kConflict);
  EXPECT_EQ(s.field(), "exams[500].client_exam_id");
  StoreStats after;
  ASSERT_TRUE(store_->Stats(&after).ok());
  EXPECT_EQ(after.exams, before.exams);
  EXPECT_EQ(after.audit_length, before.audit_length);
  EXPECT_TRUE(Verify().ok);

  // Invalid input in the middle is refused before anything runs, naming the element.
  batch[500] = MakeExam(500, "b");
  batch[700].features[0] = INFINITY;
  s = store_->SubmitExamBatch(batch, Clinician(), &out);
  EXPECT_EQ(s.code(), StoreStatus::Code::kInvalidArgument);
  EXPECT_EQ(s.field(), "exams[700]." + std::string(FeatureSchema()[0].key));
}

TEST_P(StoreTest, BatchStoresAllAndReplaysAll) {
  std::vector<ExamInput> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(MakeExam(i, "ok"));
  std::vector<SubmitResult> out;
  ASSERT_TRUE(store_->SubmitExamBatch(batch, Clinician(), &out).ok());
  ASSERT_EQ(out.size(), 1000u);
  std::set<int64_t> ids;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_FALSE(out[i].replayed);
    EXPECT_EQ(out[i].exam.input.client_exam_id, batch[i].client_exam_id);
    ids.insert(out[i].exam.id);
  }
  EXPECT_EQ(ids.size(), 1000u);
  StoreStats stats;
  ASSERT_TRUE(store_->Stats(&stats).ok());
  EXPECT_EQ(stats.exams, 1000);
  EXPECT_EQ(stats.mismatches, 200);  // MakeExam: every 5th disagrees

  std::vector<SubmitResult> again;
  ASSERT_TRUE(store_->SubmitExamBatch(batch, Clinician(), &again).ok());
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_TRUE(again[i].replayed);
    EXPECT_EQ(again[i].exam.id, out[i].exam.id);
  }
  EXPECT_TRUE(Verify().ok);
}

TEST_P(StoreTest, KeyRepeatedInsideABatch) {
  std::vector<SubmitResult> out;
  ASSERT_TRUE(store_->SubmitExamBatch({MakeExam(1), MakeExam(1)}, Clinician(), &out).ok());
  EXPECT_FALSE(out[0].replayed);
  EXPECT_TRUE(out[1].replayed);
  EXPECT_EQ(out[0].exam.id, out[1].exam.id);

  ExamInput other = MakeExam(2);
  other.body_sha256 = HashOf("x");
  StoreStatus s = store_->SubmitExamBatch({MakeExam(2), other}, Clinician(), &out);
  EXPECT_EQ(s.code(), StoreStatus::Code::kConflict);
  EXPECT_EQ(s.field(), "exams[1].client_exam_id");
  ExamPage page;
  ASSERT_TRUE(store_->ListExams({}, "", 100, &page).ok());
  EXPECT_EQ(page.exams.size(), 1u) << "the batch with the conflict left nothing behind";
}

// --- listing -----------------------------------------------------------------------------------

TEST_P(StoreTest, CursorPagingIsStableUnderConcurrentInserts) {
  std::set<int64_t> initial;
  for (int i = 0; i < 300; ++i) initial.insert(Submit(MakeExam(i)).exam.id);

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 1000; !stop; ++i) {
      SubmitResult r;
      ASSERT_TRUE(store_->SubmitExam(MakeExam(i), Clinician(), &r).ok());
    }
  });
  std::vector<int64_t> seen;
  std::string cursor;
  int pages = 0;
  do {
    ExamPage page;
    StoreStatus s = store_->ListExams({}, cursor, 37, &page);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (const auto& e : page.exams) seen.push_back(e.id);
    cursor = page.next_cursor;
    if (++pages == 12) stop = true;  // writes overlap the first pages, then the walk finishes
  } while (!cursor.empty());
  stop = true;
  writer.join();

  for (size_t i = 1; i < seen.size(); ++i) ASSERT_LT(seen[i - 1], seen[i]) << "order or duplicate";
  std::set<int64_t> seen_set(seen.begin(), seen.end());
  for (int64_t id : initial) EXPECT_TRUE(seen_set.count(id)) << "skipped exam " << id;
}

TEST_P(StoreTest, FiltersSelectExactlyTheMatchingExams) {
  std::vector<ExamRecord> all;
  for (int i = 0; i < 60; ++i) {
    all.push_back(Submit(MakeExam(i), Clinician(i % 2 ? "odd" : "even")).exam);
  }
  auto list = [&](const ExamFilter& f) {
    std::vector<int64_t> ids;
    std::string cursor;
    do {
      ExamPage page;
      StoreStatus s = store_->ListExams(f, cursor, 7, &page);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok()) break;
      for (const auto& e : page.exams) ids.push_back(e.id);
      cursor = page.next_cursor;
    } while (!cursor.empty());
    return ids;
  };
  auto expect = [&](auto pred) {
    std::vector<int64_t> ids;
    for (const auto& e : all) {
      if (pred(e)) ids.push_back(e.id);
    }
    return ids;
  };
  ExamFilter f;
  f.client_class = 2;
  EXPECT_EQ(list(f), expect([](const ExamRecord& e) { return e.input.client_class == 2; }));
  f = {};
  f.model_version = 2;
  EXPECT_EQ(list(f), expect([](const ExamRecord& e) { return e.input.model_version == 2; }));
  f = {};
  f.agreement = Agreement::kMismatch;
  EXPECT_EQ(list(f), expect([](const ExamRecord& e) { return !e.input.agreement; }));
  f.submitted_by = "odd";
  EXPECT_EQ(list(f), expect([](const ExamRecord& e) {
              return !e.input.agreement && e.submitted_by == "odd";
            }));
  f = {};
  f.from_ms = all[20].received_ms;
  f.to_ms = all[40].received_ms + 1;
  EXPECT_EQ(list(f), expect([&](const ExamRecord& e) {
              return e.received_ms >= *f.from_ms && e.received_ms < *f.to_ms;
            }));
  f = {};
  f.from_ms = all.back().received_ms + 1;
  EXPECT_TRUE(list(f).empty());
}

TEST_P(StoreTest, ListRejectsBadLimitAndCursor) {
  ExamPage page;
  EXPECT_EQ(store_->ListExams({}, "", 0, &page).field(), "limit");
  EXPECT_EQ(store_->ListExams({}, "", 1001, &page).field(), "limit");
  EXPECT_EQ(store_->ListExams({}, "garbage", 10, &page).field(), "cursor");
  std::vector<AuditEvent> events;
  EXPECT_EQ(store_->ListAudit(0, 0, &events).field(), "limit");
}

// --- audit -------------------------------------------------------------------------------------

TEST_P(StoreTest, ChainVerifiesAfterManyConcurrentAppends) {
  constexpr int kThreads = 8, kEach = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        StoreStatus s;
        if (i % 3 == 0) {
          SubmitResult r;
          s = store_->SubmitExam(MakeExam(t * 1000 + i), Clinician(), &r);
        } else {
          AuditEvent ev;
          s = store_->AppendAudit({Actor{"aud", "auditor", "r"}, "exam.read", "exam/1", "ok", ""},
                                  &ev);
        }
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  AuditVerifyResult v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.length, kThreads * kEach);

  // Paging the chain returns every event once, linked, ending at the checkpoint.
  std::vector<AuditEvent> all;
  int64_t after = 0;
  for (;;) {
    std::vector<AuditEvent> page;
    ASSERT_TRUE(store_->ListAudit(after, 150, &page).ok());
    if (page.empty()) break;
    all.insert(all.end(), page.begin(), page.end());
    after = page.back().seq;
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(all[0].prev_hash, kGenesisHash);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, static_cast<int64_t>(i + 1));
    if (i) {
      EXPECT_EQ(all[i].prev_hash, all[i - 1].hash);
    }
    EXPECT_EQ(all[i].hash,
              AuditEventHash(all[i].prev_hash, all[i].seq, all[i].time_ms, all[i].entry));
  }
  AuditCheckpoint cp;
  ASSERT_TRUE(store_->Checkpoint(&cp).ok());
  EXPECT_EQ(cp.seq, v.length);
  EXPECT_EQ(cp.hash, v.head_hash);
  EXPECT_EQ(cp.hash, all.back().hash);
}

TEST_P(StoreTest, EmptyChainVerifies) {
  AuditVerifyResult v = Verify();
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.length, 0);
  EXPECT_EQ(v.head_hash, kGenesisHash);
  AuditEvent ev;
  EXPECT_EQ(store_->GetAudit(1, &ev).code(), StoreStatus::Code::kNotFound);
}

TEST_P(StoreTest, TamperedAuditFieldIsTheFirstBadSeq) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        store_->AppendAudit({Actor{"a", "auditor", ""}, "audit.list", "", "ok", ""}, nullptr).ok());
  }
  ASSERT_TRUE(Verify().ok);
  RawExec("UPDATE audit SET outcome = 'denied' WHERE seq = 7");
  AuditVerifyResult v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 7);
  EXPECT_EQ(v.length, 20) << "the walk goes on past the bad event";
  EXPECT_EQ(v.problem_count, 1);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0].seq, 7);
}

TEST_P(StoreTest, RehashedAuditEventBreaksTheNextLink) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        store_->AppendAudit({Actor{"a", "auditor", ""}, "audit.list", "", "ok", ""}, nullptr).ok());
  }
  AuditEvent ev;
  ASSERT_TRUE(store_->GetAudit(4, &ev).ok());
  ev.entry.outcome = "denied";
  std::string forged = AuditEventHash(ev.prev_hash, ev.seq, ev.time_ms, ev.entry);
  RawExec("UPDATE audit SET outcome = 'denied', hash = '" + forged + "' WHERE seq = 4");
  AuditVerifyResult v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 5);
}

TEST_P(StoreTest, DeletedAuditEventIsReported) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        store_->AppendAudit({Actor{"a", "auditor", ""}, "audit.list", "", "ok", ""}, nullptr).ok());
  }
  RawExec("DELETE FROM audit WHERE seq = 6");
  AuditVerifyResult v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 6);
}

TEST_P(StoreTest, TamperedExamRowIsReportedAtItsSubmitEvent) {
  std::vector<SubmitResult> rs;
  for (int i = 0; i < 10; ++i) {
    rs.push_back(Submit(MakeExam(i)));
    ASSERT_TRUE(
        store_->AppendAudit({Actor{"a", "auditor", ""}, "exam.read", "", "ok", ""}, nullptr).ok());
  }
  ASSERT_TRUE(Verify().ok);
  const SubmitResult& victim = rs[4];
  RawExec("UPDATE exams SET client_class = 2, note = 'x' WHERE id = " +
          std::to_string(victim.exam.id));
  AuditVerifyResult v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, victim.exam.audit_seq);
}

TEST_P(StoreTest, AChangedPredictionSetIsReportedAtItsSubmitEvent) {
  SubmitResult with_set = Submit(MakeExam(1)), without = Submit(MakeExam(3));
  ASSERT_NE(with_set.exam.input.server_set, 0u);
  ASSERT_EQ(without.exam.input.server_set, 0u);
  ASSERT_TRUE(Verify().ok);
  RawExec("UPDATE exams SET server_set = 7 WHERE id = " + std::to_string(without.exam.id));
  AuditVerifyResult v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, without.exam.audit_seq);
}

TEST_P(StoreTest, InvalidPredictionSetNamesTheField) {
  ExamInput e = MakeExam(2);
  for (unsigned bad : {8u, 1u << ((e.server_class + 1) % kNumClasses)}) {
    e.server_set = bad;
    SubmitResult r;
    StoreStatus s = store_->SubmitExam(e, Clinician(), &r);
    EXPECT_EQ(s.code(), StoreStatus::Code::kInvalidArgument) << bad;
    EXPECT_EQ(s.field(), "server_set") << s.ToString();
  }
}

TEST_P(StoreTest, ADatabaseFromBeforePredictionSetsGainsTheColumnOnOpen) {
  // Exams stored before the column existed carried no set; dropping the column and going back to
  // schema version 2 makes this database what such a server left behind.
  std::vector<SubmitResult> old;
  for (int i : {0, 3, 6}) old.push_back(Submit(MakeExam(i, "old")));
  store_.reset();
  RawExec("ALTER TABLE exams DROP COLUMN server_set");
  RawExec("UPDATE storage_meta SET value = '2' WHERE key = 'schema_version'");
  ASSERT_TRUE(Reopen().ok());
  for (const SubmitResult& r : old) {
    ExamRecord got;
    ASSERT_TRUE(store_->GetExam(r.exam.id, &got).ok());
    EXPECT_EQ(got.input.server_set, 0u);
    EXPECT_EQ(got.content_sha256, r.exam.content_sha256) << "the hash of an old exam is unchanged";
  }
  SubmitResult fresh = Submit(MakeExam(4, "new"));
  ExamRecord got;
  ASSERT_TRUE(store_->GetExam(fresh.exam.id, &got).ok());
  EXPECT_EQ(got.input.server_set, MakeExam(4).server_set);
  EXPECT_TRUE(Verify().ok);
  ASSERT_TRUE(Reopen().ok()) << "a second open finds the column and changes nothing";
  EXPECT_TRUE(Verify().ok);
}

TEST_P(StoreTest, DeletedOrSmuggledExamRowIsReported) {
  std::vector<SubmitResult> rs;
  for (int i = 0; i < 5; ++i) rs.push_back(Submit(MakeExam(i)));
  RawExec("DELETE FROM exams WHERE id = " + std::to_string(rs[2].exam.id));
  AuditVerifyResult v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, rs[2].exam.audit_seq);
}

TEST_P(StoreTest, ExamRowWithoutEventIsReported) {
  SubmitResult r = Submit(MakeExam(1));
  RawExec(
      "INSERT INTO exams (submitted_by, client_exam_id, body_sha256, features, client_class, "
      "client_probabilities, model_version, server_class, server_probabilities, agreement, "
      "max_abs_diff, patient_ref, note, client_timestamp, received_ms, audit_seq) "
      "SELECT submitted_by, 'smuggled', body_sha256, features, client_class, client_probabilities, "
      "model_version, server_class, server_probabilities, agreement, max_abs_diff, patient_ref, "
      "note, client_timestamp, received_ms, 99 FROM exams WHERE id = " +
      std::to_string(r.exam.id));
  AuditVerifyResult v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2) << v.problem;  // just past the head
}

TEST_P(StoreTest, TwoStoresOnOneDatabaseKeepOneLinearChain) {
  std::unique_ptr<Store> other = OpenAnother();
  ASSERT_NE(other, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    Store* s = t % 2 ? other.get() : store_.get();
    threads.emplace_back([&, s, t] {
      for (int i = 0; i < 60; ++i) {
        SubmitResult r;
        StoreStatus st =
            i % 2
                ? s->SubmitExam(MakeExam(t * 100 + i), Clinician(), &r)
                : s->AppendAudit({Actor{"x", "auditor", ""}, "audit.list", "", "ok", ""}, nullptr);
        if (!st.ok()) {
          ++failures;
          ADD_FAILURE() << st.ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  AuditVerifyResult v = Verify();
  EXPECT_TRUE(v.ok) << v.problem << " at " << v.first_bad_seq;
  EXPECT_EQ(v.length, 360);
  AuditVerifyResult v2;
  ASSERT_TRUE(other->VerifyAudit(&v2).ok());
  EXPECT_EQ(v2.head_hash, v.head_hash);
}

// A statement failing inside a group (here: a trigger the test installs) fails only its own
// submission; the writes grouped with it still commit and the chain stays intact.
TEST_P(StoreTest, AFailingWriteDoesNotUndoItsGroup) {
  if (GetParam() == "sqlite") {
    RawExec(
        "CREATE TRIGGER boom BEFORE INSERT ON exams WHEN NEW.note = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END");
  } else {
    RawExec(
        "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
        "IF NEW.note = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ "
        "LANGUAGE plpgsql; "
        "CREATE TRIGGER boom BEFORE INSERT ON exams FOR EACH ROW EXECUTE FUNCTION boom()");
  }
  constexpr int kThreads = 8, kEach = 40;
  std::atomic<int> ok{0}, failed_as_expected{0}, unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ExamInput e = MakeExam(t * 1000 + i);
        const bool bad = i % 10 == 3;
        if (bad) e.note = "boom";
        SubmitResult r;
        StoreStatus s = store_->SubmitExam(e, Clinician(), &r);
        if (s.ok() && !bad) {
          ++ok;
        } else if (!s.ok() && bad) {
          ++failed_as_expected;
        } else {
          ++unexpected;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected, 0);
  EXPECT_EQ(failed_as_expected, kThreads * kEach / 10);
  StoreStats stats;
  ASSERT_TRUE(store_->Stats(&stats).ok());
  EXPECT_EQ(stats.exams, ok.load());
  EXPECT_EQ(stats.audit_length, ok.load());
  AuditVerifyResult v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
}

// --- tokens ------------------------------------------------------------------------------------

TEST_P(StoreTest, TokenLifecycle) {
  Actor admin{"cli", "admin", ""};
  std::string h1 = HashOf("secret-1"), h2 = HashOf("secret-2");
  TokenRecord t1;
  ASSERT_TRUE(store_->CreateToken("alice", "clinician", h1, admin, &t1).ok());
  EXPECT_GT(t1.id, 0);
  TokenRecord dup;
  EXPECT_EQ(store_->CreateToken("alice", "auditor", h2, admin, &dup).code(),
            StoreStatus::Code::kConflict);
  EXPECT_EQ(store_->CreateToken("bob", "auditor", h1, admin, &dup).code(),
            StoreStatus::Code::kConflict);
  EXPECT_EQ(store_->CreateToken("bob", "root", h2, admin, &dup).field(), "role");
  EXPECT_EQ(store_->CreateToken("bob", "auditor", "ABC", admin, &dup).field(), "token_sha256");

  TokenRecord found;
  ASSERT_TRUE(store_->FindTokenByHash(h1, &found).ok());
  EXPECT_EQ(found.name, "alice");
  EXPECT_EQ(found.role, "clinician");
  EXPECT_FALSE(found.revoked);
  EXPECT_EQ(store_->FindTokenByHash(h2, &found).code(), StoreStatus::Code::kNotFound);

  ASSERT_TRUE(store_->RevokeToken(t1.id, admin).ok());
  ASSERT_TRUE(store_->FindTokenByHash(h1, &found).ok());
  EXPECT_TRUE(found.revoked);
  EXPECT_GT(found.revoked_ms, 0);
  EXPECT_EQ(store_->RevokeToken(t1.id + 100, admin).code(), StoreStatus::Code::kNotFound);

  // A name stays with its token after revocation: never handed to someone else.
  TokenRecord t2;
  StoreStatus reuse = store_->CreateToken("alice", "auditor", h2, admin, &t2);
  EXPECT_EQ(reuse.code(), StoreStatus::Code::kConflict);
  EXPECT_EQ(reuse.field(), "name");
  EXPECT_NE(reuse.message().find("revoked"), std::string::npos) << reuse.message();
  ASSERT_TRUE(store_->CreateToken("alice-2", "auditor", h2, admin, &t2).ok());
  EXPECT_EQ(store_->CreateToken(std::string("nul\0name", 8), "auditor", HashOf("s3"), admin, &dup)
                .field(),
            "name");
  EXPECT_EQ(store_->CreateToken("tab\tname", "auditor", HashOf("s3"), admin, &dup).field(), "name");
  std::vector<TokenRecord> list;
  ASSERT_TRUE(store_->ListTokens(&list).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(list[0].revoked);
  EXPECT_FALSE(list[1].revoked);

  std::vector<AuditEvent> events;
  ASSERT_TRUE(store_->ListAudit(0, 100, &events).ok());
  std::vector<std::string> actions;
  for (const auto& e : events) actions.push_back(e.entry.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"token.create", "token.revoke", "token.create"}));
  EXPECT_EQ(events[0].entry.details.find(h1), std::string::npos) << "hash not in the audit log";
}

// --- models ------------------------------------------------------------------------------------

TEST_P(StoreTest, ModelRegistryAndActivation) {
  Actor admin{"root", "admin", "r9"};
  std::string bundle1("FHB\0\x01\xff\xfe binary", 15), bundle2 = "second bundle";
  ModelRecord rec;
  EXPECT_EQ(store_->GetActiveModel(&rec).code(), StoreStatus::Code::kNotFound);
  ASSERT_TRUE(
      store_->PutModel({1, bundle1, "sig1", HashOf(bundle1), "{\"f1\":0.9}"}, admin, &rec).ok());
  EXPECT_EQ(rec.version, 1);
  ASSERT_TRUE(store_->PutModel({0, bundle2, "sig2", HashOf(bundle2), "{}"}, admin, &rec).ok());
  EXPECT_EQ(rec.version, 2) << "version 0 takes the next number";
  EXPECT_EQ(store_->PutModel({2, bundle2, "s", HashOf(bundle2), "{}"}, admin, &rec).code(),
            StoreStatus::Code::kConflict);
  EXPECT_EQ(store_->PutModel({3, bundle2, "s", HashOf(bundle1), "{}"}, admin, &rec).field(),
            "sha256");
  EXPECT_EQ(store_->GetActiveModel(&rec).code(), StoreStatus::Code::kNotFound);

  ASSERT_TRUE(store_->ActivateModel(2, admin).ok());
  ASSERT_TRUE(store_->GetActiveModel(&rec).ok());
  EXPECT_EQ(rec.version, 2);
  EXPECT_EQ(rec.bundle, bundle2);
  ASSERT_TRUE(store_->ActivateModel(1, admin).ok());  // roll back
  ASSERT_TRUE(store_->GetActiveModel(&rec).ok());
  EXPECT_EQ(rec.version, 1);
  EXPECT_EQ(rec.bundle, bundle1) << "binary bytes survive";
  EXPECT_EQ(rec.signature, "sig1");
  EXPECT_EQ(rec.metadata_json, "{\"f1\":0.9}");
  EXPECT_EQ(store_->ActivateModel(99, admin).code(), StoreStatus::Code::kNotFound);

  std::vector<ModelRecord> models;
  ASSERT_TRUE(store_->ListModels(&models).ok());
  ASSERT_EQ(models.size(), 2u);
  EXPECT_TRUE(models[0].active);
  EXPECT_FALSE(models[1].active);
  EXPECT_TRUE(models[0].bundle.empty());
  ASSERT_TRUE(store_->GetModel(2, &rec).ok());
  EXPECT_EQ(rec.sha256, HashOf(bundle2));
  EXPECT_EQ(store_->GetModel(5, &rec).code(), StoreStatus::Code::kNotFound);

  AuditEvent ev;
  ASSERT_TRUE(store_->GetAudit(AuditLength(), &ev).ok());
  EXPECT_EQ(ev.entry.action, "model.activate");
  EXPECT_EQ(ev.entry.object, "model/1");
  EXPECT_EQ(ev.entry.details, "previous=2");
  EXPECT_TRUE(Verify().ok);
}

// --- durability and health ---------------------------------------------------------------------

TEST_P(StoreTest, AcknowledgedWritesSurviveReopen) {
  SubmitResult r = Submit(MakeExam(3));
  ModelRecord model;
  ASSERT_TRUE(store_->PutModel({1, "b", "s", HashOf("b"), "{}"}, Clinician(), &model).ok());
  AuditCheckpoint before;
  ASSERT_TRUE(store_->Checkpoint(&before).ok());
  ASSERT_TRUE(Reopen().ok());
  ExamRecord got;
  ASSERT_TRUE(store_->GetExam(r.exam.id, &got).ok());
  EXPECT_EQ(got.content_sha256, r.exam.content_sha256);
  AuditVerifyResult v = Verify();
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.length, before.seq);
  EXPECT_EQ(v.head_hash, before.hash);
  SubmitResult replay = Submit(MakeExam(3));
  EXPECT_TRUE(replay.replayed);
}

// A writer process is SIGKILLed mid-run: every exam it saw acknowledged is stored unchanged and the
// chain verifies. The child reports each acknowledgement through a pipe (one atomic write each).
TEST_P(StoreTest, AcknowledgedExamsSurviveSigkill) {
  store_.reset();  // the parent holds no store (and no threads) across fork()
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    StoreOptions options;
    options.url = url_;
    std::unique_ptr<Store> s;
    if (!Store::Open(options, &s).ok()) _exit(3);
    std::vector<std::thread> writers;
    for (int t = 0; t < 16; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          SubmitResult r;
          if (!s->SubmitExam(MakeExam(t * 1000000 + i, "crash"), Clinician(), &r).ok()) continue;
          std::string line = std::to_string(r.exam.id) + " " + r.exam.content_sha256 + "\n";
          if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            _exit(4);
        }
      });
    }
    for (auto& w : writers) w.join();
    _exit(0);
  }
  close(fds[1]);
  std::map<int64_t, std::string> acked;
  std::string pending;
  char buf[4096];
  auto start = std::chrono::steady_clock::now();
  while (acked.size() < 3000 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, n);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      acked[std::stoll(line.substr(0, line.find(' ')))] = line.substr(line.find(' ') + 1);
    }
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped before it was killed";
  ASSERT_GT(acked.size(), 100u);

  ASSERT_TRUE(Reopen().ok());
  size_t missing = 0, changed = 0;
  for (const auto& [id, hash] : acked) {
    ExamRecord e;
    if (!store_->GetExam(id, &e).ok()) {
      ++missing;
    } else if (e.content_sha256 != hash) {
      ++changed;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged";
  EXPECT_EQ(changed, 0u);
  AuditVerifyResult v = Verify();
  EXPECT_TRUE(v.ok) << v.problem << " at " << v.first_bad_seq;
  StoreStats stats;
  ASSERT_TRUE(store_->Stats(&stats).ok());
  EXPECT_GE(stats.exams, static_cast<int64_t>(acked.size()));
  EXPECT_EQ(stats.audit_length, stats.exams);
}

// SQLite on a "full disk" (a file size limit in a child process): writes fail with kUnavailable and
// a message saying why, nothing acknowledged is lost, the file is not corrupted, and once space is
// back the same file takes writes again.
TEST_P(StoreTest, FullDiskFailsCleanlyAndLosesNothing) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "SQLite only (PostgreSQL manages its own disk)";
  store_.reset();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    signal(SIGXFSZ, SIG_IGN);  // writes past the limit then fail with EFBIG instead of killing us
    StoreOptions options;
    options.url = url_;
    std::unique_ptr<Store> s;
    if (!Store::Open(options, &s).ok()) _exit(3);
    rlimit limit{512 * 1024, 512 * 1024};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(4);
    int consecutive_errors = 0;
    for (int i = 0; i < 100000 && consecutive_errors < 20; ++i) {
      SubmitResult r;
      StoreStatus st = s->SubmitExam(MakeExam(i, "full"), Clinician(), &r);
      std::string line =
          st.ok() ? "ack " + std::to_string(r.exam.id) + " " + r.exam.content_sha256
                  : "err " + std::to_string(static_cast<int>(st.code())) + " " + st.message();
      for (char& c : line) {
        if (c == '\n') c = ' ';
      }
      line += "\n";
      if (write(fds[1], line.data(), line.size()) < 0) _exit(5);
      consecutive_errors = st.ok() ? 0 : consecutive_errors + 1;
    }
    s.reset();
    _exit(0);
  }
  close(fds[1]);
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) all.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  std::map<int64_t, std::string> acked;
  std::vector<std::string> errors;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    std::string line = all.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.compare(0, 4, "ack ") == 0) {
      size_t sp = line.find(' ', 4);
      acked[std::stoll(line.substr(4, sp - 4))] = line.substr(sp + 1);
    } else {
      errors.push_back(line);
    }
  }
  ASSERT_GT(acked.size(), 10u);
  ASSERT_FALSE(errors.empty()) << "the size limit was never reached";
  EXPECT_EQ(errors[0].substr(0, 6),
            "err " + std::to_string(static_cast<int>(StoreStatus::Code::kUnavailable)) + " ")
      << errors[0];
  EXPECT_NE(errors[0].find("disk full"), std::string::npos) << "the cause is named: " << errors[0];

  ASSERT_TRUE(Reopen().ok());
  for (const auto& [id, hash] : acked) {
    ExamRecord e;
    ASSERT_TRUE(store_->GetExam(id, &e).ok()) << "acknowledged exam " << id << " lost";
    EXPECT_EQ(e.content_sha256, hash);
  }
  AuditVerifyResult v = Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  StoreStats stats;
  ASSERT_TRUE(store_->Stats(&stats).ok());
  EXPECT_EQ(stats.exams, static_cast<int64_t>(acked.size())) << "an unacknowledged exam was stored";
  SubmitResult r;
  EXPECT_TRUE(store_->SubmitExam(MakeExam(999999, "after"), Clinician(), &r).ok());
}

// PostgreSQL: connections the server drops while idle are replaced without failing the next
// calls (reads and the next group commit start over on a fresh connection).
TEST_P(StoreTest, ReconnectsAfterTheDatabaseDropsItsConnections) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "PostgreSQL only";
  Submit(MakeExam(1));
  ASSERT_TRUE(store_->Ping().ok());
  ExamPage page;
  ASSERT_TRUE(store_->ListExams({}, "", 10, &page).ok());
  RawExec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  SubmitResult r;
  StoreStatus s = store_->SubmitExam(MakeExam(2), Clinician(), &r);
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = store_->Ping();
  EXPECT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(store_->ListExams({}, "", 10, &page).ok());
  EXPECT_EQ(page.exams.size(), 2u);
  EXPECT_TRUE(Verify().ok);
}

TEST_P(StoreTest, PingAndStats) {
  EXPECT_TRUE(store_->Ping().ok());
  Submit(MakeExam(0));  // agreement false for i % 5 == 0
  Submit(MakeExam(1));
  StoreStats stats;
  ASSERT_TRUE(store_->Stats(&stats).ok());
  EXPECT_EQ(stats.exams, 2);
  EXPECT_EQ(stats.mismatches, 1);
  EXPECT_EQ(stats.audit_length, 2);
  EXPECT_STREQ(store_->backend(), GetParam() == "sqlite" ? "sqlite" : "postgresql");
}

// Two instances may evaluate the same rollout window: the decision taken from a step the rollout
// has left already is refused, so a rollout never moves twice on one evaluation; and a set whose
// sequence is not above every stored one is refused.
TEST_P(StoreTest, RolloutDecisionFromAStepAlreadyLeftIsRefused) {
  const Actor admin{"admin", "admin", "req-1", 1};
  std::vector<ReleaseRecord> set(3);
  const char* kinds[] = {"rollout", "revert", "promote"};
  for (int i = 0; i < 3; ++i) {
    set[i].sequence = i == 0 ? 41 : 42;
    set[i].kind = kinds[i];
    set[i].site = "hospital-a";
    set[i].manifest = std::string("{\"kind\":\"") + kinds[i] + "\"}";
    set[i].signature = "sig-" + std::to_string(i);
    set[i].steps = i == 0 ? 3 : 0;
  }
  ASSERT_TRUE(store_->PutReleaseSet(set, admin).ok());
  EXPECT_EQ(store_->PutReleaseSet(set, admin).code(), StoreStatus::Code::kConflict);
  RolloutRecord r;
  ASSERT_TRUE(store_->ChangeRollout(41, RolloutAction::kStart, -1, admin, {"ok", "{}"}, &r).ok());
  EXPECT_EQ(r.step, 0);
  ASSERT_TRUE(store_->ChangeRollout(41, RolloutAction::kStep, 0, admin, {"ok", "{}"}, &r).ok());
  EXPECT_EQ(r.step, 1);
  // The second instance, which also evaluated step 0.
  EXPECT_EQ(store_->ChangeRollout(41, RolloutAction::kStep, 0, admin, {"ok", "{}"}, &r).code(),
            StoreStatus::Code::kConflict);
  EXPECT_EQ(store_->ChangeRollout(41, RolloutAction::kHalt, 0, admin, {"ok", "{}"}, &r).code(),
            StoreStatus::Code::kConflict);
  ASSERT_TRUE(store_->GetRollout(41, &r).ok());
  EXPECT_EQ(r.step, 1);
  EXPECT_EQ(r.state, "running");
  ReleaseRecord published;
  ASSERT_TRUE(store_->GetPublishedRelease(&published, &r).ok());
  EXPECT_EQ(published.kind, "rollout");
  ASSERT_TRUE(store_->ChangeRollout(41, RolloutAction::kHalt, 1, admin, {"ok", "{}"}, &r).ok());
  EXPECT_EQ(r.state, "halted");
  ASSERT_TRUE(store_->GetPublishedRelease(&published, &r).ok());
  EXPECT_EQ(published.kind, "revert");
  EXPECT_EQ(published.sequence, 42);
  EXPECT_EQ(published.manifest, set[1].manifest);
  EXPECT_EQ(published.signature, set[1].signature);
  EXPECT_TRUE(Verify().ok);
}

// A promotion makes the candidate the active version in its own transaction, with both events;
// a promotion naming an unregistered version changes nothing; a halt activates nothing.
TEST_P(StoreTest, PromotionActivatesTheCandidateAtomically) {
  const Actor admin{"admin", "admin", "req-1", 1};
  ModelRecord model;
  for (int64_t v : {1, 2}) {
    const std::string bundle = "bundle-" + std::to_string(v);
    ASSERT_TRUE(store_->PutModel({v, bundle, "s", HashOf(bundle), "{}"}, admin, &model).ok());
  }
  ASSERT_TRUE(store_->ActivateModel(1, admin).ok());
  const char* kinds[] = {"rollout", "revert", "promote"};
  for (int64_t first : {41, 45}) {
    std::vector<ReleaseRecord> set(3);
    for (int i = 0; i < 3; ++i) {
      set[i].sequence = i == 0 ? first : first + 1;
      set[i].kind = kinds[i];
      set[i].site = "hospital-a";
      set[i].manifest = kinds[i];
      set[i].signature = "sig";
      set[i].steps = i == 0 ? 1 : 0;
    }
    ASSERT_TRUE(store_->PutReleaseSet(set, admin).ok());
  }
  RolloutRecord r;
  ASSERT_TRUE(store_->ChangeRollout(41, RolloutAction::kStart, -1, admin, {"ok", "{}"}, &r).ok());
  StoreStats before;
  ASSERT_TRUE(store_->Stats(&before).ok());
  EXPECT_EQ(store_->ChangeRollout(41, RolloutAction::kPromote, 0, admin, {"ok", "{}", 9}, &r)
                .code(),
            StoreStatus::Code::kNotFound);
  StoreStats after;
  ASSERT_TRUE(store_->Stats(&after).ok());
  EXPECT_EQ(after.audit_length, before.audit_length);  // nothing of it was kept
  ASSERT_TRUE(store_->GetRollout(41, &r).ok());
  EXPECT_EQ(r.state, "running");
  ASSERT_TRUE(store_->GetActiveModel(&model).ok());
  EXPECT_EQ(model.version, 1);

  ASSERT_TRUE(
      store_->ChangeRollout(41, RolloutAction::kPromote, 0, admin, {"ok", "{}", 2}, &r).ok());
  EXPECT_EQ(r.state, "promoted");
  ASSERT_TRUE(store_->GetActiveModel(&model).ok());
  EXPECT_EQ(model.version, 2);
  std::vector<AuditEvent> events;
  ASSERT_TRUE(store_->ListAudit(before.audit_length, 10, &events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].entry.action, "release.rollout.promote");
  EXPECT_EQ(events[1].entry.action, "model.activate");
  EXPECT_EQ(events[1].entry.object, "model/2");
  EXPECT_EQ(events[1].entry.details.rfind("previous=1 ", 0), 0u) << events[1].entry.details;

  // The next rollout halts: the active version stays 2.
  ASSERT_TRUE(store_->ChangeRollout(45, RolloutAction::kStart, -1, admin, {"ok", "{}"}, &r).ok());
  ASSERT_TRUE(store_->ChangeRollout(45, RolloutAction::kHalt, 0, admin, {"ok", "{}", 1}, &r).ok());
  ASSERT_TRUE(store_->GetActiveModel(&model).ok());
  EXPECT_EQ(model.version, 2);
  EXPECT_TRUE(Verify().ok);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& tpi) {
                           return tpi.param;
                         });

// PostgreSQL stopped under a running store: calls fail as unavailable (never a crash, never an
// acknowledgement of something not stored); once it is back, the store recovers by itself.
TEST(PostgresOutage, UnavailableWhileDownRecoversAfter) {
  char tmpl[] = "/tmp/fetal-pg-outage-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, script = std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh";
  const std::string port = std::to_string(20000 + (getpid() * 13 + 7) % 30000);
  struct Cleanup {
    std::string cmd;
    ~Cleanup() {
      int ignored = 0;
      RunCommand(cmd, &ignored);
    }
  } cleanup{script + " stop " + dir + " 2>&1"};
  int rc = 0;
  std::string url = RunCommand(script + " start " + dir + " " + port + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << url;

  StoreOptions options;
  options.url = url;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open(options, &store).ok());
  SubmitResult r;
  ASSERT_TRUE(store->SubmitExam(MakeExam(1), Clinician(), &r).ok());

  RunCommand(script + " pause " + dir + " 2>&1", &rc);
  ASSERT_EQ(rc, 0);
  StoreStatus s = store->SubmitExam(MakeExam(2), Clinician(), &r);
  EXPECT_EQ(s.code(), StoreStatus::Code::kUnavailable) << s.ToString();
  EXPECT_EQ(store->Ping().code(), StoreStatus::Code::kUnavailable);
  ExamRecord e;
  EXPECT_EQ(store->GetExam(1, &e).code(), StoreStatus::Code::kUnavailable);

  std::string again = RunCommand(script + " start " + dir + " " + port + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << again;
  s = store->SubmitExam(MakeExam(2), Clinician(), &r);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(r.replayed) << "the failed attempt stored nothing";
  EXPECT_TRUE(store->Ping().ok());
  AuditVerifyResult v;
  ASSERT_TRUE(store->VerifyAudit(&v).ok());
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.length, 2);
}

TEST(StoreOpen, UnreachableDatabaseIsUnavailable) {
  std::unique_ptr<Store> s;
  StoreOptions o;
  o.url = "/nonexistent-dir/x/fetal.db";
  EXPECT_EQ(Store::Open(o, &s).code(), StoreStatus::Code::kUnavailable);
  o.url = "postgresql://postgres@/postgres?host=/nonexistent&port=1";
  EXPECT_EQ(Store::Open(o, &s).code(), StoreStatus::Code::kUnavailable);
  o.url = "";
  EXPECT_EQ(Store::Open(o, &s).field(), "url");
}

}  // namespace
}  // namespace storage
}  // namespace fetal
