// Signed means signed: with --model-pubkey, an unsigned default model stops the start, and a
// bundle that reaches the database behind the server's back (another key's signature, none, or
// bytes that do not match their hash) is never used: not to classify, not to activate, not as
// the active model, even when an earlier, good copy is cached. On SQLite and on a real
// PostgreSQL.
#include "fetal/sha256.h"
#include "server_fixture.h"
#include "storage/sql.h"

namespace fetal {
namespace testing_support {
namespace {

class ModelTrustTest : public ServerFixture {
 protected:
  std::unique_ptr<storage::SqlConn> Raw() {
    storage::Database db;
    db.dialect = GetParam() == "sqlite" ? storage::Dialect::kSqlite : storage::Dialect::kPostgres;
    db.target = GetParam() == "sqlite" ? dir_ + "/data/fetal.db" : database_url_;
    std::unique_ptr<storage::SqlConn> conn;
    storage::StoreStatus s = db.Connect(&conn);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return conn;
  }

  void RawExec(const std::string& sql, const std::vector<storage::SqlValue>& params = {}) {
    auto conn = Raw();
    ASSERT_TRUE(conn);
    storage::StoreStatus s = conn->Exec(sql, params, nullptr);
    ASSERT_TRUE(s.ok()) << sql << ": " << s.ToString();
  }

  // Writes model version 2 straight into the registry table, as someone with database access
  // could.
  void SmuggleVersion2(const std::string& signature, bool wrong_hash = false) {
    const std::string bundle = BundleBytes(TinyModel(2, 0.2f));
    std::string sha = Sha256Hex(bundle.data(), bundle.size());
    if (wrong_hash) sha = std::string(64, 'e');
    using storage::SqlValue;
    RawExec("DELETE FROM models WHERE version = 2");
    RawExec(
        "INSERT INTO models (version, sha256, signature, metadata_json, created_ms, active, "
        "bundle) VALUES (2, $1, $2, '{}', 1, 0, $3)",
        {SqlValue::Text(sha), SqlValue::Text(signature), SqlValue::Blob(bundle)});
  }

  void ExpectVersion2Refused(const std::string& why) {
    SCOPED_TRACE(why);
    json exam = Exam("uses-v2-" + std::to_string(++attempts_));
    exam["client_result"]["model_version"] = 2;
    auto r = Post("/api/v1/exams", clinician_, exam.dump());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500) << r->body;
    EXPECT_EQ(Body(r)["error"]["code"], "storage_corrupt") << r->body;
    auto activate = Post("/api/v1/models/2/activate", admin_, "", "application/json");
    ASSERT_TRUE(activate);
    EXPECT_EQ(activate->status, 500) << activate->body;
    auto active = Get("/api/v1/models/active");
    ASSERT_TRUE(active);
    EXPECT_EQ(active->get_header_value("X-Model-Version"), "1") << "the active model changed";
    json page = Body(Get("/api/v1/exams?limit=100", auditor_));
    for (const json& e : page["exams"]) EXPECT_NE(e["client_result"]["model_version"], 2);
  }

  int attempts_ = 0;
};

TEST_P(ModelTrustTest, UnsignedDefaultModelIsRefusedWhenAPublicKeyIsSet) {
  const std::string fresh = MakeTempDir("unsigned");
  WriteFile(fresh + "/model.fhm", bundle_v1_);  // no model.fhm.sig
  std::string storage = " --data-dir " + Quote(fresh + "/data");
  if (GetParam() == "postgresql") {
    std::string error;
    std::string url = Postgres::NewDatabase(&error);
    ASSERT_FALSE(url.empty()) << error;
    storage += " --database-url " + Quote(url);
  }
  int status;
  // `timeout`: were the refusal missing, the server would run instead of exiting.
  std::string out =
      RunCommand("timeout 30 " + Quote(ServerProcess::Binary()) + " --listen 127.0.0.1:0" +
                     storage + " --default-model " + Quote(fresh + "/model.fhm") +
                     " --model-pubkey " + Quote(dir_ + "/public.pem") + " 2>&1",
                 &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("has no signature"), std::string::npos) << out;
  EXPECT_NE(out.find("--model-pubkey"), std::string::npos) << out;
  EXPECT_EQ(out.find("listening"), std::string::npos) << out;
  EXPECT_EQ(out.find("registered"), std::string::npos) << "nothing may be registered: " << out;

  // A signature by another key is refused the same way.
  SigningKeys other = NewKeys();
  WriteFile(fresh + "/model.fhm.sig", Sign(other, bundle_v1_) + "\n");
  out = RunCommand("timeout 30 " + Quote(ServerProcess::Binary()) + " --listen 127.0.0.1:0" +
                       storage + " --default-model " + Quote(fresh + "/model.fhm") +
                       " --model-pubkey " + Quote(dir_ + "/public.pem") + " 2>&1",
                   &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("does not verify"), std::string::npos) << out;
  RemoveTree(fresh);
}

TEST_P(ModelTrustTest, BundlesFromTheDatabaseAreVerifiedBeforeUse) {
  SigningKeys other = NewKeys();
  const std::string v2 = BundleBytes(TinyModel(2, 0.2f));
  SmuggleVersion2(Sign(other, v2));
  ExpectVersion2Refused("signed by another key");
  SmuggleVersion2("");
  ExpectVersion2Refused("unsigned");
  SmuggleVersion2(Sign(keys_, v2), /*wrong_hash=*/true);
  ExpectVersion2Refused("bytes that do not match the stored hash");

  // Made active directly in the database: the server does not serve or report it as active.
  SmuggleVersion2(Sign(other, v2));
  RawExec("UPDATE models SET active = CASE WHEN version = 2 THEN 1 ELSE 0 END");
  auto active = Get("/api/v1/models/active");
  ASSERT_TRUE(active);
  EXPECT_EQ(active->status, 500) << active->body;
  auto health = Get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503) << health->body;
  EXPECT_NE(Body(health)["active_model_error"].get<std::string>().find("does not verify"),
            std::string::npos)
      << health->body;
  // The admin puts the good version back through the API.
  auto back = Post("/api/v1/models/1/activate", admin_, "", "application/json");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 200) << back->body;
  EXPECT_EQ(Get("/api/v1/health")->status, 200);

  // Correctly signed, it is used like any upload.
  SmuggleVersion2(Sign(keys_, v2));
  json exam = Exam("uses-v2-signed");
  exam["client_result"]["model_version"] = 2;
  auto r = Post("/api/v1/exams", clinician_, exam.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
}

TEST_P(ModelTrustTest, ActivationRereadsTheDatabaseEvenWhenTheModelIsCached) {
  Submit(Exam("warms-the-cache"), clinician_);  // version 1 is now loaded and cached
  SigningKeys other = NewKeys();
  RawExec("UPDATE models SET signature = '" + Sign(other, bundle_v1_) + "' WHERE version = 1");
  auto activate = Post("/api/v1/models/1/activate", admin_, "", "application/json");
  ASSERT_TRUE(activate);
  EXPECT_EQ(activate->status, 500) << activate->body;
  EXPECT_NE(Body(activate)["error"]["message"].get<std::string>().find("does not verify"),
            std::string::npos)
      << activate->body;
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelTrustTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
