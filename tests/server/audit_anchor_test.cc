// Anchored audit, as an attacker with write access to the database would try it: edit an exam,
// re-hash the whole tail of the chain so every link and hash is consistent again, delete the
// stored checkpoints, cut the tail off. The chain alone cannot tell; a checkpoint signed earlier
// with the server's audit key (kept in the database and by the auditor) can, through
// GET /audit/verify and through fetal-audit on the database file, on a live PostgreSQL and on a
// pg_dump. On SQLite and on a real PostgreSQL.
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "fetal/signature.h"
#include "server_fixture.h"
#include "storage/canonical.h"
#include "storage/rows.h"
#include "storage/schema.h"
#include "storage/sql.h"

namespace fetal {
namespace testing_support {
namespace {

const char kPgDump[] = "/usr/lib/postgresql/15/bin/pg_dump";

std::string AuditCli() {
  std::string server = ServerProcess::Binary();
  return server.substr(0, server.rfind('/')) + "/fetal-audit";
}

class AuditAnchorTest : public ServerFixture {
 protected:
  std::string SqlitePath() const { return dir_ + "/data/fetal.db"; }

  // A connection straight to the database, as the attacker (or an auditor's tool) has it.
  std::unique_ptr<storage::SqlConn> Raw() {
    storage::Database db;
    db.dialect = GetParam() == "sqlite" ? storage::Dialect::kSqlite : storage::Dialect::kPostgres;
    db.target = GetParam() == "sqlite" ? SqlitePath() : database_url_;
    std::unique_ptr<storage::SqlConn> conn;
    storage::StoreStatus s = db.Connect(&conn);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return conn;
  }

  void RawExec(const std::string& sql) {
    auto conn = Raw();
    ASSERT_TRUE(conn);
    storage::StoreStatus s = conn->Exec(sql);
    ASSERT_TRUE(s.ok()) << sql << ": " << s.ToString();
  }

  // The attack: change the exam's note, recompute its content hash into its exam.submit event,
  // and recompute prev_hash and hash of that event and every later one. Every link and hash is
  // then consistent, so a walk of the chain alone finds nothing.
  void RewriteExamAndRehashTail(int64_t exam_id, const std::string& note) {
    auto conn = Raw();
    ASSERT_TRUE(conn);
    auto exec = [&](const std::string& sql, const std::vector<storage::SqlValue>& params,
                    storage::SqlRows* rows) {
      storage::StoreStatus s = conn->Exec(sql, params, rows);
      EXPECT_TRUE(s.ok()) << sql << ": " << s.ToString();
      return s.ok();
    };
    using storage::SqlValue;
    ASSERT_TRUE(exec(GetParam() == "sqlite" ? "BEGIN IMMEDIATE" : "BEGIN", {}, nullptr));
    ASSERT_TRUE(exec("UPDATE exams SET note = $1 WHERE id = $2",
                     {SqlValue::Text(note), SqlValue::Int(exam_id)}, nullptr));
    storage::SqlRows rows;
    ASSERT_TRUE(exec(std::string("SELECT ") + storage::kExamColumns + " FROM exams WHERE id = $1",
                     {SqlValue::Int(exam_id)}, &rows));
    ASSERT_EQ(rows.size(), 1u);
    storage::ExamRecord exam;
    ASSERT_TRUE(storage::RowToExam(rows[0], &exam).ok());
    ASSERT_TRUE(
        exec("UPDATE audit SET details = $1 WHERE seq = $2",
             {SqlValue::Text("exam_sha256=" + exam.content_sha256), SqlValue::Int(exam.audit_seq)},
             nullptr));
    rows.clear();
    ASSERT_TRUE(
        exec("SELECT hash FROM audit WHERE seq = $1", {SqlValue::Int(exam.audit_seq - 1)}, &rows));
    std::string prev = rows.empty() ? storage::kGenesisHash : rows[0][0].AsText();
    rows.clear();
    ASSERT_TRUE(exec(std::string("SELECT ") + storage::kAuditColumns +
                         " FROM audit WHERE seq >= $1 ORDER BY seq",
                     {SqlValue::Int(exam.audit_seq)}, &rows));
    for (const auto& row : rows) {
      storage::AuditEvent e;
      storage::RowToAudit(row, &e);
      std::string hash = storage::AuditEventHash(prev, e.seq, e.time_ms, e.entry);
      ASSERT_TRUE(exec("UPDATE audit SET prev_hash = $1, hash = $2 WHERE seq = $3",
                       {SqlValue::Text(prev), SqlValue::Text(hash), SqlValue::Int(e.seq)},
                       nullptr));
      prev = hash;
    }
    ASSERT_TRUE(exec("COMMIT", {}, nullptr));
  }

