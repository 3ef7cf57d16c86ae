// Unit tests of the server's pure parts: flag/env parsing, time parsing, token format, the rate
// limiter, exam JSON decoding, and static file resolution.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "auth.h"
#include "config.h"
#include "exam_json.h"
#include "static_files.h"
#include "test_support.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;

TEST(ConfigTest, FlagsOverrideEnvironmentAndBadValuesNameTheFlag) {
  setenv("FETAL_LISTEN", "0.0.0.0:9000", 1);
  setenv("FETAL_THREADS", "12", 1);
  ServerConfig config;
  std::vector<std::string> rest;
  std::string error;
  ASSERT_TRUE(ParseConfig({"--threads", "8", "--data-dir=/tmp/x", "--no-request-log"}, &config, &rest, &error)) << error;
  EXPECT_EQ(config.listen, "0.0.0.0:9000");
  EXPECT_EQ(config.threads, 8);
  EXPECT_EQ(config.data_dir, "/tmp/x");
  EXPECT_FALSE(config.log_requests);
  unsetenv("FETAL_LISTEN");
  unsetenv("FETAL_THREADS");

  ServerConfig c2;
  EXPECT_FALSE(ParseConfig({"--threads", "0"}, &c2, &rest, &error));
  EXPECT_NE(error.find("--threads"), std::string::npos);
  EXPECT_FALSE(ParseConfig({"--listen", "localhost"}, &c2, &rest, &error));
  EXPECT_NE(error.find("HOST:PORT"), std::string::npos) << error;
  EXPECT_FALSE(ParseConfig({"--bogus"}, &c2, &rest, &error));
  EXPECT_NE(error.find("--bogus"), std::string::npos);
  EXPECT_FALSE(ParseConfig({"--rate-limit"}, &c2, &rest, &error));
  EXPECT_NE(error.find("needs a value"), std::string::npos);
  setenv("FETAL_RATE_LIMIT", "fast", 1);
  EXPECT_FALSE(ParseConfig({}, &c2, &rest, &error));
  EXPECT_NE(error.find("FETAL_RATE_LIMIT"), std::string::npos);
  unsetenv("FETAL_RATE_LIMIT");

  std::string host;
  int port;
  ASSERT_TRUE(SplitHostPort("[::1]:8080", &host, &port, &error));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8080);
}

TEST(TimeTest, ParsesIso8601WithZonesAndRejectsTheRest) {
  int64_t ms;
  ASSERT_TRUE(ParseTime("1970-01-01T00:00:01Z", &ms));
  EXPECT_EQ(ms, 1000);
  ASSERT_TRUE(ParseTime("2026-11-28T13:45:00.250+01:00", &ms));
  int64_t utc;
  ASSERT_TRUE(ParseTime("2026-11-28T12:45:00.250Z", &utc));
  EXPECT_EQ(ms, utc);
  EXPECT_EQ(FormatTime(utc), "2026-11-28T12:45:00.250Z");
  for (const char* bad : {"2026-11-28", "2026-11-28T13:45:00", "2026-13-01T00:00:00Z", "yesterday",
                          "2026-11-28T13:45:00Zjunk", "2026-11-28 13:45:00Z"}) {
    EXPECT_FALSE(ParseTime(bad, &ms)) << bad;
  }
}

TEST(AuthTest, TokensAreRandomWellFormedAndHashed) {
  std::string a = GenerateToken(), b = GenerateToken();
  EXPECT_NE(a, b);
  EXPECT_TRUE(LooksLikeToken(a));
  EXPECT_FALSE(LooksLikeToken("fht_short"));
  EXPECT_FALSE(LooksLikeToken(a.substr(0, 46) + "!"));
  EXPECT_EQ(HashToken(a).size(), 64u);
  EXPECT_NE(HashToken(a), HashToken(b));
  EXPECT_TRUE(ConstantTimeEquals(HashToken(a), HashToken(a)));
  EXPECT_FALSE(ConstantTimeEquals(HashToken(a), HashToken(b)));
  Role role;
  EXPECT_TRUE(ParseRole("auditor", &role));
  EXPECT_EQ(role, Role::kAuditor);
  EXPECT_FALSE(ParseRole("root", &role));
}

TEST(RateLimiterTest, AllowsTheBurstThenRefusesPerToken) {
  RateLimiter limiter(/*rate=*/1, /*burst=*/3);
  int retry = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow(7, &retry));
  EXPECT_FALSE(limiter.Allow(7, &retry));
  EXPECT_GE(retry, 1);
  EXPECT_TRUE(limiter.Allow(8, &retry)) << "buckets are per token";
  RateLimiter off(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.Allow(1, &retry));
}

json ValidExam() {
  json features = json::object();
  const double values[kNumFeatures] = {120, 0, 0, 0, 0, 0, 0, 73, 0.5, 43, 2.4, 64, 62, 126, 2, 0, 120, 137, 121, 73, 1};
  for (int i = 0; i < kNumFeatures; ++i) features[std::string(FeatureSchema()[i].key)] = values[i];
  return json{{"client_exam_id", "abc-1"},
              {"client_time", "2026-11-28T13:45:00Z"},
              {"features", features},
              {"client_result", {{"class", "Normal"}, {"probabilities", {0.7, 0.2, 0.1}}, {"model_version", 1}}}};
}

