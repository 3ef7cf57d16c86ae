// Backups that restore. SQLite: `fetal-server backup` copies the live store while clients keep
// submitting; the copy, put in a fresh data directory, starts a server whose chain verifies and
// which holds every exam acknowledged before the backup began, byte for byte (content hash).
// PostgreSQL: a pg_dump restored into a fresh throwaway cluster does the same, checked by the
// server and by fetal-audit.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "server_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

using Clock = std::chrono::steady_clock;

const char kPgBin[] = "/usr/lib/postgresql/15/bin";

std::string AuditCli() {
  std::string server = ServerProcess::Binary();
  return server.substr(0, server.rfind('/')) + "/fetal-audit";
}

struct Ack {
  int64_t id = 0;
  std::string content_sha256;
  Clock::time_point at;
};

class BackupTest : public ServerFixture {
 protected:
  // Stores n exams in batches (fast), so the database has a size worth copying in steps.
  void Preload(int n) {
    for (int done = 0; done < n;) {
      json batch = {{"exams", json::array()}};
      for (int i = 0; i < 500 && done < n; ++i, ++done) {
        json exam = Exam("preload-" + std::to_string(done));
        exam["note"] = std::string(400, 'n');  // bulk
        batch["exams"].push_back(exam);
      }
      auto r = Post("/api/v1/exams:batch", clinician_, batch.dump());
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 201) << r->body.substr(0, 300);
      const json stored = Body(r);
      for (const json& e : stored["exams"]) {
        acks_[e["client_exam_id"]] = Ack{e["id"], e["content_sha256"], Clock::now()};
      }
    }
  }

  // Every exam a server holds, by client_exam_id, paging as an auditor.
  static std::map<std::string, json> AllExams(httplib::Client* client, const std::string& auditor) {
    std::map<std::string, json> out;
    std::string cursor;
    for (;;) {
      std::string path = "/api/v1/exams?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor);
      auto r = client->Get(path.c_str(), Auth(auditor));
      EXPECT_TRUE(r);
      if (!r || r->status != 200) return out;
      json page = Body(r);
      for (const json& e : page["exams"]) out[e["client_exam_id"]] = e;
      if (page["next_cursor"].is_null()) return out;
      cursor = page["next_cursor"];
    }
  }

  // Starts `server` on restored storage (`args`: --data-dir and --database-url or --audit-key as
  // needed); *verify gets its /audit/verify answer, *held every exam it holds.
  void StartRestored(std::vector<std::string> args, const std::string& log, ServerProcess* server,
                     json* verify, std::map<std::string, json>* held) {
    args.insert(args.end(), {"--default-model", dir_ + "/model.fhm", "--model-pubkey",
                             dir_ + "/public.pem", "--rate-limit", "0"});
    std::string error;
    ASSERT_TRUE(server->Start(args, log, &error)) << error;
    httplib::Client client("127.0.0.1", server->port());
    client.set_read_timeout(60, 0);
    auto r = client.Get("/api/v1/audit/verify", Auth(auditor_));
    ASSERT_TRUE(r);
    *verify = Body(r);
    *held = AllExams(&client, auditor_);
  }

  std::map<std::string, Ack> acks_;
};