  json Verify(const std::string& query = "") {
    auto r = Get("/api/v1/audit/verify" + query, auditor_);
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return Body(r);
  }

  json CreateCheckpoint() {
    auto r = Post("/api/v1/audit/checkpoint", auditor_, "", "application/json");
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 201) << r->body;
    return Body(r);
  }

  // Keeps the checkpoint and the public key as an auditor would, outside the database.
  void KeepOutside(const json& checkpoint) {
    WriteFile(dir_ + "/checkpoint.json", checkpoint.dump());
    WriteFile(dir_ + "/audit-public.pem", checkpoint["public_key"].get<std::string>());
  }

  // fetal-audit verify on `source` ("--sqlite FILE", "--pg-dump FILE", "--database-url URL")
  // with the kept checkpoint; returns the exit status, the output in *out.
  int AuditCli(const std::string& source, std::string* out, const std::string& extra = "") {
    int status;
    *out = RunCommand(Quote(::fetal::testing_support::AuditCli()) + " verify " + source +
                          " --checkpoint " + Quote(dir_ + "/checkpoint.json") + " --pubkey " +
                          Quote(dir_ + "/audit-public.pem") + extra + " 2>&1",
                      &status);
    return status;
  }

  // Every form of the database fetal-audit reads, for this backend.
  std::vector<std::string> AuditSources() {
    if (GetParam() == "sqlite") return {"--sqlite " + Quote(SqlitePath())};
    int status;
    const std::string dump = dir_ + "/dump.sql";
    std::string out =
        RunCommand(std::string(kPgDump) + " --no-owner --dbname=" + Quote(database_url_) +
                       " --file=" + Quote(dump) + " 2>&1",
                   &status);
    EXPECT_EQ(status, 0) << out;
    return {"--database-url " + Quote(database_url_), "--pg-dump " + Quote(dump)};
  }
};

TEST_P(AuditAnchorTest, CheckpointsAreSignedWithAKeyOutsideTheDatabase) {
  Submit(Exam("signed-1"), clinician_);
  json cp = CreateCheckpoint();
  ASSERT_TRUE(cp.is_object());
  // The signature is ECDSA P-256 over the documented canonical form, by the key it names.
  const std::string public_pem = cp["public_key"];
  std::string key_id;
  ASSERT_TRUE(PublicKeyId(public_pem, &key_id).ok());
  EXPECT_EQ(cp["key_id"], key_id);
  storage::SignedCheckpoint signed_cp;
  signed_cp.seq = cp["seq"];
  signed_cp.hash = cp["hash"];
  signed_cp.time_ms = cp["time_ms"];
  signed_cp.key_id = cp["key_id"];
  const std::string canonical = storage::CanonicalCheckpoint(signed_cp);
  const std::string seq = std::to_string(signed_cp.seq), ms = std::to_string(signed_cp.time_ms);
  EXPECT_EQ(canonical, "fetal-checkpoint-v1\nseq=" + std::to_string(seq.size()) + ":" + seq +
                           "\nhash=64:" + signed_cp.hash + "\ntime_ms=" +
                           std::to_string(ms.size()) + ":" + ms + "\nkey_id=64:" + key_id + "\n");
  EXPECT_TRUE(VerifyBytes(public_pem, canonical, cp["signature"]).ok());
  EXPECT_FALSE(VerifyBytes(public_pem, canonical + "x", cp["signature"]).ok());
  // It fixes the head as it was: the event at its seq has its hash.
  json event = Body(Get("/api/v1/audit/" + cp["seq"].dump(), auditor_));
  EXPECT_EQ(event["hash"], cp["hash"]);
  // Listed, with the public key; its creation is itself an audit event.
  json list = Body(Get("/api/v1/audit/checkpoints", auditor_));
  ASSERT_EQ(list["checkpoints"].size(), 1u) << list.dump();
  EXPECT_EQ(list["checkpoints"][0]["signature"], cp["signature"]);
  EXPECT_EQ(list["public_key"], public_pem);
  EXPECT_EQ(Body(Get("/api/v1/audit/" + std::to_string(cp["seq"].get<int64_t>() + 1),
                     auditor_))["action"],
            "checkpoint.create");
  // Clinicians may neither create nor list them.
  EXPECT_EQ(Post("/api/v1/audit/checkpoint", clinician_, "", "application/json")->status, 403);
  EXPECT_EQ(Get("/api/v1/audit/checkpoints", clinician_)->status, 403);

  // The private key is a 0600 file in the data directory, never in the database.
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/data/audit-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string key_file = ReadFileOrEmpty(dir_ + "/data/audit-key.pem");
  EXPECT_NE(key_file.find("PRIVATE KEY"), std::string::npos);
  if (GetParam() == "sqlite") {
    EXPECT_EQ(ReadFileOrEmpty(SqlitePath()).find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(ReadFileOrEmpty(SqlitePath() + "-wal").find("PRIVATE KEY"), std::string::npos);
  }
  // `fetal-server audit-key` prints the same public key for auditors.
  int status;
  std::string printed =
      RunCommand(Quote(ServerProcess::Binary()) + " audit-key" + CliArgs() + " 2>/dev/null",
                 &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(printed, public_pem);

  // A restart keeps the key; a key file others may read is refused.
  ASSERT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(StartServer(DefaultArgs()));
  EXPECT_EQ(Body(Get("/api/v1/audit/checkpoints", auditor_))["key_id"], key_id);
  server_.Kill();
  chmod((dir_ + "/data/audit-key.pem").c_str(), 0644);
  std::string out =
      RunCommand(Quote(ServerProcess::Binary()) + " --listen 127.0.0.1:0" + CliArgs() +
                     " --default-model " + Quote(dir_ + "/model.fhm") + " 2>&1",
                 &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("chmod 600"), std::string::npos) << out;
  // --audit-key naming a missing file is refused, not silently replaced.
  chmod((dir_ + "/data/audit-key.pem").c_str(), 0600);
  out = RunCommand(Quote(ServerProcess::Binary()) + " --listen 127.0.0.1:0" + CliArgs() +
                       " --audit-key " + Quote(dir_ + "/no-such-key.pem") + " 2>&1",
                   &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("no-such-key.pem"), std::string::npos) << out;
}

TEST_P(AuditAnchorTest, RewrittenAndRehashedTailIsCaughtAgainstAnEarlierSignedCheckpoint) {
  std::vector<json> exams;
  for (int i = 0; i < 3; ++i)
    exams.push_back(Submit(Exam("early-" + std::to_string(i)), clinician_));
  json cp = CreateCheckpoint();
  KeepOutside(cp);
  for (int i = 0; i < 2; ++i) Submit(Exam("late-" + std::to_string(i)), clinician_);
  json clean = Verify();
  EXPECT_EQ(clean["ok"], true) << clean.dump();
  EXPECT_GE(clean["anchors_checked"].get<int64_t>(), 1) << "the stored checkpoint was compared";
  std::string out;
  for (const std::string& source : AuditSources()) {
    EXPECT_EQ(AuditCli(source, &out), 0) << source << "\n" << out;
    EXPECT_NE(out.find("ok: the chain verifies"), std::string::npos) << out;
  }

  RewriteExamAndRehashTail(exams[1]["id"], "rewritten later");

  // The stored checkpoint, signed with a key the attacker does not have, no longer matches.
  json v = Verify();
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["first_bad_seq"], cp["seq"]) << v.dump();
  EXPECT_NE(v["problem"].get<std::string>().find("re-hashed"), std::string::npos) << v.dump();

  // The attacker deletes the stored checkpoints too: the chain alone is consistent again. This is
  // the threat model's point: only a checkpoint kept outside the database catches it now.
  RawExec("DELETE FROM audit_checkpoints");
  json bare = Verify();
  EXPECT_EQ(bare["ok"], true) << "a consistent rewrite is invisible without an anchor: "
                              << bare.dump();

  json anchored = Verify("?seq=" + cp["seq"].dump() + "&hash=" + cp["hash"].get<std::string>());
  EXPECT_EQ(anchored["ok"], false) << anchored.dump();
  EXPECT_EQ(anchored["first_bad_seq"], cp["seq"]);
  EXPECT_EQ(anchored["anchors_checked"], 1);
  for (const std::string& source : AuditSources()) {
    EXPECT_EQ(AuditCli(source, &out), 1) << source << "\n" << out;
    EXPECT_NE(out.find("NOT OK"), std::string::npos) << out;
    EXPECT_NE(out.find("re-hashed"), std::string::npos) << out;
  }
  // A bad anchor query is a 400 naming the parameter.
  auto bad = Get("/api/v1/audit/verify?seq=3", auditor_);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(Body(bad)["error"]["field"], "hash");
  bad = Get("/api/v1/audit/verify?seq=3&hash=XYZ", auditor_);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST_P(AuditAnchorTest, DeletedTailIsCaughtByAnAnchorPastTheEnd) {
  std::vector<json> exams;
  for (int i = 0; i < 4; ++i)
    exams.push_back(Submit(Exam("tail-" + std::to_string(i)), clinician_));
  json cp = CreateCheckpoint();
  KeepOutside(cp);
  // Cut everything after the second exam's event, exams and checkpoints included, so what is left
  // is a consistent, shorter chain. The server is stopped first: its own later events would
  // otherwise grow the chain again.
  ASSERT_EQ(server_.Stop(), 0);
  const int64_t keep = exams[1]["audit_seq"];
  RawExec("DELETE FROM audit WHERE seq > " + std::to_string(keep));
  RawExec("DELETE FROM exams WHERE audit_seq > " + std::to_string(keep));
  RawExec("DELETE FROM audit_checkpoints");

  std::string out;
  for (const std::string& source : AuditSources()) {
    EXPECT_EQ(AuditCli(source, &out), 1) << source << "\n" << out;
    EXPECT_NE(out.find("deleted from its end"), std::string::npos) << out;
    EXPECT_NE(out.find("seq " + std::to_string(keep + 1) + ":"), std::string::npos) << out;
  }
  ASSERT_TRUE(StartServer(DefaultArgs()));
  json v = Verify("?seq=" + cp["seq"].dump() + "&hash=" + cp["hash"].get<std::string>());
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["first_bad_seq"], keep + 1) << v.dump();
  EXPECT_NE(v["problem"].get<std::string>().find("deleted"), std::string::npos) << v.dump();
}

TEST_P(AuditAnchorTest, EditedRowsAreAllListedAndTheWalkGoesOn) {
  std::vector<json> exams;
  for (int i = 0; i < 5; ++i)
    exams.push_back(Submit(Exam("edit-" + std::to_string(i)), clinician_));
  json cp = CreateCheckpoint();
  KeepOutside(cp);
  RawExec("UPDATE exams SET note = 'edited' WHERE id = " + exams[1]["id"].dump());
  RawExec("UPDATE exams SET patient_ref = 'P-9' WHERE id = " + exams[3]["id"].dump());
  json v = Verify();
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["problem_count"], 2) << v.dump();
  ASSERT_EQ(v["problems"].size(), 2u);
  EXPECT_EQ(v["problems"][0]["seq"], exams[1]["audit_seq"]);
  EXPECT_EQ(v["problems"][1]["seq"], exams[3]["audit_seq"]);
  EXPECT_EQ(v["first_bad_seq"], exams[1]["audit_seq"]);
  EXPECT_GT(v["length"].get<int64_t>(), cp["seq"].get<int64_t>()) << "walked to the end";
  std::string out;
  for (const std::string& source : AuditSources()) {
    EXPECT_EQ(AuditCli(source, &out), 1) << source << "\n" << out;
    EXPECT_NE(out.find("2 problems"), std::string::npos) << out;
    EXPECT_NE(out.find("content does not match"), std::string::npos) << out;
  }
}

TEST_P(AuditAnchorTest, ForgedStoredCheckpointsAreReportedAndForeignOnesCounted) {
  Submit(Exam("forge-1"), clinician_);
  json cp = CreateCheckpoint();
  const std::string hash = cp["hash"];
  // One claiming the server's key with a signature that is not its own, one by another key.
  const std::string other_sig = Sign(keys_, "not the canonical form");
  RawExec("INSERT INTO audit_checkpoints (seq, hash, time_ms, key_id, signature) VALUES (" +
          cp["seq"].dump() + ", '" + hash + "', 1, '" + cp["key_id"].get<std::string>() + "', '" +
          other_sig + "')");
  RawExec("INSERT INTO audit_checkpoints (seq, hash, time_ms, key_id, signature) VALUES (" +
          cp["seq"].dump() + ", '" + hash + "', 1, '" + std::string(64, 'a') + "', '" + other_sig +
          "')");
  json v = Verify();
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["problem_count"], 1) << v.dump();
  EXPECT_NE(v["problem"].get<std::string>().find("forged or altered"), std::string::npos)
      << v.dump();
  EXPECT_EQ(v["checkpoints_not_checked"], 1) << v.dump();