TEST(ExamJsonTest, DecodesAValidExamAndHashesItCanonically) {
  storage::ExamInput in;
  std::vector<FieldError> errors;
  json exam = ValidExam();
  ASSERT_TRUE(DecodeExam(exam, "", &in, &errors)) << FieldErrorToJson(errors[0]).dump();
  EXPECT_EQ(in.client_exam_id, "abc-1");
  EXPECT_EQ(in.features[0], 120);
  EXPECT_EQ(in.client_class, 0);
  EXPECT_EQ(in.model_version, 1);
  storage::ExamInput again;
  ASSERT_TRUE(DecodeExam(json::parse(exam.dump(3)), "", &again, &errors));
  EXPECT_EQ(in.body_sha256, again.body_sha256);
  exam["note"] = "x";
  storage::ExamInput changed;
  ASSERT_TRUE(DecodeExam(exam, "", &changed, &errors));
  EXPECT_NE(in.body_sha256, changed.body_sha256);
}

TEST(ExamJsonTest, ReportsEveryProblemWithItsPath) {
  json exam = ValidExam();
  exam.erase("client_time");
  exam["features"].erase("histogram_min");
  exam["features"]["baseline_value"] = "120";
  exam["features"]["heart_rate"] = 1;
  exam["client_exam_id"] = "has space";
  exam["client_result"]["probabilities"] = {0.5, 0.5};
  exam["client_result"]["model_version"] = 0;
  exam["note"] = std::string(5000, 'n');
  storage::ExamInput in;
  std::vector<FieldError> errors;
  EXPECT_FALSE(DecodeExam(exam, "exams[2].", &in, &errors));
  std::set<std::string> fields;
  for (const auto& e : errors) fields.insert(e.field);
  for (const char* f : {"exams[2].client_time", "exams[2].features.histogram_min", "exams[2].features.baseline_value",
                        "exams[2].features.heart_rate", "exams[2].client_exam_id", "exams[2].client_result.probabilities",
                        "exams[2].client_result.model_version", "exams[2].note"}) {
    EXPECT_TRUE(fields.count(f)) << f;
  }
  for (const auto& e : errors) {
    EXPECT_FALSE(e.message.empty());
    EXPECT_FALSE(e.rule.empty());
  }
}

TEST(ExamJsonTest, DirectWriterMatchesTheJsonTree) {
  storage::ExamRecord rec;
  std::vector<FieldError> errors;
  ASSERT_TRUE(DecodeExam(ValidExam(), "", &rec.input, &errors));
  rec.id = 42;
  rec.submitted_by = "ward \"3\"\n";
  rec.received_ms = 1795873689809;
  rec.audit_seq = 7;
  rec.content_sha256 = std::string(64, 'c');
  rec.input.note = "tab\there, control \x01, unicode \xc3\xa9";
  rec.input.server_probabilities = {0.1234567890123, 1.0 / 3, 2.0 / 3 - 0.1234567890123};
  rec.input.max_abs_diff = 1e-7;
  rec.input.features[8] = 0.1 + 0.2;
  bool replayed = true;
  std::string text;
  AppendExamJson(rec, &replayed, "[]", &text);
  json direct = json::parse(text);
  json tree = ExamToJson(rec);
  tree["replayed"] = true;
  tree["warnings"] = json::array();
  EXPECT_EQ(direct, tree) << text;
  std::string plain;
  AppendExamJson(rec, nullptr, "", &plain);
  EXPECT_EQ(json::parse(plain), ExamToJson(rec));
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::MakeTempDir("static");
    mkdir((dir_ + "/root").c_str(), 0700);
    mkdir((dir_ + "/root/sub").c_str(), 0700);
    testing_support::WriteFile(dir_ + "/root/index.html", "i");
    testing_support::WriteFile(dir_ + "/root/sub/index.html", "s");
    testing_support::WriteFile(dir_ + "/root/.env", "secret");
    testing_support::WriteFile(dir_ + "/outside.txt", "o");
    ASSERT_EQ(symlink((dir_ + "/outside.txt").c_str(), (dir_ + "/root/link.txt").c_str()), 0);
  }
  void TearDown() override { testing_support::RemoveTree(dir_); }
  std::string dir_;
};

TEST_F(StaticFilesTest, ResolvesInsideTheRootOnly) {
  StaticFiles files(dir_ + "/root");
  StaticFile f;
  ASSERT_TRUE(files.Resolve("/", &f));
  EXPECT_EQ(f.path, dir_ + "/root/index.html");
  ASSERT_TRUE(files.Resolve("/sub", &f));
  EXPECT_EQ(f.path, dir_ + "/root/sub/index.html");
  for (const char* bad : {"/../outside.txt", "/sub/../../outside.txt", "/.env", "/link.txt", "/missing", "relative",
                          "/sub\\..\\..\\outside.txt"}) {
    EXPECT_FALSE(files.Resolve(bad, &f)) << bad;
  }
  EXPECT_FALSE(StaticFiles("").Resolve("/", &f));
}

TEST(StaticTypesTest, MimeTypesAndCacheControl) {
  EXPECT_EQ(StaticFiles::MimeType("/a/fetal.wasm"), "application/wasm");
  EXPECT_EQ(StaticFiles::MimeType("/a/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(StaticFiles::MimeType("/m.webmanifest"), "application/manifest+json");
  EXPECT_EQ(StaticFiles::MimeType("/x.unknown"), "application/octet-stream");
  EXPECT_EQ(StaticFiles::CacheControl("/sw.js"), "no-cache");
  EXPECT_EQ(StaticFiles::CacheControl("/index.html"), "no-cache");
  EXPECT_EQ(StaticFiles::CacheControl("/assets/app.3f2a9c1b.js"), "public, max-age=31536000, immutable");
  EXPECT_EQ(StaticFiles::CacheControl("/assets/chunk-0a1b2c3d4e.wasm"), "public, max-age=31536000, immutable");
  EXPECT_EQ(StaticFiles::CacheControl("/assets/app-settings.js"), "no-cache");
}

}  // namespace
}  // namespace server
}  // namespace fetal