TEST_P(BackupTest, SqliteBackupUnderLoadRestoresEveryAcknowledgedExam) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "fetal-server backup copies a SQLite store";
  Preload(2000);

  std::mutex mu;
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::vector<std::thread> clients;
  const int port = server_.port();
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(30, 0);
      for (int i = 0; !stop.load(); ++i) {
        json exam = Exam("live-" + std::to_string(c) + "-" + std::to_string(i));
        auto r = client.Post("/api/v1/exams", Auth(clinician_), exam.dump(), "application/json");
        if (!r || r->status != 201) {
          ++refused;
          continue;
        }
        json stored = json::parse(r->body);
        std::lock_guard<std::mutex> lock(mu);
        acks_[stored["client_exam_id"]] = Ack{stored["id"], stored["content_sha256"], Clock::now()};
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // Everything acknowledged so far must be in the copy.
  std::map<std::string, Ack> before;
  {
    std::lock_guard<std::mutex> lock(mu);
    before = acks_;
  }
  const auto backup_started = Clock::now();
  const std::string copy = dir_ + "/backup.db";
  int status;
  std::string out = RunCommand(Quote(ServerProcess::Binary()) + " backup --out " + Quote(copy) +
                                   " --pages-per-step 8 --pause-ms 10" + CliArgs() + " 2>&1",
                               &status);
  const auto backup_ended = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("the copy's audit chain verifies"), std::string::npos) << out;
  EXPECT_EQ(refused, 0) << "the server refused submissions during the backup";
  int during = 0;
  for (const auto& [key, ack] : acks_) {
    if (ack.at > backup_started && ack.at < backup_ended) ++during;
  }
  EXPECT_GT(during, 0) << "no exam was acknowledged while the backup ran: " << out;
  std::printf("backup: %zu exams acknowledged before it began, %d while it ran (%lld ms): %s",
              before.size(), during,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         backup_ended - backup_started)
                                         .count()),
              out.c_str());

  // Restore: the copy becomes fetal.db of a fresh data directory, and a server starts on it.
  const std::string restored = dir_ + "/restored";
  ASSERT_EQ(mkdir(restored.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((restored + "/data").c_str(), 0700), 0);
  WriteFile(restored + "/data/fetal.db", ReadFileOrEmpty(copy));
  ServerProcess second;
  json verify;
  std::map<std::string, json> held;
  StartRestored({"--data-dir", restored + "/data"}, restored + "/server.log", &second, &verify,
                &held);
  ASSERT_TRUE(second.running());
  EXPECT_EQ(verify["ok"], true) << verify.dump();
  size_t missing = 0, changed = 0;
  for (const auto& [key, ack] : before) {
    auto it = held.find(key);
    if (it == held.end()) {
      ++missing;
    } else if (it->second["id"] != ack.id || it->second["content_sha256"] != ack.content_sha256) {
      ++changed;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << before.size() << " exams acknowledged before the backup";
  EXPECT_EQ(changed, 0u);
  for (const auto& [key, exam] : held) {
    EXPECT_TRUE(acks_.count(key)) << "the copy holds an exam nobody was told about: " << key;
  }
  EXPECT_EQ(second.Stop(), 0);
  EXPECT_TRUE(SanitizerReport(ReadFileOrEmpty(restored + "/server.log")).empty());

  out = RunCommand(Quote(AuditCli()) + " verify --sqlite " + Quote(copy) + " 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
}

TEST_P(BackupTest, PgDumpRestoresIntoAFreshClusterAndVerifies) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "pg_dump is the PostgreSQL recipe";
  // The backup command says where to look instead of copying PostgreSQL itself.
  int status;
  std::string out = RunCommand(Quote(ServerProcess::Binary()) + " backup --out " +
                                   Quote(dir_ + "/x.db") + CliArgs() + " 2>&1",
                               &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("pg_dump"), std::string::npos) << out;

  for (int i = 0; i < 20; ++i) {
    json e = Submit(Exam("pg-" + std::to_string(i)), clinician_);
    acks_[e["client_exam_id"]] = Ack{e["id"], e["content_sha256"], Clock::now()};
  }
  auto cp = Post("/api/v1/audit/checkpoint", auditor_, "", "application/json");
  ASSERT_TRUE(cp);
  ASSERT_EQ(cp->status, 201) << cp->body;
  WriteFile(dir_ + "/checkpoint.json", cp->body);
  WriteFile(dir_ + "/audit-public.pem", Body(cp)["public_key"].get<std::string>());

  // The recipe of docs/storage.md: pg_dump (plain SQL) of the live database, while it serves.
  const std::string dump = dir_ + "/fetal.sql";
  out = RunCommand(std::string(kPgBin) + "/pg_dump --no-owner --dbname=" + Quote(database_url_) +
                       " --file=" + Quote(dump) + " 2>&1",
                   &status);
  ASSERT_EQ(status, 0) << out;

  // A fresh cluster, the dump loaded with psql, a server started on it.
  const std::string cluster = "/tmp/fetal-pg-restore-" + std::to_string(getpid());
  struct StopCluster {
    std::string dir;
    ~StopCluster() {
      int ignored;
      RunCommand(std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh stop '" + dir + "' 2>&1",
                 &ignored);
    }
  } stop_cluster{cluster};
  std::string url =
      RunCommand(std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh start '" + cluster +
                     "' " + std::to_string(53000 + getpid() % 900) + " 2>&1",
                 &status);
  ASSERT_EQ(status, 0) << url;
  url = url.substr(0, url.find('\n'));
  out = RunCommand(std::string(kPgBin) + "/psql --quiet -v ON_ERROR_STOP=1 --dbname=" + Quote(url) +
                       " --file=" + Quote(dump) + " 2>&1",
                   &status);
  ASSERT_EQ(status, 0) << out;

  const std::string restored = dir_ + "/restored";
  ASSERT_EQ(mkdir(restored.c_str(), 0700), 0);
  ServerProcess second;
  json v;
  std::map<std::string, json> held;
  StartRestored({"--data-dir", restored + "/data", "--database-url", url, "--audit-key",
                 dir_ + "/data/audit-key.pem"},
                restored + "/server.log", &second, &v, &held);
  ASSERT_TRUE(second.running());
  EXPECT_EQ(v["ok"], true) << v.dump();
  EXPECT_EQ(v["anchors_checked"], 1) << "the restored, signed checkpoint was compared";
  EXPECT_EQ(held.size(), acks_.size());
  for (const auto& [key, ack] : acks_) {
    auto it = held.find(key);
    ASSERT_NE(it, held.end()) << key;
    EXPECT_EQ(it->second["content_sha256"], ack.content_sha256);
  }
  EXPECT_EQ(second.Stop(), 0);

  // fetal-audit agrees, on the dump file and on the restored database, against the checkpoint.
  for (const std::string& source : {"--pg-dump " + Quote(dump), "--database-url " + Quote(url)}) {
    out = RunCommand(Quote(AuditCli()) + " verify " + source + " --checkpoint " +
                         Quote(dir_ + "/checkpoint.json") + " --pubkey " +
                         Quote(dir_ + "/audit-public.pem") + " 2>&1",
                     &status);
    EXPECT_EQ(status, 0) << source << "\n" << out;
    EXPECT_NE(out.find("ok: the chain verifies"), std::string::npos) << out;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BackupTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
