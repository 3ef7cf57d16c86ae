// Every wait is bounded: a stalled database session holding the chain lock turns writes and
// audited reads into 503 + Retry-After within the configured time, /health says degraded, and
// everything recovers once the session lets go. Also the store's own bounds (read pool, commit
// wait, PostgreSQL session settings), the verification's own connection, and the limit on
// look-ups of unknown tokens. On SQLite and on a real PostgreSQL.
#include <sqlite3.h>

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "server_fixture.h"
#include "storage/reader_pool.h"
#include "storage/sql.h"
#include "storage/store.h"

namespace fetal {
namespace testing_support {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// Replaces (or appends) flag values in a server argument list.
std::vector<std::string> WithFlags(std::vector<std::string> args,
                                   const std::vector<std::pair<std::string, std::string>>& flags) {
  for (const auto& [flag, value] : flags) {
    bool found = false;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == flag) {
        args[i + 1] = value;
        found = true;
      }
    }
    if (!found) {
      args.push_back(flag);
      args.push_back(value);
    }
  }
  return args;
}

// A database session that takes the lock every writer of the audit chain needs and then stalls
// (SQLite: the write lock, PostgreSQL: the advisory chain lock inside an open transaction), as a
// hung instance or a forgotten psql session would.
class ChainLockHolder {
 public:
  ChainLockHolder(const std::string& backend, const std::string& sqlite_path,
                  const std::string& pg_url) {
    if (backend == "sqlite") {
      EXPECT_EQ(sqlite3_open(sqlite_path.c_str(), &db_), SQLITE_OK);
      sqlite3_busy_timeout(db_, 5000);
      EXPECT_EQ(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    } else {
      pg_ = std::make_unique<pqxx::connection>(pg_url);
      pqxx::nontransaction tx(*pg_);
      tx.exec("BEGIN");
      tx.exec("SELECT pg_advisory_xact_lock(7277046850418761)");
    }
  }
  void Release() {
    if (db_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db_);
      db_ = nullptr;
    }
    if (pg_) {
      pqxx::nontransaction tx(*pg_);
      tx.exec("ROLLBACK");
      pg_.reset();
    }
  }
  ~ChainLockHolder() { Release(); }

 private:
  sqlite3* db_ = nullptr;
  std::unique_ptr<pqxx::connection> pg_;
};

class BoundedWaitsTest : public ServerFixture {
 protected:
  std::string SqlitePath() const { return dir_ + "/data/fetal.db"; }

  // A store of its own on this test's database (a second process's view of it).
  std::unique_ptr<storage::Store> OpenStore(const storage::StoreOptions& base) {
    storage::StoreOptions options = base;
    options.url = GetParam() == "sqlite" ? SqlitePath() : database_url_;
    std::unique_ptr<storage::Store> store;
    storage::StoreStatus s = storage::Store::Open(options, &store);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return store;
  }
};

constexpr int kLockTimeoutMs = 800;
constexpr int kCommitWaitMs = 1500;
// The most a refused request may take: the configured bound plus room for a loaded machine.
constexpr int64_t kAnswerWithinMs = kCommitWaitMs + 3000;

TEST_P(BoundedWaitsTest, StalledChainLockGives503WithRetryAfterAndHealthDegradedThenRecovers) {
  server_.Kill();
  ASSERT_TRUE(StartServer(
      WithFlags(DefaultArgs(), {{"--lock-timeout-ms", "800"}, {"--commit-wait-ms", "1500"}})));
  json first = Submit(Exam("before-the-stall"), clinician_);
  const std::string first_path = "/api/v1/exams/" + std::to_string(first["id"].get<int64_t>());
  ASSERT_EQ(Get("/api/v1/health")->status, 200);

  ChainLockHolder holder(GetParam(), SqlitePath(), database_url_);

  auto start = Clock::now();
  auto r = Post("/api/v1/exams", clinician_, Exam("during-the-stall").dump());
  int64_t took = MsSince(start);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(Body(r)["error"]["code"], "storage_unavailable") << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_LT(took, kAnswerWithinMs) << "the write waited longer than its bound";
  EXPECT_GE(took, kLockTimeoutMs / 2) << "refused before it even waited for the lock: " << r->body;

  // An audited read needs its audit event appended: refused the same way, not served unrecorded.
  start = Clock::now();
  auto read = Get(first_path, auditor_);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 503) << read->body;
  EXPECT_EQ(read->get_header_value("Retry-After"), "1");
  EXPECT_LT(MsSince(start), kAnswerWithinMs);

  auto health = Get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503) << health->body;
  json h = Body(health);
  EXPECT_EQ(h["status"], "degraded") << health->body;
  EXPECT_EQ(h["storage"]["ok"], true) << "reads still work";
  EXPECT_EQ(h["storage"]["writable"], false);
  EXPECT_FALSE(h["storage"]["write_error"].get<std::string>().empty());

  holder.Release();

  // Recovery without a restart: health turns ok, the refused exam can be sent again.
  auto deadline = Clock::now() + std::chrono::seconds(15);
  int status = 0;
  while (Clock::now() < deadline) {
    auto again = Get("/api/v1/health");
    status = again ? again->status : 0;
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200) << "/health did not recover after the lock was released";
  json stored = Submit(Exam("during-the-stall"), clinician_);
  EXPECT_EQ(stored["replayed"], false) << "the refused attempt stored nothing";
  auto read_again = Get(first_path, auditor_);
  ASSERT_TRUE(read_again);
  EXPECT_EQ(read_again->status, 200);
  json page = Body(Get("/api/v1/exams?limit=100", auditor_));
  EXPECT_EQ(page["exams"].size(), 2u);
  json verify = Body(Get("/api/v1/audit/verify", auditor_));
  EXPECT_EQ(verify["ok"], true) << verify.dump();
}

