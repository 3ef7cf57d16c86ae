// ServerFixture: a real fetal-server on 127.0.0.1 and a random port, with a temp data dir, a
// tiny signed model registered as version 1, a web root, and tokens for every role. The test
// parameter picks the backend: "sqlite" (file in the data dir) or "postgresql" (a fresh database
// on the throwaway cluster).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetal/evaluator.h"
#include "fetal/release_manifest.h"
#include "fetal/schema.h"
#include "fetal/signature.h"
#include "test_support.h"

namespace fetal {
namespace testing_support {

using nlohmann::json;

// Dataset row 1 (class Suspect in the data): passes every validator rule.
inline const double kExamFeatures[kNumFeatures] = {120, 0,  0,   0, 0, 0,   0,   73,  0.5, 43, 2.4,
                                                   64,  62, 126, 2, 0, 120, 137, 121, 73,  1};

class ServerFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("http-" + GetParam());
    keys_ = NewKeys();
    bundle_v1_ = BundleBytes(TinyModel(1));
    WriteFile(dir_ + "/model.fhm", bundle_v1_);
    WriteFile(dir_ + "/model.fhm.sig", Sign(keys_, bundle_v1_) + "\n");
    WriteFile(dir_ + "/public.pem", keys_.public_pem);
    mkdir((dir_ + "/web").c_str(), 0700);
    mkdir((dir_ + "/web/assets").c_str(), 0700);
    WriteFile(dir_ + "/web/index.html", "<!doctype html><title>Fetal Health</title>");
    WriteFile(dir_ + "/web/sw.js", "self.addEventListener('fetch', () => {});");
    WriteFile(dir_ + "/web/assets/app.3f2a9c1b.js", "export const x = 1;");
    WriteFile(dir_ + "/web/fetal.wasm", std::string("\0asm\1\0\0\0", 8));
    WriteFile(dir_ + "/web/manifest.webmanifest", "{}");
    WriteFile(dir_ + "/web/app.css", "body{}");
    WriteFile(dir_ + "/web/icon.svg", "<svg/>");
    WriteFile(dir_ + "/web/strings.json", "{}");
    WriteFile(dir_ + "/secret.txt", "outside the web root");
    if (GetParam() == "postgresql") {
      std::string error;
      database_url_ = Postgres::NewDatabase(&error);
      ASSERT_FALSE(database_url_.empty()) << error;
    }
    std::unique_ptr<Evaluator> evaluator;
    ASSERT_TRUE(Evaluator::Create(TinyModel(1), &evaluator).ok());
    evaluator_ = std::move(evaluator);
    ASSERT_TRUE(StartServer(DefaultArgs()));
    // One request from this thread first: cpp-httplib's client builds function-local statics (its
    // response-line regex) on first use, inside the library where ThreadSanitizer cannot see the
    // static guard; built here, before any test starts client threads, every thread is ordered
    // after it by its creation.
    ASSERT_TRUE(Get("/api/v1/health"));
    admin_ = ReadToken(dir_ + "/data/admin-token");
    ASSERT_FALSE(admin_.empty());
    clinician_ = CreateToken("clinician", "nurse-a");
    clinician2_ = CreateToken("clinician", "nurse-b");
    auditor_ = CreateToken("auditor", "auditor-1");
    ASSERT_FALSE(clinician_.empty());
    ASSERT_FALSE(auditor_.empty());
  }

  void TearDown() override {
    server_.Kill();
    // A sanitizer build of the server (this tree's, or the one FETAL_SERVER_BIN names) reports
    // to its log.
    std::string report = SanitizerReport(ReadFileOrEmpty(dir_ + "/server.log"));
    EXPECT_TRUE(report.empty()) << "fetal-server had a sanitizer report:\n" << report;
    if (!HasFailure()) RemoveTree(dir_);
    else std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }

  std::vector<std::string> StorageArgs() const {
    std::vector<std::string> args = {"--data-dir", dir_ + "/data"};
    if (!database_url_.empty()) {
      args.push_back("--database-url");
      args.push_back(database_url_);
    }
    return args;
  }

  std::vector<std::string> DefaultArgs() const {
    std::vector<std::string> args = StorageArgs();
    for (const char* a :
         {"--default-model", "", "--model-pubkey", "", "--web-root", "", "--rate-limit", "0",
          "--token-cache-ms", "0", "--model-cache-ms", "0", "--threads", "16"}) {
      args.push_back(a);
    }
    args[StorageArgs().size() + 1] = dir_ + "/model.fhm";
    args[StorageArgs().size() + 3] = dir_ + "/public.pem";
    args[StorageArgs().size() + 5] = dir_ + "/web";
    return args;
  }

  bool StartServer(const std::vector<std::string>& args) {
    std::string error;
    bool ok = server_.Start(args, dir_ + "/server.log", &error);
    EXPECT_TRUE(ok) << error;
    return ok;
  }

  static std::string ReadToken(const std::string& path) {
    std::string t = ReadFileOrEmpty(path);
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }

  std::string Quote(const std::string& s) const { return "'" + s + "'"; }

  std::string CliArgs() const {
    std::string out;
    for (const auto& a : StorageArgs()) out += " " + Quote(a);
    return out;
  }