  // fetal-audit refuses a checkpoint file that its public key does not verify.
  json forged = cp;
  forged["hash"] = std::string(64, 'b');
  WriteFile(dir_ + "/checkpoint.json", forged.dump());
  WriteFile(dir_ + "/audit-public.pem", cp["public_key"].get<std::string>());
  std::string out;
  EXPECT_EQ(AuditCli(AuditSources()[0], &out), 2) << out;
  EXPECT_NE(out.find("not signed by the key"), std::string::npos) << out;
}

TEST_P(AuditAnchorTest, TheWalkPagesThroughALongChainAndReportsEveryKindOfDamage) {
  // Longer than two of the walk's pages (2000 events each), written through a second store on
  // the same database, many writers at once so group commit keeps it quick.
  storage::StoreOptions options;
  options.url = GetParam() == "sqlite" ? SqlitePath() : database_url_;
  std::unique_ptr<storage::Store> store;
  ASSERT_TRUE(storage::Store::Open(options, &store).ok());
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 600; ++i) {
        if (!store->AppendAudit({{"w", "auditor", ""}, "audit.list", "", "ok", ""}, nullptr).ok())
          ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures, 0);
  storage::AuditVerifyResult clean;
  ASSERT_TRUE(store->VerifyAudit(&clean).ok());
  ASSERT_TRUE(clean.ok) << clean.problem;
  ASSERT_GT(clean.length, 4800);