TEST_P(BoundedWaitsTest, AWriteThatWaitedTooLongWasNotStarted) {
  // The store alone: the lock wait is long, the commit wait short, so the caller gives up while
  // its operation still waits for the lock; it must never run afterwards.
  storage::StoreOptions options;
  options.limits.lock_timeout_ms = 10000;
  options.limits.commit_wait_ms = 300;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  storage::AuditEvent ignored;
  ASSERT_TRUE(
      store->AppendAudit({{"t", "auditor", ""}, "test.before", "", "ok", ""}, &ignored).ok());
  storage::AuditCheckpoint before;
  ASSERT_TRUE(store->Checkpoint(&before).ok());

  auto holder = std::make_unique<ChainLockHolder>(GetParam(), SqlitePath(), database_url_);
  auto start = Clock::now();
  storage::StoreStatus s =
      store->AppendAudit({{"t", "auditor", ""}, "test.during", "", "ok", ""}, &ignored);
  EXPECT_EQ(s.code(), storage::StoreStatus::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("nothing was changed"), std::string::npos) << s.message();
  EXPECT_LT(MsSince(start), 300 + 3000);
  holder.reset();

  // The committer gets the lock now; the abandoned append must not be written.
  ASSERT_TRUE(
      store->AppendAudit({{"t", "auditor", ""}, "test.after", "", "ok", ""}, &ignored).ok());
  EXPECT_EQ(ignored.seq, before.seq + 1) << "the abandoned append was written after all";
  storage::AuditVerifyResult v;
  ASSERT_TRUE(store->VerifyAudit(&v).ok());
  EXPECT_TRUE(v.ok) << v.problem;
}

TEST_P(BoundedWaitsTest, PostgresSessionsCarryTheirTimeouts) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "PostgreSQL session settings";
  storage::StoreLimits limits;
  limits.statement_timeout_ms = 12345;
  limits.lock_timeout_ms = 2345;
  limits.idle_in_transaction_timeout_ms = 34567;
  limits.keepalive_idle_s = 21;
  limits.connect_timeout_s = 4;
  std::unique_ptr<storage::SqlConn> conn;
  ASSERT_TRUE(storage::OpenPostgresConn(database_url_, limits, &conn).ok());
  storage::SqlRows rows;
  ASSERT_TRUE(conn->Exec("SELECT current_setting('statement_timeout'), "
                         "current_setting('lock_timeout'), "
                         "current_setting('idle_in_transaction_session_timeout')",
                         {}, &rows)
                  .ok());
  EXPECT_EQ(rows.at(0).at(0).AsText(), "12345ms");
  EXPECT_EQ(rows[0].at(1).AsText(), "2345ms");
  EXPECT_EQ(rows[0].at(2).AsText(), "34567ms");
  // TCP keepalives and the connect timeout travel in the connection string (what the operator
  // wrote wins); a Unix-socket test cluster cannot show them in effect.
  EXPECT_EQ(storage::PostgresUrlWithLimits("postgresql://u@db/fetal", limits),
            "postgresql://u@db/fetal?connect_timeout=4&keepalives=1&keepalives_idle=21&"
            "keepalives_interval=7&keepalives_count=3");
  EXPECT_EQ(storage::PostgresUrlWithLimits("postgresql://u@db/fetal?keepalives_idle=5", limits),
            "postgresql://u@db/fetal?keepalives_idle=5&connect_timeout=4&keepalives=1&"
            "keepalives_interval=7&keepalives_count=3");
  EXPECT_EQ(storage::PostgresUrlWithLimits("host=db dbname=fetal", limits),
            "host=db dbname=fetal connect_timeout=4 keepalives=1 keepalives_idle=21 "
            "keepalives_interval=7 keepalives_count=3");

  // A statement over the timeout is cancelled: 503-class, and the connection stays usable.
  limits.statement_timeout_ms = 200;
  ASSERT_TRUE(storage::OpenPostgresConn(database_url_, limits, &conn).ok());
  storage::StoreStatus s = conn->Exec("SELECT pg_sleep(3)");
  EXPECT_EQ(s.code(), storage::StoreStatus::Code::kUnavailable) << s.ToString();
  EXPECT_FALSE(conn->broken());
  EXPECT_TRUE(conn->Exec("SELECT 1").ok());
}