  std::string CreateToken(const std::string& role, const std::string& name) {
    int status;
    std::string out = RunCommand(Quote(ServerProcess::Binary()) + " token create --role " + role +
                                     " --name " + name + CliArgs() + " 2>/dev/null",
                                 &status);
    EXPECT_EQ(status, 0) << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  std::unique_ptr<httplib::Client> Client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
    c->set_read_timeout(60, 0);
    c->set_connection_timeout(10, 0);
    return c;
  }

  static httplib::Headers Auth(const std::string& token, httplib::Headers extra = {}) {
    if (!token.empty()) extra.emplace("Authorization", "Bearer " + token);
    return extra;
  }

  httplib::Result Get(const std::string& path, const std::string& token = {},
                      httplib::Headers extra = {}) {
    return Client()->Get(path.c_str(), Auth(token, std::move(extra)));
  }

  httplib::Result Post(const std::string& path, const std::string& token, const std::string& body,
                       const std::string& content_type = "application/json",
                       httplib::Headers extra = {}) {
    return Client()->Post(path.c_str(), Auth(token, std::move(extra)), body, content_type.c_str());
  }

  // Writes DATA_DIR/activation-policy.json (docs/model-changes.md "Activation gates"); read at
  // the next activation or rollout start. Without it the built-in defaults are enforced.
  void WritePolicy(const json& policy) {
    WriteFile(dir_ + "/data/activation-policy.json", policy.dump(2));
  }

  // A release set as `fetal-model release` makes it (fetal/release_manifest.h), valid until 2099.
  static ReleaseSet MakeReleaseSetAt(const std::string& site, int64_t sequence,
                                     const ReleaseModel& stable, const ReleaseModel& candidate,
                                     const std::vector<int>& steps = {5, 25, 100}) {
    ReleaseSet set;
    Status s =
        MakeReleaseSet(site, sequence, stable, candidate, steps, "00112233445566778899aabbccddeeff",
                       "2026-12-01T09:00:00Z", "2099-01-01T00:00:00Z", &set);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return set;
  }

  // The POST /releases body of three (manifest bytes, signing key) pairs.
  static json UploadBody(const std::vector<std::pair<std::string, std::string>>& signed_by) {
    json body = {{"manifests", json::array()}};
    for (const auto& [bytes, key] : signed_by) {
      std::string signature;
      EXPECT_TRUE(SignBytes(key, bytes, &signature).ok());
      body["manifests"].push_back({{"manifest", bytes}, {"signature", signature}});
    }
    return body;
  }

  // The POST /releases body of `set`, signed with the fixture's key.
  json SignedSet(const ReleaseSet& set) const {
    return UploadBody({{CanonicalManifest(set.rollout), keys_.private_pem},
                       {CanonicalManifest(set.revert), keys_.private_pem},
                       {CanonicalManifest(set.promote), keys_.private_pem}});
  }

  // Runs SQL on the server's database behind its back: the tamper tests' attacker, who has
  // write access to the database.
  void RawSql(const std::string& sql) {
    std::string error;
    ASSERT_TRUE(GetParam() == "sqlite" ? SqliteExecute(dir_ + "/data/fetal.db", sql, &error)
                                       : Postgres::Execute(database_url_, sql, &error))
        << error;
  }

  static json Body(const httplib::Result& r) {
    if (!r) return json();
    return json::parse(r->body, nullptr, false);
  }

  // An exam whose client result is exactly what the server's model computes (agreement: match).
  json Exam(const std::string& id, const double* features = kExamFeatures) const {
    return ExamAs(id, features, *evaluator_, 1);
  }

  // An exam as a browser running model `version`, whose results `evaluator` computes, submits it.
  static json ExamAs(const std::string& id, const double* features, const Evaluator& evaluator,
                     int64_t version) {
    float f[kNumFeatures], p[kNumClasses];
    json feats = json::object();
    for (int i = 0; i < kNumFeatures; ++i) {
      f[i] = static_cast<float>(features[i]);
      feats[std::string(FeatureSchema()[i].key)] = features[i];
    }
    evaluator.Predict(f, p);
    return json{{"client_exam_id", id},
                {"client_time", "2026-11-28T13:45:00Z"},
                {"features", feats},
                {"client_result",
                 {{"class", std::string(kClassNames[ArgMax(p)])},
                  {"probabilities",
                   {static_cast<double>(p[0]), static_cast<double>(p[1]),
                    static_cast<double>(p[2])}},
                  {"model_version", version}}}};
  }

  // Submits `exam` as `token` and returns the stored exam; fails the test unless 201.
  json Submit(const json& exam, const std::string& token) {
    auto r = Post("/api/v1/exams", token, exam.dump());
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 201) << r->body;
    return Body(r);
  }

  std::string dir_;
  std::string database_url_;
  SigningKeys keys_;
  std::string bundle_v1_;
  std::unique_ptr<Evaluator> evaluator_;
  ServerProcess server_;
  std::string admin_, clinician_, clinician2_, auditor_;
};

inline std::string BackendName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace testing_support
}  // namespace fetal