  RawExec("UPDATE audit SET outcome = 'denied' WHERE seq = 2500");
  RawExec("DELETE FROM audit WHERE seq = 4100");
  json exam = Submit(Exam("smuggled-source"), clinician_);
  RawExec(
      "INSERT INTO exams (submitted_by, client_exam_id, body_sha256, features, client_class, "
      "client_probabilities, model_version, server_class, server_probabilities, agreement, "
      "max_abs_diff, patient_ref, note, client_timestamp, received_ms, audit_seq) "
      "SELECT submitted_by, 'smuggled', body_sha256, features, client_class, client_probabilities, "
      "model_version, server_class, server_probabilities, agreement, max_abs_diff, patient_ref, "
      "note, client_timestamp, received_ms, 10 FROM exams WHERE id = " +
      exam["id"].dump());
  storage::AuditVerifyResult v;
  ASSERT_TRUE(store->VerifyAudit(&v).ok());
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.problem_count, 3) << v.problem;
  ASSERT_EQ(v.problems.size(), 3u);
  EXPECT_EQ(v.problems[0].seq, 10);  // the smuggled row, at the seq it claims
  EXPECT_NE(v.problems[0].problem.find("not recorded by any audit event"), std::string::npos);
  EXPECT_EQ(v.problems[1].seq, 2500);
  EXPECT_EQ(v.problems[2].seq, 4100);
  EXPECT_NE(v.problems[2].problem.find("missing"), std::string::npos);
  EXPECT_EQ(v.first_bad_seq, 10);
  EXPECT_GT(v.length, 4800) << "the walk went on to the end";
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditAnchorTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