TEST_P(BoundedWaitsTest, ReadersWaitAtMostTheReadWait) {
  storage::Database database;
  database.dialect =
      GetParam() == "sqlite" ? storage::Dialect::kSqlite : storage::Dialect::kPostgres;
  database.target = GetParam() == "sqlite" ? SqlitePath() : database_url_;
  storage::ReaderPool pool(&database, /*size=*/1, /*wait_ms=*/200);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  std::thread holder([&] {
    pool.Run([&](storage::SqlConn*) {
      holding.set_value();
      released.wait();
      return storage::StoreStatus::Ok();
    });
  });
  holding.get_future().wait();
  auto start = Clock::now();
  bool ran = false;
  storage::StoreStatus s = pool.Run([&](storage::SqlConn*) {
    ran = true;
    return storage::StoreStatus::Ok();
  });
  EXPECT_EQ(s.code(), storage::StoreStatus::Code::kUnavailable) << s.ToString();
  EXPECT_FALSE(ran);
  EXPECT_GE(MsSince(start), 150);
  EXPECT_LT(MsSince(start), 200 + 3000);
  release.set_value();
  holder.join();
  EXPECT_TRUE(pool.Run([](storage::SqlConn* c) { return c->Exec("SELECT 1"); }).ok());
}

TEST_P(BoundedWaitsTest, VerificationDoesNotTakeAReadConnection) {
  // One read connection in the pool; the verification calls back into the store (through the
  // trust hook of a stored checkpoint) for a read, which needs that connection. Were the walk
  // holding it, the read would wait out read_wait_ms and fail.
  storage::StoreOptions options;
  options.read_connections = 1;
  options.limits.read_wait_ms = 300;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  storage::SignedCheckpoint cp;
  storage::AuditCheckpoint head;
  ASSERT_TRUE(store->Checkpoint(&head).ok());
  cp.seq = head.seq;
  cp.hash = head.hash;
  cp.time_ms = 1;
  cp.key_id = "k";
  cp.signature = "s";
  ASSERT_TRUE(store->PutCheckpoint(cp, {"t", "auditor", ""}, nullptr).ok());
  std::atomic<int> reads_ok{0}, calls{0};
  storage::VerifyOptions verify;
  verify.trust = [&](const storage::SignedCheckpoint&) {
    ++calls;
    storage::AuditEvent e;
    if (store->GetAudit(1, &e).ok()) ++reads_ok;
    return storage::CheckpointTrust::kTrusted;
  };
  storage::AuditVerifyResult v;
  ASSERT_TRUE(store->VerifyAudit(verify, &v).ok());
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(reads_ok, 1) << "a read waited for the verification's connection";
}

TEST_P(BoundedWaitsTest, UnknownTokenLookupsAreRememberedAndLimited) {
  server_.Kill();
  ASSERT_TRUE(StartServer(WithFlags(DefaultArgs(), {{"--unknown-token-rate", "5"}})));
  ASSERT_EQ(Get("/api/v1/session", clinician_)->status, 200);  // a token the server has seen

  // A flood of made-up tokens: beyond the look-up budget (5/s, bursts of 10) they are refused
  // before the database is asked.
  int unauthorized = 0, limited = 0;
  for (int i = 0; i < 60; ++i) {
    std::string fake = "fht_" + std::string(43 - std::to_string(i).size(), 'Q') + std::to_string(i);
    auto r = Get("/api/v1/session", fake);
    ASSERT_TRUE(r);
    if (r->status == 401) {
      ++unauthorized;
    } else if (r->status == 429) {
      ++limited;
      EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    } else {
      ADD_FAILURE() << r->status << " " << r->body;
    }
  }
  EXPECT_GE(limited, 30) << unauthorized << " look-ups reached the database";
  EXPECT_LE(unauthorized, 30);
  // Known tokens are not held back by the flood, and a made-up token already looked up is
  // answered from memory (401, not 429) while the budget is spent.
  auto ok = Get("/api/v1/session", clinician_);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto known_bad = Get("/api/v1/session", "fht_" + std::string(42, 'Q') + "0");
  ASSERT_TRUE(known_bad);
  EXPECT_EQ(known_bad->status, 401) << known_bad->body;
}

INSTANTIATE_TEST_SUITE_P(Backends, BoundedWaitsTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
