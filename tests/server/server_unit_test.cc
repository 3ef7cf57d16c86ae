// Unit tests of the server's pure parts: flag/env parsing, time parsing, token format, the rate
// and in-flight limiters, exam JSON decoding and writing, the JSON pre-scan, storable text and
// numbers, excerpts, the hashed byte forms, and static file resolution.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <thread>

#include "auth.h"
#include "compressed_files.h"
#include "config.h"
#include "exam_json.h"
#include "fetal/sha256.h"
#include "http/json_shape.h"
#include "http/responses.h"
#include "static_files.h"
#include "storage/canonical.h"
#include "test_support.h"
#include "text/excerpt.h"
#include "text/number_text.h"
#include "text/storable.h"
#include "text/time_text.h"

namespace fetal {
namespace server {
namespace {

using nlohmann::json;
using text::FormatTime;
using text::ParseTime;

// The database waits go to the store as they were given, and their defaults are the store's.
TEST(ConfigTest, DatabaseWaitFlagsSetTheStoreLimits) {
  ServerConfig config;
  std::vector<std::string> rest;
  std::string error;
  ASSERT_TRUE(ParseConfig({}, &config, &rest, &error)) << error;
  const storage::StoreLimits defaults;
  EXPECT_EQ(config.store_limits.read_wait_ms, defaults.read_wait_ms);
  EXPECT_EQ(config.store_limits.commit_wait_ms, defaults.commit_wait_ms);
  EXPECT_EQ(config.store_limits.keepalive_idle_s, defaults.keepalive_idle_s);

  setenv("FETAL_CONNECT_TIMEOUT", "7", 1);
  ASSERT_TRUE(ParseConfig({"--read-wait-ms", "11", "--commit-wait-ms", "12", "--lock-timeout-ms",
                           "13", "--statement-timeout-ms", "14", "--idle-in-transaction-timeout-ms",
                           "15", "--keepalive-idle", "16"},
                          &config, &rest, &error))
      << error;
  unsetenv("FETAL_CONNECT_TIMEOUT");
  EXPECT_EQ(config.store_limits.read_wait_ms, 11);
  EXPECT_EQ(config.store_limits.commit_wait_ms, 12);
  EXPECT_EQ(config.store_limits.lock_timeout_ms, 13);
  EXPECT_EQ(config.store_limits.statement_timeout_ms, 14);
  EXPECT_EQ(config.store_limits.idle_in_transaction_timeout_ms, 15);
  EXPECT_EQ(config.store_limits.connect_timeout_s, 7);
  EXPECT_EQ(config.store_limits.keepalive_idle_s, 16);

  EXPECT_FALSE(ParseConfig({"--commit-wait-ms", "0"}, &config, &rest, &error));
  EXPECT_NE(error.find("--commit-wait-ms"), std::string::npos) << error;
}

TEST(ConfigTest, FlagsOverrideEnvironmentAndBadValuesNameTheFlag) {
  setenv("FETAL_LISTEN", "0.0.0.0:9000", 1);
  setenv("FETAL_THREADS", "12", 1);
  ServerConfig config;
  std::vector<std::string> rest;
  std::string error;
  ASSERT_TRUE(ParseConfig({"--threads", "8", "--data-dir=/tmp/x", "--no-request-log"}, &config,
                          &rest, &error))
      << error;
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

TEST(RateLimiterTest, AClockReadingOlderThanTheLastRefillDoesNotEmptyTheBucket) {
  // Two requests read the clock, and the later reader takes the lock first. The earlier reading
  // is not time running backwards: it once drained a 100,000/s bucket after a few ms of waiting.
  RateLimiter limiter(/*rate=*/100000, /*burst=*/2);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ms = [&](int n) { return t0 + std::chrono::milliseconds(n); };
  int retry = 0;
  EXPECT_TRUE(limiter.Allow(7, ms(10), &retry));
  EXPECT_TRUE(limiter.Allow(7, ms(0), &retry)) << "one whole token was left";
  EXPECT_FALSE(limiter.Allow(7, ms(10), &retry)) << "empty, and no time since the latest reading";
  EXPECT_TRUE(limiter.Allow(7, ms(11), &retry)) << "1 ms at 100,000/s refills it";
}

TEST(TokenBucketTest, RefillsAtItsRateUpToItsCapacityAndNeverFromAnOlderReading) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto ms = [&](int n) { return t0 + std::chrono::milliseconds(n); };
  TokenBucket bucket{1, t0};
  EXPECT_TRUE(bucket.Take(ms(0), /*rate=*/2, /*capacity=*/3));
  EXPECT_FALSE(bucket.Take(ms(400), 2, 3)) << "0.8 of a token";
  EXPECT_TRUE(bucket.Take(ms(1400), 2, 3));  // 2.8 tokens, 1.8 left
  EXPECT_TRUE(bucket.Take(ms(100), 2, 3)) << "an older reading takes the token that is there";
  EXPECT_FALSE(bucket.Take(ms(100), 2, 3)) << "and refills nothing: 0.8 left";
  // Refilled from 1,400 ms, not from the older reading: 1.3 tokens, one take and no second.
  EXPECT_TRUE(bucket.Take(ms(1650), 2, 3));
  EXPECT_FALSE(bucket.Take(ms(1650), 2, 3));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.Take(ms(60000), 2, 3)) << "take " << i;
  EXPECT_FALSE(bucket.Take(ms(60000), 2, 3)) << "a minute refills only up to the capacity";
}

TEST(InFlightLimiterTest, HoldsAtMostNPerTokenAndReleasesWithTheSlot) {
  InFlightLimiter limiter(2);
  {
    InFlightSlot a, b, c, other;
    EXPECT_TRUE(a.Acquire(&limiter, 7));
    EXPECT_TRUE(b.Acquire(&limiter, 7));
    EXPECT_FALSE(c.Acquire(&limiter, 7));
    EXPECT_TRUE(other.Acquire(&limiter, 8)) << "slots are per token";
    b.Reset();
    EXPECT_TRUE(c.Acquire(&limiter, 7));
  }
  InFlightSlot again[2];
  EXPECT_TRUE(again[0].Acquire(&limiter, 7) && again[1].Acquire(&limiter, 7))
      << "destroyed slots are released";
  InFlightLimiter off(0);
  InFlightSlot many[50];
  for (auto& slot : many) EXPECT_TRUE(slot.Acquire(&off, 1));
}

// The pre-scan walks any input in one loop: run on a thread with a 64 KiB stack, 64 MiB of '['
// (which a recursive reader would need gigabytes of stack for) are scanned to the end.
TEST(JsonShapeTest, ScansAnyDepthWithoutRecursion) {
  struct Work {
    std::string text = std::string(size_t{64} << 20, '[');
    JsonShape shape;
    bool ok = false;
  } work;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t thread;
  ASSERT_EQ(
      pthread_create(
          &thread, &attr,
          [](void* arg) -> void* {
            auto* w = static_cast<Work*>(arg);
            w->ok = ScanJsonShape(w->text, JsonLimits{SIZE_MAX, SIZE_MAX, SIZE_MAX}, &w->shape);
            return nullptr;
          },
          &work),
      0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_TRUE(work.ok);
  EXPECT_EQ(work.shape.max_depth, work.text.size());
}

TEST(JsonShapeTest, StopsAtEachLimitAndIgnoresBracketsInStrings) {
  const JsonLimits limits{3, 10, 8};
  JsonShape shape;
  EXPECT_TRUE(ScanJsonShape(R"({"a":[{"b":"[[[[{{{{"}]})", limits, &shape));
  EXPECT_EQ(shape.max_depth, 3u);
  EXPECT_TRUE(ScanJsonShape(R"(["\"]]]]", "x\\"])", limits, &shape)) << "escapes end no string";
  EXPECT_EQ(shape.max_depth, 1u);
  EXPECT_FALSE(ScanJsonShape("[[[[1]]]]", limits, &shape));
  EXPECT_TRUE(shape.too_deep);
  EXPECT_EQ(shape.offset, 3u);
  EXPECT_FALSE(ScanJsonShape("[1,2,3,4,5,6,7,8,9,10,11]", limits, &shape));
  EXPECT_TRUE(shape.too_many_items);
  EXPECT_FALSE(ScanJsonShape(R"(["short", "far too long"])", limits, &shape));
  EXPECT_TRUE(shape.string_too_long);
  EXPECT_EQ(shape.offset, 10u);
}

TEST(StorableTest, TextAndNumbersThatReadBackExactly) {
  EXPECT_TRUE(text::IsStorableText("tab\t, LF\n, CR\r, \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  size_t at = 0;
  EXPECT_FALSE(text::IsStorableText(std::string("ab\0c", 4), &at));
  EXPECT_EQ(at, 2u);
  EXPECT_STREQ(text::UnstorableTextReason(std::string("ab\0c", 4), at), "a NUL character");
  for (const char* bad : {"\x01", "\x1b[0m", "\x7f", "\xc3", "\xc0\x80", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\xff"}) {
    EXPECT_FALSE(text::IsStorableText(bad)) << bad;
  }
  EXPECT_EQ(text::StorableCopy(std::string("a\0b\xff\tc", 6)), "a?b?\tc");
  for (double ok : {0.0, -0.0, DBL_MIN, -DBL_MIN, 1.0, DBL_MAX})
    EXPECT_TRUE(text::IsStorableNumber(ok));
  for (double bad : {DBL_MIN / 2, 1e-310, -5e-324, HUGE_VAL, -HUGE_VAL, std::nan("")}) {
    EXPECT_FALSE(text::IsStorableNumber(bad)) << bad;
  }
  // Stored before subnormals were refused: they still read back exactly.
  double v[3];
  ASSERT_TRUE(
      storage::ParseDoubles(storage::FormatDoubles(std::vector<double>{1e-310, 5e-324, 0.5}.data(),
                                                   3),
                            v, 3));
  EXPECT_EQ(v[0], 1e-310);
  EXPECT_EQ(v[1], 5e-324);
  EXPECT_FALSE(storage::ParseDoubles("1e999,0,0", v, 3)) << "the formatter never writes that";
}

TEST(ExcerptTest, ShortAndCutAtACharacter) {
  EXPECT_EQ(text::Excerpt("short"), "short");
  EXPECT_EQ(text::Excerpt(std::string(100, 'a')), std::string(64, 'a') + "...");
  // 63 ASCII bytes then a 2-byte character: the cut falls before it, not inside.
  EXPECT_EQ(text::Excerpt(std::string(63, 'a') + "\xc3\xa9" + "tail"),
            std::string(63, 'a') + "...");
  EXPECT_EQ(ValueExcerpt(json(std::string(1000, 'x'))), std::string(64, 'x') + "...");
  EXPECT_EQ(ValueExcerpt(json(12.5)), 12.5);
  EXPECT_EQ(ValueExcerptText(json::parse(R"([1, [2, [3]], {"k": {}}, "s", 5])")),
            R"([1, [...], {...}, ...])");
  EXPECT_EQ(ValueExcerptText(json::parse(R"({"a": 1})")), R"({"a": 1})");
  // Long keys and values (and escapes, 6 bytes for a control byte) cannot add up past the cap.
  json wide = json::object();
  for (char c : {'a', 'b', 'c'}) wide[std::string(100, c)] = std::string(100, '\x01');
  const std::string wide_text = ValueExcerptText(wide);
  EXPECT_LE(wide_text.size(), 2 * text::kExcerptBytes + 3) << wide_text;
  EXPECT_EQ(wide_text.substr(0, 2), "{\"");
  EXPECT_EQ(ValueExcerpt(wide), json(wide_text));
  FieldErrors errors;
  for (int i = 0; i < 1000; ++i) errors.Add(FieldError{"f", "r", "m", "", nullptr});
  EXPECT_EQ(errors.count(), 1000u);
  EXPECT_EQ(errors.listed().size(), kMaxListedFieldErrors);
}

json ValidExam() {
  json features = json::object();
  const double values[kNumFeatures] = {120, 0,  0,   0, 0, 0,   0,   73,  0.5, 43, 2.4,
                                       64,  62, 126, 2, 0, 120, 137, 121, 73,  1};
  for (int i = 0; i < kNumFeatures; ++i) features[std::string(FeatureSchema()[i].key)] = values[i];
  return json{{"client_exam_id", "abc-1"},
              {"client_time", "2026-11-28T13:45:00Z"},
              {"features", features},
              {"client_result",
               {{"class", "Normal"}, {"probabilities", {0.7, 0.2, 0.1}}, {"model_version", 1}}}};
}

TEST(ExamJsonTest, DecodesAValidExamAndHashesItCanonically) {
  storage::ExamInput in;
  FieldErrors errors;
  json exam = ValidExam();
  ASSERT_TRUE(DecodeExam(exam, "", &in, &errors)) << FieldErrorToJson(errors.listed()[0]).dump();
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
  FieldErrors errors;
  EXPECT_FALSE(DecodeExam(exam, "exams[2].", &in, &errors));
  std::set<std::string> fields;
  for (const auto& e : errors.listed()) fields.insert(e.field);
  for (const char* f : {"exams[2].client_time", "exams[2].features.histogram_min",
                        "exams[2].features.baseline_value", "exams[2].features.heart_rate",
                        "exams[2].client_exam_id", "exams[2].client_result.probabilities",
                        "exams[2].client_result.model_version", "exams[2].note"}) {
    EXPECT_TRUE(fields.count(f)) << f;
  }
  for (const auto& e : errors.listed()) {
    EXPECT_FALSE(e.message.empty());
    EXPECT_FALSE(e.rule.empty());
  }
  EXPECT_EQ(errors.count(), errors.listed().size());
}

// The stored exam as JSON: every field of the record, numbers that read back bit-identical,
// strings that read back byte-identical whatever they contain.
TEST(ExamJsonTest, WriterHasEveryFieldOfTheRecord) {
  storage::ExamRecord rec;
  FieldErrors errors;
  ASSERT_TRUE(DecodeExam(ValidExam(), "", &rec.input, &errors));
  rec.id = 42;
  rec.submitted_by = "ward \"3\"\n";
  rec.submitted_by_id = 9;
  rec.received_ms = 1795873689809;
  rec.audit_seq = 7;
  rec.content_sha256 = std::string(64, 'c');
  rec.input.note = "tab\there, control \x01\x08\x0c\x1f, back\\slash, unicode \xc3\xa9";
  rec.input.patient_ref = "P-1";
  rec.input.server_class = 2;
  rec.input.server_probabilities = {0.1234567890123, 1.0 / 3, 2.0 / 3 - 0.1234567890123};
  rec.input.agreement = false;
  rec.input.max_abs_diff = 1e-7;
  rec.input.features[8] = 0.1 + 0.2;
  bool replayed = true;
  std::string text;
  AppendExamJson(rec, &replayed, "[{\"rule\":\"r\"}]", &text);
  json j = json::parse(text);
  const storage::ExamInput& in = rec.input;
  EXPECT_EQ(j["id"], 42);
  EXPECT_EQ(j["client_exam_id"], in.client_exam_id);
  EXPECT_EQ(j["submitted_by"], rec.submitted_by);
  EXPECT_EQ(j["received_at"], "2026-11-28T13:48:09.809Z");
  EXPECT_EQ(j["received_ms"], rec.received_ms);
  EXPECT_EQ(j["client_time"], in.client_timestamp);
  EXPECT_EQ(j["patient_ref"], "P-1");
  EXPECT_EQ(j["note"], in.note);
  ASSERT_EQ(j["features"].size(), static_cast<size_t>(kNumFeatures));
  for (int i = 0; i < kNumFeatures; ++i) {
    EXPECT_EQ(j["features"][std::string(FeatureSchema()[i].key)].get<double>(), in.features[i])
        << i;
  }
  EXPECT_EQ(j["client_result"], (json{{"class", "Normal"},
                                      {"model_version", 1},
                                      {"probabilities", in.client_probabilities}}));
  EXPECT_EQ(j["server_result"], (json{{"class", "Pathological"},
                                      {"model_version", 1},
                                      {"probabilities", in.server_probabilities}}));
  EXPECT_EQ(j["agreement"], (json{{"match", false}, {"max_abs_diff", 1e-7}}));
  EXPECT_EQ(j["audit_seq"], 7);
  EXPECT_EQ(j["content_sha256"], rec.content_sha256);
  EXPECT_EQ(j["replayed"], true);
  EXPECT_EQ(j["warnings"], json::parse("[{\"rule\":\"r\"}]"));
  EXPECT_EQ(j["submitted_by_id"], rec.submitted_by_id);
  EXPECT_TRUE(j["runtime_build"].is_null());  // none sent
  EXPECT_EQ(j.size(), 18u) << text;

  std::string plain;
  AppendExamJson(rec, nullptr, "", &plain);
  json p = json::parse(plain);
  EXPECT_FALSE(p.contains("replayed"));
  EXPECT_FALSE(p.contains("warnings"));
  EXPECT_EQ(p.size(), 16u);
}

// Stored exams are matched to resubmissions by the SHA-256 of the client's part; a change in
// these bytes would turn every replay of an exam stored before it into a 409 conflict.
TEST(ExamJsonTest, IdempotencyHashNeverChanges) {
  json features = json::object();
  const double values[kNumFeatures] = {120, 0.001, 0,   0.1 + 0.2, 0, 0,   0,   73,  0.5, 43, 2.4,
                                       64,  62,    126, 2,         0, 120, 137, 121, 73,  1};
  for (int i = 0; i < kNumFeatures; ++i) features[std::string(FeatureSchema()[i].key)] = values[i];
  json exam = {{"client_exam_id", "abc-1:x.y_z"},
               {"client_time", "2026-11-28T13:45:00+01:00"},
               {"features", features},
               {"note", "tab\there \"q\" back\\slash nl\n cr\r \xc3\xa9"},
               {"patient_ref", "P-7"},
               {"client_result",
                {{"class", "Suspect"},
                 {"probabilities", {0.1234567890123, 1.0 / 3, 1 - 0.1234567890123 - 1.0 / 3}},
                 {"model_version", 3}}}};
  storage::ExamInput in;
  FieldErrors errors;
  ASSERT_TRUE(DecodeExam(exam, "", &in, &errors));
  // Control characters other than tab, LF and CR are refused since the form was pinned; exams
  // stored with them before still hash as then.
  in.note = "tab\there \"q\" back\\slash \x01\x08\x0c\x1f nl\n cr\r \xc3\xa9";
  const std::string form = ClientExamJson(in);
  EXPECT_EQ(Sha256Hex(form.data(), form.size()),
            "246e29f3a67499286edec6a18d5ab859fcda33ce43e08603cb94d127e74cc242")
      << form;
  exam.erase("note");
  exam.erase("patient_ref");
  storage::ExamInput without_optional;
  ASSERT_TRUE(DecodeExam(exam, "", &without_optional, &errors));
  EXPECT_EQ(without_optional.body_sha256,
            "2bc7edaf85f769921caf3f7bdae2088a0824564a999ca09af40b655e2144526d");
}

// The audit chain's canonical forms (docs/storage.md): auditors recompute these hashes with
// their own code, so the bytes are fixed.
TEST(CanonicalTest, ExamAndEventHashesNeverChange) {
  storage::ExamRecord r;
  r.id = 42;
  r.submitted_by = "ward-3";
  r.received_ms = 1795873689809;
  r.audit_seq = 7;
  storage::ExamInput& e = r.input;
  e.client_exam_id = "abc-1";
  e.body_sha256 = std::string(64, 'b');
  for (int f = 0; f < kNumFeatures; ++f) e.features[f] = 100.0 / 3.0 + f * 0.1;
  e.client_class = 1;
  e.client_probabilities = {0.1, 1.0 / 3.0, 0.9 - 1.0 / 3.0};
  e.model_version = 2;
  e.server_class = 2;
  e.server_probabilities = {0.25, 0.25, 0.5};
  e.agreement = false;
  e.max_abs_diff = 0.4 - 1.0 / 3.0;
  e.patient_ref = "P-1";
  e.note = "n=1:x\n";
  e.client_timestamp = "2026-11-28T12:00:00Z";
  r.content_version = 1;  // rows stored before principals existed
  EXPECT_EQ(storage::ExamContentHash(r),
            "2519428683729a91af53622e52efb140f27f46f19a1294f7cc7b900f4f9dc520");
  r.content_version = 2;
  r.submitted_by_id = 3;
  // Recomputed independently with the Python recipe of docs/storage.md.
  EXPECT_EQ(storage::ExamContentHash(r),
            "958043f3ce8cf9ebbcbfe1f39e2ee9ba384959c70e5e88d5ddca730e9c8a4948");
  storage::AuditEntry a{{"ward-3", "clinician", "req-1"},
                        "exam.submit",
                        "exam/42",
                        "ok",
                        "exam_sha256=x"};
  EXPECT_EQ(storage::AuditEventHash(storage::kGenesisHash, 1, 1795873689809, a),
            "ff532b5e26ecc84ad995f9213918004aff97362aa14f16d4dd326e4dd81079c4");
}

TEST(NumberTextTest, PreciseIsPrintfPercent17gAndShortestRoundTrips) {
  for (double v :
       {0.0, -0.0, 1.0, 120.0, 0.1, 0.1 + 0.2, 1.0 / 3, 1e-7, 6.02214076e23, -2.5e-300, 5e-324}) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    EXPECT_EQ(text::Precise(v), buf);
    std::string shortest;
    text::AppendShortest(v, &shortest);
    EXPECT_EQ(std::strtod(shortest.c_str(), nullptr), v) << shortest;
    EXPECT_LE(shortest.size(), std::string(buf).size());
  }
  std::string nan;
  text::AppendShortest(std::nan(""), &nan);
  EXPECT_EQ(nan, "null");
  EXPECT_EQ(text::Readable(0.0005), "0.0005");
  EXPECT_EQ(text::Readable(100), "100");
  EXPECT_EQ(text::Readable(1.0 / 3), "0.333333");
  for (double v : {0.0, 0.12345, 12.5, 1.0 / 3, 95.04999, 1e6 + 0.5}) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    EXPECT_EQ(text::Fixed(v, 3), buf);
  }
  EXPECT_EQ(text::Fixed(0.5, 0), "0");  // round half to even, as printf
  EXPECT_EQ(text::Fixed(std::nan(""), 2), "-");
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
  for (const char* bad : {"/../outside.txt", "/sub/../../outside.txt", "/.env", "/link.txt",
                          "/missing", "relative", "/sub\\..\\..\\outside.txt"}) {
    EXPECT_FALSE(files.Resolve(bad, &f)) << bad;
  }
  EXPECT_FALSE(StaticFiles("").Resolve("/", &f));
}

TEST(CodingTest, PrefersBrotliThenGzipWhenAcceptedWithAPositiveQ) {
  struct Case {
    const char* accept;
    Coding coding;
  };
  for (const Case& c : std::vector<Case>{
           {"gzip, deflate, br, zstd", Coding::kBrotli},
           {"br", Coding::kBrotli},
           {" Br ; q=0.1 ", Coding::kBrotli},
           {"gzip", Coding::kGzip},
           {"x-gzip", Coding::kGzip},
           {"br;q=0, gzip;q=0.5", Coding::kGzip},
           {"br;q=0.000", Coding::kIdentity},
           {"br;q=nonsense", Coding::kIdentity},
           {"gzip;q=2", Coding::kIdentity},
           {"deflate, zstd", Coding::kIdentity},
           {"*", Coding::kIdentity},
           {"brotli, gzipped", Coding::kIdentity},
           {"", Coding::kIdentity},
           {",,;;,", Coding::kIdentity},
       }) {
    EXPECT_EQ(PreferredCoding(c.accept), c.coding) << c.accept;
  }
  EXPECT_TRUE(IsCompressible("text/javascript; charset=utf-8"));
  EXPECT_TRUE(IsCompressible("application/wasm"));
  EXPECT_TRUE(IsCompressible("image/svg+xml"));
  EXPECT_FALSE(IsCompressible("application/octet-stream"));
  EXPECT_FALSE(IsCompressible("image/png"));
}

// What a response would send: its body, or what its provider writes.
std::string SentBytes(httplib::Response& res) {
  if (!res.body.empty() || !res.content_provider_) return res.body;
  std::string out;
  httplib::DataSink sink;
  sink.write = [&out](const char* data, size_t n) {
    out.append(data, n);
    return true;
  };
  EXPECT_TRUE(res.content_provider_(0, res.content_length_, sink));
  EXPECT_EQ(out.size(), res.content_length_);
  return out;
}

TEST(EncodeBodyTest, CompressesLargeCompressibleAnswersOnceAndSendsEveryBodyAsItsOwnCopy) {
  std::string json_text = "{\"exams\":[";
  for (int i = 0; i < 200; ++i)
    json_text += "{\"id\":" + std::to_string(i) + ",\"class\":\"Normal\"},";
  json_text += "{}]}";
  ASSERT_GE(json_text.size(), kMinEncodedBody);
  auto answer = [](const std::string& accept, const std::string& body, const char* mime) {
    httplib::Request req;
    if (!accept.empty()) req.set_header("Accept-Encoding", accept);
    auto res = std::make_unique<httplib::Response>();
    res->set_header("ETag", "\"abc\"");
    res->set_content(body, mime);
    EncodeBody(req, *res);
    return res;
  };
  for (const char* coding : {"br", "gzip"}) {
    auto res = answer(coding, json_text, "application/json");
    EXPECT_TRUE(res->body.empty()) << "sent by a provider, which cpp-httplib never recompresses";
    EXPECT_EQ(res->get_header_value("Content-Encoding"), coding);
    EXPECT_EQ(res->get_header_value("Vary"), "Accept-Encoding");
    EXPECT_EQ(res->get_header_value("ETag"), "W/\"abc\"") << "another representation: weak";
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(res->get_header_value_count("Content-Type"), 1u);
    const std::string sent = SentBytes(*res);
    EXPECT_LT(sent.size(), json_text.size() / 4) << coding;
    EXPECT_TRUE(testing_support::Decoded(sent, coding) == json_text) << coding;
  }
  // Identity: the same bytes, still through a provider, with Vary and the strong ETag.
  auto plain = answer("identity", json_text, "application/json");
  EXPECT_EQ(plain->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(plain->get_header_value("Vary"), "Accept-Encoding");
  EXPECT_EQ(plain->get_header_value("ETag"), "\"abc\"");
  EXPECT_TRUE(SentBytes(*plain) == json_text);
  // Small, or not compressible: as it is, without Vary.
  for (const auto& [body, mime] :
       std::vector<std::pair<std::string, const char*>>{{"{\"ok\":true}", "application/json"},
                                                        {json_text, "application/octet-stream"}}) {
    auto res = answer("br, gzip", body, mime);
    EXPECT_EQ(res->get_header_value("Content-Encoding"), "") << mime;
    EXPECT_EQ(res->get_header_value("Vary"), "") << mime;
    EXPECT_EQ(res->get_header_value("ETag"), "\"abc\"") << mime;
    EXPECT_TRUE(SentBytes(*res) == body) << mime;
  }
  // No body (a 304), or a body already sent by a provider: left alone.
  httplib::Request req;
  req.set_header("Accept-Encoding", "br");
  httplib::Response not_modified;
  not_modified.status = 304;
  EncodeBody(req, not_modified);
  EXPECT_FALSE(not_modified.content_provider_);
  EXPECT_FALSE(not_modified.has_header("Content-Encoding"));
  httplib::Response shared;
  SendShared(shared, std::make_shared<const std::string>(json_text), "application/json");
  EncodeBody(req, shared);
  EXPECT_FALSE(shared.has_header("Content-Encoding"));
  EXPECT_TRUE(SentBytes(shared) == json_text);
}

TEST_F(StaticFilesTest, CompressedCopiesAreKeptPerVersionWithinTheirBounds) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "const value" + std::to_string(i) + " = 1;\n";
  testing_support::WriteFile(dir_ + "/root/app.js", text);
  StaticFiles files(dir_ + "/root");
  StaticFile file;
  ASSERT_TRUE(files.Resolve("/app.js", &file));

  CompressedFiles copies(/*max_bytes=*/1 << 20, /*max_file_bytes=*/1 << 20);
  Coding coding = Coding::kBrotli;
  auto first = copies.Get(file, &coding);
  ASSERT_TRUE(first);
  EXPECT_EQ(coding, Coding::kBrotli);
  EXPECT_TRUE(testing_support::Decoded(*first, "br") == text);
  coding = Coding::kBrotli;
  EXPECT_EQ(copies.Get(file, &coding), first) << "the same version is compressed once";
  coding = Coding::kGzip;
  auto gzip = copies.Get(file, &coding);
  EXPECT_EQ(coding, Coding::kGzip);
  EXPECT_TRUE(testing_support::Decoded(*gzip, "gzip") == text);
  coding = Coding::kIdentity;
  EXPECT_TRUE(*copies.Get(file, &coding) == text);

  // A new version (another ETag) replaces the old copy.
  testing_support::WriteFile(dir_ + "/root/app.js", text + "const more = 2;\n");
  ASSERT_TRUE(files.Resolve("/app.js", &file));
  coding = Coding::kBrotli;
  EXPECT_TRUE(testing_support::Decoded(*copies.Get(file, &coding), "br") ==
              text + "const more = 2;\n");

  // A file that compression does not shrink is sent as it is.
  testing_support::WriteFile(dir_ + "/root/tiny.js", "x");
  StaticFile tiny;
  ASSERT_TRUE(files.Resolve("/tiny.js", &tiny));
  coding = Coding::kBrotli;
  EXPECT_EQ(*copies.Get(tiny, &coding), "x");
  EXPECT_EQ(coding, Coding::kIdentity);

  // Over either bound: the file as it is, nothing kept.
  CompressedFiles small_files(1 << 20, /*max_file_bytes=*/100);
  coding = Coding::kGzip;
  EXPECT_TRUE(*small_files.Get(file, &coding) == text + "const more = 2;\n");
  EXPECT_EQ(coding, Coding::kIdentity);
  CompressedFiles full(/*max_bytes=*/100, 1 << 20);
  coding = Coding::kGzip;
  EXPECT_TRUE(*full.Get(file, &coding) == text + "const more = 2;\n");
  EXPECT_EQ(coding, Coding::kIdentity);

  // A file that went away after it was resolved: no bytes.
  unlink(file.path.c_str());
  coding = Coding::kIdentity;
  EXPECT_EQ(copies.Get(file, &coding), nullptr);
}

TEST(StaticTypesTest, MimeTypesAndCacheControl) {
  EXPECT_EQ(StaticFiles::MimeType("/a/fetal.wasm"), "application/wasm");
  EXPECT_EQ(StaticFiles::MimeType("/a/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(StaticFiles::MimeType("/m.webmanifest"), "application/manifest+json");
  EXPECT_EQ(StaticFiles::MimeType("/x.unknown"), "application/octet-stream");
  EXPECT_EQ(StaticFiles::CacheControl("/sw.js"), "no-cache");
  EXPECT_EQ(StaticFiles::CacheControl("/index.html"), "no-cache");
  EXPECT_EQ(StaticFiles::CacheControl("/assets/app.3f2a9c1b.js"),
            "public, max-age=31536000, immutable");
  EXPECT_EQ(StaticFiles::CacheControl("/assets/chunk-0a1b2c3d4e.wasm"),
            "public, max-age=31536000, immutable");
  EXPECT_EQ(StaticFiles::CacheControl("/assets/app-settings.js"), "no-cache");
}

}  // namespace
}  // namespace server
}  // namespace fetal
