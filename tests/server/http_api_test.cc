// Integration tests of the REST API (docs/api.md) against a real fetal-server, on SQLite and on
// PostgreSQL: every route, every role, every error code.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/sha256.h"
#include "fetal/signature.h"
#include "http/responses.h"  // kMinEncodedBody
#include "server_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

class HttpApiTest : public ServerFixture {};

void ExpectErrorShape(const httplib::Result& r, int status, const std::string& code) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  json body = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r->body;
  ASSERT_TRUE(body.contains("error")) << r->body;
  EXPECT_EQ(body["error"]["code"], code) << r->body;
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
}

std::set<std::string> DetailFields(const json& body) {
  std::set<std::string> fields;
  for (const auto& d : body["error"]["details"]) fields.insert(d["field"].get<std::string>());
  return fields;
}

TEST_P(HttpApiTest, HealthIsPublicAndReportsStorageAndActiveModel) {
  auto r = Get("/api/v1/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  json h = Body(r);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["storage"]["ok"], true);
  EXPECT_EQ(h["storage"]["backend"], GetParam());
  EXPECT_EQ(h["active_model"]["version"], 1);
  EXPECT_EQ(h["active_model"]["sha256"], Sha256Hex(bundle_v1_.data(), bundle_v1_.size()));
}

TEST_P(HttpApiTest, MissingMalformedUnknownAndRevokedTokensAre401) {
  auto r = Get("/api/v1/session");
  ExpectErrorShape(r, 401, "unauthorized");
  EXPECT_EQ(r->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);
  ExpectErrorShape(Client()->Get("/api/v1/session", {{"Authorization", "Basic YWRtaW46YWRtaW4="}}),
                   401, "unauthorized");
  ExpectErrorShape(Get("/api/v1/session", "not-a-token"), 401, "unauthorized");
  ExpectErrorShape(Get("/api/v1/session", "fht_" + std::string(43, 'A')), 401, "unauthorized");

  auto ok = Get("/api/v1/session", clinician_);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  json who = Body(ok);
  EXPECT_EQ(who["name"], "nurse-a");
  EXPECT_EQ(who["role"], "clinician");

  int status;
  std::string out =
      RunCommand(Quote(ServerProcess::Binary()) + " token revoke " +
                     std::to_string(who["token_id"].get<int64_t>()) + CliArgs() + " 2>&1",
                 &status);
  ASSERT_EQ(status, 0) << out;
  ExpectErrorShape(Get("/api/v1/session", clinician_), 401, "unauthorized");
}

TEST_P(HttpApiTest, TokenCliListsTokensWithoutSecrets) {
  int status;
  std::string out =
      RunCommand(Quote(ServerProcess::Binary()) + " token list" + CliArgs() + " 2>&1", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("nurse-a"), std::string::npos);
  EXPECT_NE(out.find("auditor-1"), std::string::npos);
  EXPECT_NE(out.find("admin"), std::string::npos);
  EXPECT_EQ(out.find(clinician_), std::string::npos) << "the secret must never be listed";
  out = RunCommand(Quote(ServerProcess::Binary()) + " token create --role nurse --name x" +
                       CliArgs() + " 2>&1",
                   &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("--role"), std::string::npos) << out;
}

TEST_P(HttpApiTest, RolesAreEnforcedOnEveryRoute) {
  const std::string exam = Exam("role-check").dump();
  struct RouteCase {
    std::string method, path, body, content_type;
    bool is_public;
    std::set<std::string> roles;  // roles that pass the role check
  };
  const std::vector<RouteCase> routes = {
      {"GET", "/api/v1/health", "", "", true, {}},
      {"GET", "/api/v1/models", "", "", true, {}},
      {"GET", "/api/v1/models/active", "", "", true, {}},
      {"GET", "/api/v1/models/1", "", "", true, {}},
      {"GET", "/api/v1/models/1/signature", "", "", true, {}},
      {"GET", "/api/v1/session", "", "", false, {"clinician", "auditor", "admin"}},
      {"POST", "/api/v1/exams", exam, "application/json", false, {"clinician"}},
      {"POST", "/api/v1/exams:batch", "{\"exams\":[]}", "application/json", false, {"clinician"}},
      {"GET", "/api/v1/exams", "", "", false, {"clinician", "auditor"}},
      {"GET", "/api/v1/exams/1", "", "", false, {"clinician", "auditor"}},
      {"POST",
       "/api/v1/exams/1/outcome",
       "{\"final_reading\":\"Normal\"}",
       "application/json",
       false,
       {"clinician"}},
      {"GET", "/api/v1/monitoring", "", "", false, {"auditor", "admin"}},
      {"GET", "/api/v1/monitoring/rollout", "", "", false, {"auditor", "admin"}},
      {"GET", "/api/v1/audit", "", "", false, {"auditor"}},
      {"GET", "/api/v1/audit/1", "", "", false, {"auditor"}},
      {"GET", "/api/v1/audit/verify", "", "", false, {"auditor"}},
      {"GET", "/api/v1/audit/checkpoint", "", "", false, {"auditor"}},
      {"GET", "/api/v1/metrics", "", "", false, {"admin"}},
      {"POST", "/api/v1/models", "x", "application/octet-stream", false, {"admin"}},
      {"POST", "/api/v1/models/1/activate", "", "application/json", false, {"admin"}},
  };
  const std::vector<std::pair<std::string, std::string>> callers = {{"", ""},
                                                                    {"clinician", clinician_},
                                                                    {"auditor", auditor_},
                                                                    {"admin", admin_}};
  for (const auto& route : routes) {
    for (const auto& [role, token] : callers) {
      auto r = route.method == "GET" ? Get(route.path, token)
                                     : Post(route.path, token, route.body, route.content_type);
      ASSERT_TRUE(r) << route.method << " " << route.path;
      std::string where =
          route.method + " " + route.path + " as " + (role.empty() ? "anonymous" : role);
      if (route.is_public) {
        EXPECT_NE(r->status, 401) << where;
        EXPECT_NE(r->status, 403) << where;
      } else if (role.empty()) {
        EXPECT_EQ(r->status, 401) << where << ": " << r->body;
      } else if (route.roles.count(role)) {
        EXPECT_NE(r->status, 401) << where;
        EXPECT_NE(r->status, 403) << where << ": " << r->body;
      } else {
        EXPECT_EQ(r->status, 403) << where << ": " << r->body;
        EXPECT_EQ(Body(r)["error"]["code"], "forbidden") << where;
      }
    }
  }
  // Denied attempts are in the audit chain.
  json events = Body(Get("/api/v1/audit?limit=1000", auditor_))["events"];
  int denied = 0;
  for (const auto& e : events) denied += e["action"] == "access.denied";
  EXPECT_GT(denied, 10);
}

TEST_P(HttpApiTest, SubmitStoresReevaluatesAndReplays) {
  json exam = Exam("exam-1");
  exam["patient_ref"] = "MRN-0001";
  exam["note"] = "night shift";
  auto r = Post("/api/v1/exams", clinician_, exam.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  json stored = Body(r);
  EXPECT_EQ(r->get_header_value("Location"),
            "/api/v1/exams/" + std::to_string(stored["id"].get<int64_t>()));
  EXPECT_EQ(stored["client_exam_id"], "exam-1");
  EXPECT_EQ(stored["submitted_by"], "nurse-a");
  EXPECT_EQ(stored["patient_ref"], "MRN-0001");
  EXPECT_EQ(stored["note"], "night shift");
  EXPECT_EQ(stored["replayed"], false);
  EXPECT_EQ(stored["agreement"]["match"], true);
  EXPECT_LE(stored["agreement"]["max_abs_diff"].get<double>(), 1e-6);
  EXPECT_EQ(stored["server_result"]["class"], exam["client_result"]["class"]);
  EXPECT_EQ(stored["server_result"]["model_version"], 1);
  EXPECT_EQ(stored["features"]["histogram_variance"], 73.0);
  EXPECT_GT(stored["audit_seq"].get<int64_t>(), 0);

  // Same body with another key order and spacing: a replay of the original.
  json reordered = json::parse(exam.dump(2));
  auto replay = Post("/api/v1/exams", clinician_, reordered.dump(4));
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 200) << replay->body;
  json again = Body(replay);
  EXPECT_EQ(again["replayed"], true);
  EXPECT_EQ(again["id"], stored["id"]);
  EXPECT_EQ(again["received_ms"], stored["received_ms"]);

  // Same id, different body: 409 naming the key; nothing changes.
  exam["note"] = "changed";
  auto conflict = Post("/api/v1/exams", clinician_, exam.dump());
  ExpectErrorShape(conflict, 409, "idempotency_conflict");
  EXPECT_EQ(Body(conflict)["error"]["field"], "client_exam_id");
  json read = Body(Get("/api/v1/exams/" + std::to_string(stored["id"].get<int64_t>()), auditor_));
  EXPECT_EQ(read["note"], "night shift");

  // The key is per submitter: another clinician may use the same id.
  auto other = Post("/api/v1/exams", clinician2_, exam.dump());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 201) << other->body;
}

TEST_P(HttpApiTest, DisagreementIsRecordedAsMismatch) {
  json exam = Exam("mismatch-1");
  std::string cls = exam["client_result"]["class"];
  exam["client_result"]["class"] = cls == "Normal" ? "Pathological" : "Normal";
  json stored = Submit(exam, clinician_);
  EXPECT_EQ(stored["agreement"]["match"], false);
  // Same class, probabilities off by ten times the agreement tolerance: a mismatch.
  auto shifted = [this](const std::string& id, double by) {
    json e = Exam(id);
    e["client_result"]["probabilities"][0] =
        e["client_result"]["probabilities"][0].get<double>() + by;
    e["client_result"]["probabilities"][1] =
        e["client_result"]["probabilities"][1].get<double>() - by;
    return e;
  };
  json stored2 = Submit(shifted("mismatch-2", 10 * kAgreementTolerance), clinician_);
  EXPECT_EQ(stored2["agreement"]["match"], false);
  EXPECT_NEAR(stored2["agreement"]["max_abs_diff"].get<double>(), 10 * kAgreementTolerance, 1e-6);
  // Off by half the tolerance (a client rounding for transport): still a match.
  json stored3 = Submit(shifted("match-rounded", kAgreementTolerance / 2), clinician_);
  EXPECT_EQ(stored3["agreement"]["match"], true);
  EXPECT_NEAR(stored3["agreement"]["max_abs_diff"].get<double>(), kAgreementTolerance / 2, 1e-6);
  json page = Body(Get("/api/v1/exams?agreement=mismatch", auditor_));
  EXPECT_EQ(page["exams"].size(), 2u);
}

TEST_P(HttpApiTest, ValidationListsEveryFailingField) {
  json exam = Exam("invalid-1");
  exam["features"]["histogram_width"] = 10;       // max - min is 64
  exam["features"]["baseline_value"] = 400;       // above the hard limit
  exam["features"].erase("histogram_mode");       // missing
  exam["features"]["histogram_tendency"] = "up";  // wrong type
  exam["client_result"]["class"] = "normal";      // not a class name
  exam["client_result"]["probabilities"] = {0.5, 0.6, 0.1};
  exam["surprise"] = 1;  // unknown field
  exam["client_time"] = "yesterday";
  auto r = Post("/api/v1/exams", clinician_, exam.dump());
  ExpectErrorShape(r, 422, "validation_failed");
  json body = Body(r);
  std::set<std::string> fields = DetailFields(body);
  for (const char* f :
       {"features.histogram_mode", "features.histogram_tendency", "client_result.class",
        "client_result.probabilities", "surprise", "client_time"}) {
    EXPECT_TRUE(fields.count(f)) << f << " not listed in " << body.dump();
  }
  EXPECT_TRUE(body["error"].contains("field"));

  // With decodable input, the model core's validator findings are all listed.
  json exam2 = Exam("invalid-2");
  exam2["features"]["histogram_width"] = 10;
  exam2["features"]["baseline_value"] = 400;
  auto r2 = Post("/api/v1/exams", clinician_, exam2.dump());
  ExpectErrorShape(r2, 422, "validation_failed");
  std::set<std::string> fields2 = DetailFields(Body(r2));
  EXPECT_TRUE(fields2.count("features.histogram_width")) << r2->body;
  EXPECT_TRUE(fields2.count("features.baseline_value")) << r2->body;
  json details = Body(r2)["error"]["details"];
  for (const auto& d : details) {
    EXPECT_FALSE(d["rule"].get<std::string>().empty());
    EXPECT_FALSE(d["message"].get<std::string>().empty());
  }
  // Nothing was stored.
  EXPECT_EQ(Body(Get("/api/v1/exams", auditor_))["exams"].size(), 0u);
}

TEST_P(HttpApiTest, MalformedJsonWrongTypeTooLargeAndUnknownModel) {
  auto bad = Post("/api/v1/exams", clinician_, "{\"client_exam_id\": \"x\",");
  ExpectErrorShape(bad, 400, "malformed_json");
  EXPECT_NE(Body(bad)["error"]["message"].get<std::string>().find("line 1"), std::string::npos)
      << bad->body;

  ExpectErrorShape(Post("/api/v1/exams", clinician_, Exam("t").dump(), "text/plain"), 415,
                   "unsupported_media_type");
  ExpectErrorShape(Post("/api/v1/exams:batch", clinician_, "{}",
                        "application/x-www-form-urlencoded"),
                   415, "unsupported_media_type");

  json big = Exam("big");
  big["note"] = std::string(70 * 1024, 'x');
  ExpectErrorShape(Post("/api/v1/exams", clinician_, big.dump()), 413, "payload_too_large");

  json unknown = Exam("unknown-model");
  unknown["client_result"]["model_version"] = 7;
  auto r = Post("/api/v1/exams", clinician_, unknown.dump());
  ExpectErrorShape(r, 422, "validation_failed");
  EXPECT_EQ(Body(r)["error"]["field"], "client_result.model_version");

  ExpectErrorShape(Post("/api/v1/exams", clinician_, "[1,2,3]"), 422, "validation_failed");
  ExpectErrorShape(Get("/api/v1/no-such-route", clinician_), 404, "not_found");
  // The audit log cannot be changed or deleted through the API, nor anything else.
  ExpectErrorShape(Client()->Delete("/api/v1/audit/1", Auth(admin_)), 405, "method_not_allowed");
  ExpectErrorShape(Client()->Put("/api/v1/exams/1", Auth(admin_), "{}", "application/json"), 405,
                   "method_not_allowed");
  ExpectErrorShape(Client()->Patch("/api/v1/models/1", Auth(admin_), "{}", "application/json"), 405,
                   "method_not_allowed");
  ExpectErrorShape(Get("/api/v1/exams/999999", auditor_), 404, "not_found");
  ExpectErrorShape(Get("/api/v1/exams/99999999999999999999999", auditor_), 404, "not_found");
}

TEST_P(HttpApiTest, BatchIsAtomic) {
  json batch = {{"exams", {Exam("b-1"), Exam("b-2"), Exam("b-3")}}};
  auto r = Post("/api/v1/exams:batch", clinician_, batch.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  json out = Body(r);
  EXPECT_EQ(out["stored"], 3);
  EXPECT_EQ(out["replayed"], 0);
  ASSERT_EQ(out["exams"].size(), 3u);
  EXPECT_EQ(out["exams"][1]["client_exam_id"], "b-2");

  // Replaying the whole batch stores nothing new.
  auto again = Post("/api/v1/exams:batch", clinician_, batch.dump());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(Body(again)["replayed"], 3);

  // One invalid exam: 422 naming it, and none of the batch is stored.
  json bad = {{"exams", {Exam("c-1"), Exam("c-2"), Exam("c-3")}}};
  bad["exams"][1]["features"]["histogram_width"] = 10;
  auto invalid = Post("/api/v1/exams:batch", clinician_, bad.dump());
  ExpectErrorShape(invalid, 422, "validation_failed");
  EXPECT_TRUE(DetailFields(Body(invalid)).count("exams[1].features.histogram_width"))
      << invalid->body;

  // A conflict on one exam: 409 naming it, and none of the batch is stored.
  json conflicting = {{"exams", {Exam("c-1"), Exam("b-2")}}};
  conflicting["exams"][1]["note"] = "different";
  auto conflict = Post("/api/v1/exams:batch", clinician_, conflicting.dump());
  ExpectErrorShape(conflict, 409, "idempotency_conflict");
  EXPECT_EQ(Body(conflict)["error"]["field"], "exams[1].client_exam_id") << conflict->body;

  json page = Body(Get("/api/v1/exams?limit=1000", auditor_));
  EXPECT_EQ(page["exams"].size(), 3u) << "only the first batch may be stored";

  ExpectErrorShape(Post("/api/v1/exams:batch", clinician_, "{\"exams\":[]}"), 422,
                   "validation_failed");
  ExpectErrorShape(Post("/api/v1/exams:batch", clinician_, "{\"items\":[]}"), 422,
                   "validation_failed");
  json too_many = {{"exams", json::array()}};
  json one = Exam("many");
  for (int i = 0; i < 1001; ++i) too_many["exams"].push_back(one);
  auto r1001 = Post("/api/v1/exams:batch", clinician_, too_many.dump());
  ExpectErrorShape(r1001, 422, "validation_failed");
  EXPECT_EQ(Body(r1001)["error"]["field"], "exams");
}

TEST_P(HttpApiTest, ExamReadsRespectOwnershipAndAreAudited) {
  json mine = Submit(Exam("own-1"), clinician_);
  json theirs = Submit(Exam("own-2"), clinician2_);
  const std::string mine_path = "/api/v1/exams/" + std::to_string(mine["id"].get<int64_t>());
  const std::string theirs_path = "/api/v1/exams/" + std::to_string(theirs["id"].get<int64_t>());

  auto own = Get(mine_path, clinician_);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);
  EXPECT_EQ(Body(own)["content_sha256"], mine["content_sha256"]);
  ExpectErrorShape(Get(theirs_path, clinician_), 404, "not_found");
  auto audited = Get(theirs_path, auditor_);
  ASSERT_TRUE(audited);
  EXPECT_EQ(audited->status, 200);
  EXPECT_EQ(Body(audited)["submitted_by"], "nurse-b");

  json list = Body(Get("/api/v1/exams", clinician_));
  ASSERT_EQ(list["exams"].size(), 1u);
  EXPECT_EQ(list["exams"][0]["client_exam_id"], "own-1");
  ExpectErrorShape(Get("/api/v1/exams?submitted_by=nurse-b", clinician_), 403, "forbidden");
  json by = Body(Get("/api/v1/exams?submitted_by=nurse-b", auditor_));
  ASSERT_EQ(by["exams"].size(), 1u);

  json events = Body(Get("/api/v1/audit?limit=1000", auditor_))["events"];
  std::map<std::string, int> reads;
  for (const auto& e : events) {
    if (e["action"] == "exam.read")
      ++reads[e["actor"]["name"].get<std::string>() + ":" + e["outcome"].get<std::string>()];
  }
  EXPECT_EQ(reads["nurse-a:ok"], 1);
  EXPECT_EQ(reads["nurse-a:denied"], 1);
  EXPECT_EQ(reads["auditor-1:ok"], 1);
}

TEST_P(HttpApiTest, ListFiltersAndCursorPaging) {
  double pathological[kNumFeatures];
  std::copy(kExamFeatures, kExamFeatures + kNumFeatures, pathological);
  pathological[0] = 150;  // another baseline: another class from the tiny model
  int normal_count = 0;
  for (int i = 0; i < 7; ++i) {
    json e = Exam("page-" + std::to_string(i), i % 2 ? pathological : kExamFeatures);
    if (e["client_result"]["class"] == "Normal") ++normal_count;
    Submit(e, clinician_);
  }
  std::vector<int64_t> ids;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = Get("/api/v1/exams?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor), auditor_);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json body = Body(r);
    for (const auto& e : body["exams"]) ids.push_back(e["id"]);
    if (body["next_cursor"].is_null()) break;
    cursor = body["next_cursor"];
    // A row stored while paging must not disturb the pages.
    if (page == 0) Submit(Exam("late"), clinician2_);
  }
  ASSERT_GE(ids.size(), 7u);
  for (size_t i = 1; i < ids.size(); ++i)
    EXPECT_LT(ids[i - 1], ids[i]) << "ascending, no duplicates";

  json normal = Body(Get("/api/v1/exams?class=Normal&limit=1000&submitted_by=nurse-a", auditor_));
  EXPECT_EQ(static_cast<int>(normal["exams"].size()), normal_count);
  json v1 = Body(Get("/api/v1/exams?model_version=1&agreement=match", auditor_));
  EXPECT_EQ(v1["exams"].size(), 8u);
  EXPECT_EQ(Body(Get("/api/v1/exams?model_version=2", auditor_))["exams"].size(), 0u);
  EXPECT_EQ(Body(Get("/api/v1/exams?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
                     auditor_))["exams"]
                .size(),
            8u);
  EXPECT_EQ(Body(Get("/api/v1/exams?to=2000-01-01T00:00:00Z", auditor_))["exams"].size(), 0u);

  for (const char* bad :
       {"limit=0", "limit=1001", "limit=x", "class=normal", "agreement=yes", "from=yesterday",
        "model_version=-1", "colour=red", "cursor=%25%25garbage"}) {
    auto r = Get(std::string("/api/v1/exams?") + bad, auditor_);
    ExpectErrorShape(r, 400, "invalid_parameter");
    EXPECT_TRUE(Body(r)["error"].contains("field")) << bad;
  }
}

TEST_P(HttpApiTest, AuditListGetVerifyCheckpoint) {
  Submit(Exam("audit-1"), clinician_);
  auto r = Get("/api/v1/audit?after=0&limit=2", auditor_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json page = Body(r);
  ASSERT_EQ(page["events"].size(), 2u);
  EXPECT_EQ(page["events"][0]["seq"], 1);
  EXPECT_EQ(page["events"][0]["prev_hash"], std::string(64, '0'));
  EXPECT_EQ(page["events"][1]["prev_hash"], page["events"][0]["hash"]);
  EXPECT_EQ(page["next_after"], 2);

  json all = Body(Get("/api/v1/audit?limit=1000", auditor_))["events"];
  bool saw_submit = false;
  for (const auto& e : all) {
    if (e["action"] == "exam.submit") {
      saw_submit = true;
      EXPECT_EQ(e["actor"]["name"], "nurse-a");
      EXPECT_EQ(e["actor"]["role"], "clinician");
      EXPECT_FALSE(e["request_id"].get<std::string>().empty());
    }
  }
  EXPECT_TRUE(saw_submit);
  // The first list was itself recorded.
  bool saw_list = false;
  for (const auto& e : all)
    saw_list = saw_list || (e["action"] == "audit.list" && e["actor"]["name"] == "auditor-1");
  EXPECT_TRUE(saw_list);

  auto one = Get("/api/v1/audit/1", auditor_);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_EQ(Body(one)["hash"], page["events"][0]["hash"]);
  ExpectErrorShape(Get("/api/v1/audit/999999", auditor_), 404, "not_found");
  ExpectErrorShape(Get("/api/v1/audit?after=-1", auditor_), 400, "invalid_parameter");

  auto v = Get("/api/v1/audit/verify", auditor_);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->status, 200);
  json verify = Body(v);
  EXPECT_EQ(verify["ok"], true) << v->body;
  EXPECT_GE(verify["length"].get<int64_t>(), static_cast<int64_t>(all.size()));

  json cp = Body(Get("/api/v1/audit/checkpoint", auditor_));
  EXPECT_GT(cp["seq"].get<int64_t>(), verify["length"].get<int64_t>() - 1);
  EXPECT_EQ(cp["hash"].get<std::string>().size(), 64u);
  json at = Body(Get("/api/v1/audit/" + std::to_string(cp["seq"].get<int64_t>()), auditor_));
  EXPECT_EQ(at["hash"], cp["hash"]);
}

TEST_P(HttpApiTest, ActiveModelHasEtagSignatureAnd304) {
  auto r = Get("/api/v1/models/active");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body, bundle_v1_);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/octet-stream");
  const std::string sha = Sha256Hex(bundle_v1_.data(), bundle_v1_.size());
  // The ETag is the content hash the bundle carries (what the web app shows), not the file hash.
  const std::string content =
      BundleContentHash(reinterpret_cast<const uint8_t*>(bundle_v1_.data()), bundle_v1_.size());
  ASSERT_NE(content, sha);
  EXPECT_EQ(r->get_header_value("ETag"), "\"" + content + "\"");
  EXPECT_EQ(r->get_header_value("X-Model-Version"), "1");
  EXPECT_EQ(r->get_header_value("X-Model-Sha256"), sha);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");
  std::string signature = r->get_header_value("X-Model-Signature");
  EXPECT_TRUE(VerifyBundle(keys_.public_pem, reinterpret_cast<const uint8_t*>(r->body.data()),
                           r->body.size(), signature)
                  .ok());

  auto not_modified = Get("/api/v1/models/active", "", {{"If-None-Match", "\"" + content + "\""}});
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_TRUE(not_modified->body.empty());
  EXPECT_EQ(Get("/api/v1/models/active", "", {{"If-None-Match", "W/\"x\", \"" + content + "\""}})
                ->status,
            304);
  EXPECT_EQ(Get("/api/v1/models/active", "", {{"If-None-Match", "\"" + sha + "\""}})->status, 200);
  EXPECT_EQ(Get("/api/v1/models/active", "", {{"If-None-Match", "\"other\""}})->status, 200);

  auto sig = Get("/api/v1/models/1/signature");
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->status, 200);
  EXPECT_EQ(Body(sig)["signature"], signature);
  auto v1 = Get("/api/v1/models/1");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->body, bundle_v1_);
  EXPECT_EQ(v1->get_header_value("ETag"), "\"" + content + "\"");
  ExpectErrorShape(Get("/api/v1/models/9"), 404, "not_found");
  ExpectErrorShape(Get("/api/v1/models/9/signature"), 404, "not_found");

  json list = Body(Get("/api/v1/models"));
  ASSERT_EQ(list["models"].size(), 1u);
  EXPECT_EQ(list["active_version"], 1);
  EXPECT_EQ(list["models"][0]["sha256"], sha);
  EXPECT_EQ(list["models"][0]["active"], true);
  EXPECT_TRUE(list["models"][0].contains("metrics"));
}

TEST_P(HttpApiTest, TheServerResultCarriesThePredictionSetOfAModelThatHasOne) {
  // Version 3 carries prediction sets whose floors put Suspect in every set.
  Model v3 = TinyModel(3);
  v3.conformal.level = 0.95;
  v3.conformal.floor = {1.0f, 0.0f, 1.0f};
  v3.conformal.calibration_rows = {100, 20, 10};
  const std::string bytes = BundleBytes(v3);
  auto up = Post("/api/v1/models", admin_, bytes, "application/octet-stream",
                 {{"X-Model-Signature", Sign(keys_, bytes)}});
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 201) << up->body;

  std::unique_ptr<Classifier> classifier;
  ASSERT_TRUE(Classifier::Create(v3, &classifier).ok());
  float f[kNumFeatures], p[kNumClasses];
  for (int i = 0; i < kNumFeatures; ++i) f[i] = static_cast<float>(kExamFeatures[i]);
  classifier->Predict(f, p);
  json expected = json::array();
  const unsigned set = PredictionSet(v3.conformal, p);
  for (int c = 0; c < kNumClasses; ++c)
    if ((set >> c) & 1u) expected.push_back(std::string(kClassNames[c]));
  ASSERT_GE(expected.size(), 1u);
  EXPECT_TRUE((set >> 1) & 1u);

  json exam = Exam("with-set");
  exam["client_result"]["model_version"] = 3;
  json stored = Submit(exam, clinician_);
  EXPECT_EQ(stored["server_result"]["set"], expected) << stored.dump();
  json read = Body(Get("/api/v1/exams/" + std::to_string(stored["id"].get<int64_t>()), clinician_));
  EXPECT_EQ(read["server_result"]["set"], expected) << read.dump();
  EXPECT_EQ(read["content_sha256"], stored["content_sha256"]);
  // A model without sets: no "set" at all.
  json plain = Submit(Exam("without-set"), clinician_);
  EXPECT_FALSE(plain["server_result"].contains("set")) << plain.dump();
}

TEST_P(HttpApiTest, UploadActivateAndRollBack) {
  // The registry's mechanics, not the gates (shadow_evaluation_test): a hospital may switch them
  // off in writing.
  WritePolicy({{"enforce", false}});
  const std::string v2 = BundleBytes(TinyModel(2, 0.2f));
  const std::string sig2 = Sign(keys_, v2);
  auto up =
      Post("/api/v1/models", admin_, v2, "application/octet-stream", {{"X-Model-Signature", sig2}});
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 201) << up->body;
  EXPECT_EQ(Body(up)["version"], 2);
  EXPECT_EQ(Body(up)["active"], false);
  EXPECT_EQ(Get("/api/v1/models/active")->get_header_value("X-Model-Version"), "1")
      << "upload does not activate";

  // Exams may be submitted against any registered version.
  json exam = Exam("v2-exam");
  exam["client_result"]["model_version"] = 2;
  json stored = Submit(exam, clinician_);
  EXPECT_EQ(stored["server_result"]["model_version"], 2);
  EXPECT_EQ(stored["agreement"]["match"], false)
      << "version 2 computes other probabilities than version 1";

  auto act = Post("/api/v1/models/2/activate", admin_, "", "application/json");
  ASSERT_TRUE(act);
  EXPECT_EQ(act->status, 200) << act->body;
  // The answer says which gates failed and that the policy let it through.
  const json gates = Body(act)["activation_gates"];
  EXPECT_EQ(gates["policy"]["enforce"], false) << act->body;
  EXPECT_EQ(gates["champion_version"], 1) << act->body;
  EXPECT_EQ(gates["gates"][1]["name"], "min_shadow_exams");
  EXPECT_EQ(gates["gates"][1]["passed"], false);
  auto active = Get("/api/v1/models/active");
  EXPECT_EQ(active->get_header_value("X-Model-Version"), "2");
  EXPECT_EQ(active->body, v2);
  // The browser's old ETag no longer matches.
  const std::string sha1 = Sha256Hex(bundle_v1_.data(), bundle_v1_.size());
  EXPECT_EQ(Get("/api/v1/models/active", "", {{"If-None-Match", "\"" + sha1 + "\""}})->status, 200);

  // Roll back.
  ASSERT_EQ(Post("/api/v1/models/1/activate", admin_, "", "application/json")->status, 200);
  EXPECT_EQ(Get("/api/v1/models/active")->get_header_value("X-Model-Version"), "1");
  ExpectErrorShape(Post("/api/v1/models/5/activate", admin_, "", "application/json"), 404,
                   "not_found");

  int activations = 0;
  json audit_events = Body(Get("/api/v1/audit?limit=1000", auditor_))["events"];
  for (const auto& e : audit_events) {
    activations += e["action"] == "model.activate" && e["actor"]["name"] == "admin";
  }
  EXPECT_EQ(activations, 2);

  // Upload + activate in one call.
  const std::string v3 = BundleBytes(TinyModel(3, 0.1f));
  auto up3 = Post("/api/v1/models?activate=true", admin_, v3, "application/octet-stream",
                  {{"X-Model-Signature", Sign(keys_, v3)}});
  ASSERT_TRUE(up3);
  EXPECT_EQ(up3->status, 201) << up3->body;
  EXPECT_EQ(Get("/api/v1/models/active")->get_header_value("X-Model-Version"), "3");
}

TEST_P(HttpApiTest, UploadRefusalsLeaveTheActiveModelUnchanged) {
  const std::string v2 = BundleBytes(TinyModel(2, 0.2f));
  auto expect_refused = [&](const httplib::Result& r, int status, const std::string& code) {
    ExpectErrorShape(r, status, code);
    auto active = Get("/api/v1/models/active");
    EXPECT_EQ(active->get_header_value("X-Model-Version"), "1");
    EXPECT_EQ(active->body, bundle_v1_);
    EXPECT_EQ(Body(Get("/api/v1/models"))["models"].size(), 1u);
  };
  // Signed by another key.
  SigningKeys other = NewKeys();
  expect_refused(Post("/api/v1/models", admin_, v2, "application/octet-stream",
                      {{"X-Model-Signature", Sign(other, v2)}}),
                 422, "signature_invalid");
  expect_refused(Post("/api/v1/models", admin_, v2, "application/octet-stream",
                      {{"X-Model-Signature", "bm90IGEgc2ln"}}),
                 422, "signature_invalid");
  expect_refused(Post("/api/v1/models", admin_, v2, "application/octet-stream"), 422,
                 "signature_missing");
  // Corrupted after signing: the signature no longer matches.
  std::string flipped = v2;
  flipped[flipped.size() / 2] ^= 0x5a;
  expect_refused(Post("/api/v1/models", admin_, flipped, "application/octet-stream",
                      {{"X-Model-Signature", Sign(keys_, v2)}}),
                 422, "signature_invalid");
  // Corrupted and then signed (a signed bad file): refused by the loader.
  std::string truncated = v2.substr(0, v2.size() - 100);
  auto r = Post("/api/v1/models", admin_, truncated, "application/octet-stream",
                {{"X-Model-Signature", Sign(keys_, truncated)}});
  expect_refused(r, 422, "bundle_invalid");
  std::string garbage = "this is not a bundle at all";
  expect_refused(Post("/api/v1/models", admin_, garbage, "application/octet-stream",
                      {{"X-Model-Signature", Sign(keys_, garbage)}}),
                 422, "bundle_invalid");
  // Another feature schema, correctly hashed and signed.
  std::string wrong_schema = WrongSchemaBundle(2);
  auto ws = Post("/api/v1/models", admin_, wrong_schema, "application/octet-stream",
                 {{"X-Model-Signature", Sign(keys_, wrong_schema)}});
  expect_refused(ws, 422, "bundle_invalid");
  EXPECT_NE(Body(ws)["error"]["message"].get<std::string>().find("schema"), std::string::npos)
      << ws->body;
  // Not newer than what the registry holds.
  std::string again_v1 = BundleBytes(TinyModel(1, 0.3f));
  expect_refused(Post("/api/v1/models", admin_, again_v1, "application/octet-stream",
                      {{"X-Model-Signature", Sign(keys_, again_v1)}}),
                 409, "version_not_newer");
  expect_refused(Post("/api/v1/models", admin_, v2, "application/json",
                      {{"X-Model-Signature", Sign(keys_, v2)}}),
                 415, "unsupported_media_type");

  int refused = 0;
  json audit_events = Body(Get("/api/v1/audit?limit=1000", auditor_))["events"];
  for (const auto& e : audit_events) {
    refused += e["action"] == "model.upload" && e["outcome"] == "refused";
  }
  EXPECT_EQ(refused, 8);
}

TEST_P(HttpApiTest, StaticFilesHaveTypesSecurityHeadersAndNoTraversal) {
  struct Case {
    std::string path, mime, cache;
  };
  for (const Case& c : std::vector<Case>{
           {"/", "text/html; charset=utf-8", "no-cache"},
           {"/index.html", "text/html; charset=utf-8", "no-cache"},
           {"/sw.js", "text/javascript; charset=utf-8", "no-cache"},
           {"/assets/app.3f2a9c1b.js", "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable"},
           {"/fetal.wasm", "application/wasm", "no-cache"},
           {"/manifest.webmanifest", "application/manifest+json", "no-cache"},
           {"/app.css", "text/css; charset=utf-8", "no-cache"},
           {"/icon.svg", "image/svg+xml", "no-cache"},
           {"/strings.json", "application/json", "no-cache"},
       }) {
    auto r = Get(c.path);
    ASSERT_TRUE(r) << c.path;
    EXPECT_EQ(r->status, 200) << c.path;
    EXPECT_EQ(r->get_header_value("Content-Type"), c.mime) << c.path;
    EXPECT_EQ(r->get_header_value("Cache-Control"), c.cache) << c.path;
    std::string csp = r->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self' 'wasm-unsafe-eval'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r->get_header_value("Referrer-Policy"), "no-referrer");
    std::string etag = r->get_header_value("ETag");
    ASSERT_FALSE(etag.empty());
    EXPECT_EQ(Get(c.path, "", {{"If-None-Match", etag}})->status, 304) << c.path;
  }
  // The API carries the same headers.
  EXPECT_EQ(Get("/api/v1/health")->get_header_value("X-Content-Type-Options"), "nosniff");
  for (const char* path :
       {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
        "/.hidden", "/assets/%2E%2E/%2E%2E/secret.txt", "/missing.js", "/assets/"}) {
    auto r = Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path << ": " << r->body;
    EXPECT_EQ(r->body.find("outside the web root"), std::string::npos) << path;
  }
}

// Static files go out in the coding the client prefers (br, then gzip), each version compressed
// once: the bytes decode to the file, each coding has its own ETag, a new version of the file is
// compressed anew, and a client that accepts neither gets the file as it is.
TEST_P(HttpApiTest, StaticFilesGoOutCompressedInTheCodingTheClientAccepts) {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "export const line" + std::to_string(i) + " = " + std::to_string(i * 7) + ";\n";
  }
  WriteFile(dir_ + "/web/big.js", text);
  auto get = [&](const std::string& accept, httplib::Headers extra = {}) {
    auto client = Client();
    client->set_decompress(false);  // the bytes as sent
    extra.emplace("Accept-Encoding", accept);
    return client->Get("/big.js", extra);
  };
  struct Case {
    std::string accept, coding;
  };
  for (const Case& c : std::vector<Case>{{"br", "br"},
                                         {"gzip, deflate, br, zstd", "br"},
                                         {"BR;q=0.5, gzip", "br"},
                                         {"gzip", "gzip"},
                                         {"br;q=0, gzip", "gzip"},
                                         {"gzip;q=0", ""},
                                         {"identity", ""},
                                         {"", ""}}) {
    for (int request = 0; request < 2; ++request) {  // the first compresses, the second is a copy
      auto r = get(c.accept);
      ASSERT_TRUE(r) << c.accept;
      EXPECT_EQ(r->status, 200) << c.accept;
      EXPECT_EQ(r->get_header_value("Content-Encoding"), c.coding) << c.accept;
      EXPECT_EQ(r->get_header_value("Vary"), "Accept-Encoding") << c.accept;
      EXPECT_EQ(r->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
      EXPECT_TRUE(Decoded(r->body, c.coding) == text) << c.accept;
      if (!c.coding.empty()) {
        EXPECT_LT(r->body.size(), text.size() / 4) << c.accept;
      }
      const std::string etag = r->get_header_value("ETag");
      EXPECT_EQ(etag.find("-" + c.coding + "\""),
                c.coding.empty() ? std::string::npos : etag.size() - c.coding.size() - 2)
          << etag;
      EXPECT_EQ(get(c.accept, {{"If-None-Match", etag}})->status, 304) << c.accept;
    }
  }
  text += "export const last = 1;\n";
  WriteFile(dir_ + "/web/big.js", text);
  for (const char* coding : {"br", "gzip"}) {
    auto r = get(coding);
    ASSERT_TRUE(r);
    EXPECT_TRUE(Decoded(r->body, coding) == text) << coding << ": the new version";
  }
  // What is not text (nor wasm) is sent as it is, with no Vary.
  WriteFile(dir_ + "/web/data.bin", text);
  auto client = Client();
  client->set_decompress(false);
  auto binary = client->Get("/data.bin", {{"Accept-Encoding", "br, gzip"}});
  ASSERT_TRUE(binary);
  EXPECT_EQ(binary->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(binary->get_header_value("Vary"), "");
  EXPECT_TRUE(binary->body == text);
}

// API answers are compressed by the server, once per answer at a fast setting (cpp-httplib would
// use Brotli's slowest), in the coding the client prefers and with Vary; answers under
// server::kMinEncodedBody bytes, and clients that accept neither coding, get the JSON as it is.
TEST_P(HttpApiTest, ApiAnswersGoOutCompressedInTheCodingTheClientAccepts) {
  for (int i = 0; i < 12; ++i) Submit(Exam("coded-" + std::to_string(i)), clinician_);
  auto get = [&](const std::string& path, const std::string& accept) {
    auto client = Client();
    client->set_decompress(false);  // the bytes as sent
    return client->Get(path.c_str(), Auth(auditor_, {{"Accept-Encoding", accept}}));
  };
  const std::string list = "/api/v1/exams?limit=1000";
  auto plain = get(list, "identity");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200) << plain->body;
  ASSERT_GT(plain->body.size(), 4 * server::kMinEncodedBody);
  EXPECT_EQ(plain->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(plain->get_header_value("Vary"), "Accept-Encoding");
  EXPECT_EQ(Body(plain)["exams"].size(), 12u);
  struct Case {
    std::string accept, coding;
  };
  for (const Case& c : std::vector<Case>{{"br", "br"},
                                         {"gzip, deflate, br", "br"},
                                         {"gzip", "gzip"},
                                         {"br;q=0, gzip", "gzip"},
                                         {"gzip;q=0, br;q=0", ""}}) {
    auto r = get(list, c.accept);
    ASSERT_TRUE(r) << c.accept;
    EXPECT_EQ(r->status, 200) << c.accept;
    EXPECT_EQ(r->get_header_value("Content-Encoding"), c.coding) << c.accept;
    EXPECT_EQ(r->get_header_value("Vary"), "Accept-Encoding") << c.accept;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << c.accept;
    EXPECT_EQ(r->get_header_value_count("Content-Type"), 1u) << c.accept;
    EXPECT_EQ(r->get_header_value("Content-Length"), std::to_string(r->body.size()));
    EXPECT_TRUE(Decoded(r->body, c.coding) == plain->body) << c.accept;
    if (!c.coding.empty()) {
      EXPECT_LT(r->body.size(), plain->body.size() / 3) << c.accept;
    }
  }
  // HEAD names the length GET would send.
  auto client = Client();
  auto head = client->Head(list.c_str(), Auth(auditor_, {{"Accept-Encoding", "gzip"}}));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(head->get_header_value("Content-Length"),
            std::to_string(get(list, "gzip")->body.size()));
  // Small answers, errors included, go out as they are.
  auto small = get("/api/v1/session", "br, gzip");
  ASSERT_TRUE(small);
  ASSERT_LT(small->body.size(), server::kMinEncodedBody);
  EXPECT_EQ(small->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(small->get_header_value("Vary"), "");
  EXPECT_EQ(Body(small)["role"], "auditor");
  auto missing = get("/api/v1/exams/999999", "br, gzip");
  ExpectErrorShape(missing, 404, "not_found");
  EXPECT_EQ(missing->get_header_value("Content-Encoding"), "");
  // So does an error of the library's own (an unknown method), through the error hook.
  auto unknown = client->Put("/api/v1/exams", Auth(admin_, {{"Accept-Encoding", "br"}}), "{}",
                             "application/json");
  ExpectErrorShape(unknown, 405, "method_not_allowed");
  // A long error is compressed like any answer: every field of an exam invalid.
  json bad = Exam("all-wrong");
  for (auto& [name, value] : bad["features"].items()) value = "not a number: " + name;
  auto refused = Client();
  refused->set_decompress(false);
  auto r = refused->Post("/api/v1/exams", Auth(clinician_, {{"Accept-Encoding", "gzip"}}),
                         bad.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(r->get_header_value("Content-Encoding"), "gzip");
  json body = json::parse(Decoded(r->body, "gzip"), nullptr, false);
  ASSERT_TRUE(body.is_object());
  EXPECT_EQ(body["error"]["code"], "validation_failed");
  EXPECT_GE(body["error"]["details"].size(), 10u);
}

// Answers are always whole: a well-formed Range is ignored (cpp-httplib would send the slice
// under a 200, which a client takes for the whole file), a malformed one is a 416.
TEST_P(HttpApiTest, RangeRequestsGetTheWholeAnswer) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "export const v" + std::to_string(i) + " = 1;\n";
  WriteFile(dir_ + "/web/ranged.js", text);
  for (int i = 0; i < 12; ++i) Submit(Exam("ranged-" + std::to_string(i)), clinician_);
  auto client = Client();
  client->set_decompress(false);
  auto whole_list = client->Get("/api/v1/exams", Auth(auditor_, {{"Accept-Encoding", "identity"}}));
  ASSERT_TRUE(whole_list);
  ASSERT_EQ(whole_list->status, 200);
  for (const char* range : {"bytes=0-9", "bytes=-5", "bytes=10-", "bytes=0-1,5-9"}) {
    for (const std::string accept : {"identity", "br"}) {
      auto file = client->Get("/ranged.js", {{"Range", range}, {"Accept-Encoding", accept}});
      ASSERT_TRUE(file) << range;
      EXPECT_EQ(file->status, 200) << range;
      EXPECT_FALSE(file->has_header("Content-Range")) << range;
      EXPECT_EQ(file->get_header_value("Accept-Ranges"), "none");
      EXPECT_TRUE(Decoded(file->body, accept == "br" ? "br" : "") == text) << range << accept;
    }
    auto list = client->Get("/api/v1/exams",
                            Auth(auditor_, {{"Range", range}, {"Accept-Encoding", "identity"}}));
    ASSERT_TRUE(list) << range;
    EXPECT_EQ(list->status, 200) << range;
    EXPECT_FALSE(list->has_header("Content-Range")) << range;
    EXPECT_TRUE(list->body == whole_list->body) << range;
  }
  auto head = client->Head("/ranged.js");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->get_header_value("Accept-Ranges"), "none");
  EXPECT_EQ(head->get_header_value_count("Accept-Ranges"), 1u);
  // The whole error, even when the malformed Range starts with a well-formed range.
  for (const char* range : {"bytes=9-1", "bytes=0-3,9-1", "bytes=0-1,x"}) {
    auto malformed = client->Get("/ranged.js", {{"Range", range}});
    ExpectErrorShape(malformed, 416, "invalid_range");
    EXPECT_EQ(Body(malformed)["error"]["field"], "Range") << range;
  }
  EXPECT_EQ(Get("/ranged.js")->status, 200) << "the server still answers";
}

TEST_P(HttpApiTest, MetricsForAdminsInPrometheusFormat) {
  Submit(Exam("m-1"), clinician_);
  // Requests are counted when logged, just after the response is sent: allow a moment.
  auto r = Get("/api/v1/metrics", admin_);
  for (int i = 0; i < 100 && r && r->body.find("status=\"201\"} 1") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = Get("/api/v1/metrics", admin_);
  }
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  for (const char* m :
       {"fetal_http_requests_total{route=\"/api/v1/exams\",method=\"POST\",status=\"201\"} 1",
        "fetal_http_request_duration_seconds_bucket{route=\"/api/v1/exams\",le=\"+Inf\"} 1",
        "fetal_exams_stored 1", "fetal_exams_mismatched 0", "fetal_audit_chain_length ",
        "fetal_store_up 1", "fetal_active_model_version 1",
        "fetal_exam_submissions_total{outcome=\"stored\"} 1"}) {
    EXPECT_NE(r->body.find(m), std::string::npos) << m << "\n" << r->body;
  }
}

TEST_P(HttpApiTest, RequestLogHasOneJsonLinePerRequest) {
  Get("/api/v1/health", "", {{"X-Request-Id", "trace-abc-1"}});
  Submit(Exam("log-1"), clinician_);
  // cpp-httplib logs after sending the response: give the line a moment to land.
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log = ReadFileOrEmpty(dir_ + "/server.log");
    if (log.find("\"status\":201") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::istringstream lines(log);
  std::string line;
  bool saw_health = false, saw_submit = false;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    for (const char* k : {"time", "request_id", "method", "path", "status", "ms", "token"}) {
      EXPECT_TRUE(j.contains(k)) << k << " missing in " << line;
    }
    if (j["request_id"] == "trace-abc-1")
      saw_health = j["status"] == 200 && j["path"] == "/api/v1/health";
    if (j["path"] == "/api/v1/exams" && j["status"] == 201) saw_submit = j["token"] == "nurse-a";
  }
  EXPECT_TRUE(saw_health) << log;
  EXPECT_TRUE(saw_submit) << log;
}

TEST_P(HttpApiTest, RateLimitGives429WithRetryAfter) {
  server_.Kill();
  std::vector<std::string> args = DefaultArgs();
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--rate-limit") args[i + 1] = "1";
  }
  args.push_back("--rate-burst");
  args.push_back("3");
  ASSERT_TRUE(StartServer(args));
  int ok = 0, limited = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = Get("/api/v1/session", clinician_);
    ASSERT_TRUE(r);
    if (r->status == 200) ++ok;
    if (r->status == 429) {
      ++limited;
      ExpectErrorShape(r, 429, "rate_limited");
      EXPECT_GE(std::atoi(r->get_header_value("Retry-After").c_str()), 1);
    }
  }
  EXPECT_GE(ok, 3);
  EXPECT_GE(limited, 2);
  // Per token: another token is not limited by this one.
  EXPECT_EQ(Get("/api/v1/session", auditor_)->status, 200);
}

TEST_P(HttpApiTest, SlowClientsAreCutOffByTheReadTimeout) {
  server_.Kill();
  std::vector<std::string> args = DefaultArgs();
  for (const char* a : {"--read-timeout", "1", "--keep-alive-timeout", "1"}) args.push_back(a);
  ASSERT_TRUE(StartServer(args));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char partial[] = "GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";  // headers never end
  ASSERT_EQ(send(fd, partial, sizeof partial - 1, 0), static_cast<ssize_t>(sizeof partial - 1));
  auto start = std::chrono::steady_clock::now();
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1) << "the server kept a stalled request open for 10 s";
  // cpp-httplib answers the cut-off request with a 400 and closes; either way the socket ends.
  std::string received;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) received.append(buf, static_cast<size_t>(n));
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(fd);
  EXPECT_EQ(n, 0) << "expected an orderly close";
  EXPECT_TRUE(received.empty() || received.rfind("HTTP/1.1 400", 0) == 0) << received;
  EXPECT_LT(waited, 5.0);
  EXPECT_EQ(Get("/api/v1/health")->status, 200) << "the server still serves others";
}

TEST_P(HttpApiTest, UploadsAreDisabledWithoutAPublicKey) {
  server_.Kill();
  std::vector<std::string> args = StorageArgs();
  args.push_back("--rate-limit");
  args.push_back("0");
  ASSERT_TRUE(StartServer(args));  // registry already holds version 1: no --default-model needed
  const std::string v2 = BundleBytes(TinyModel(2));
  ExpectErrorShape(Post("/api/v1/models", admin_, v2, "application/octet-stream",
                        {{"X-Model-Signature", Sign(keys_, v2)}}),
                   403, "uploads_disabled");
  EXPECT_EQ(Get("/api/v1/models/active")->get_header_value("X-Model-Version"), "1");
}

TEST_P(HttpApiTest, SigtermFinishesAndRestartKeepsEverything) {
  json stored = Submit(Exam("before-stop"), clinician_);
  EXPECT_EQ(server_.Stop(), 0) << ReadFileOrEmpty(dir_ + "/server.log");
  EXPECT_NE(ReadFileOrEmpty(dir_ + "/server.log").find("fetal-server: stopped"), std::string::npos);
  ASSERT_TRUE(StartServer(DefaultArgs()));
  // A restart neither re-registers the model nor creates another admin token.
  EXPECT_EQ(Body(Get("/api/v1/models"))["models"].size(), 1u);
  EXPECT_EQ(ReadToken(dir_ + "/data/admin-token"), admin_);
  auto r = Get("/api/v1/exams/" + std::to_string(stored["id"].get<int64_t>()), auditor_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["content_sha256"], stored["content_sha256"]);
}

TEST_P(HttpApiTest, StartupRefusesBadConfiguration) {
  server_.Kill();
  int status;
  std::string out = RunCommand(Quote(ServerProcess::Binary()) + " --threads many 2>&1", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("--threads"), std::string::npos) << out;
  out = RunCommand(Quote(ServerProcess::Binary()) + " --listen nowhere 2>&1", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("--listen"), std::string::npos) << out;
  // An empty registry without --default-model: a clear refusal.
  std::string empty = MakeTempDir("empty");
  out = RunCommand(Quote(ServerProcess::Binary()) + " --listen 127.0.0.1:0 --data-dir " + empty +
                       "/data 2>&1",
                   &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("--default-model"), std::string::npos) << out;
  RemoveTree(empty);
}

// --- tamper tests: edit the database behind the server's back, then ask /audit/verify ---------

TEST_P(HttpApiTest, TamperedAuditEventIsNamedByVerify) {
  for (int i = 0; i < 3; ++i) Submit(Exam("t-" + std::to_string(i)), clinician_);
  ASSERT_EQ(Body(Get("/api/v1/audit/verify", auditor_))["ok"], true);
  RawSql("UPDATE audit SET details = 'nothing to see' WHERE seq = 4");
  json v = Body(Get("/api/v1/audit/verify", auditor_));
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["first_bad_seq"], 4) << v.dump();
  EXPECT_FALSE(v["problem"].get<std::string>().empty());
}

TEST_P(HttpApiTest, TamperedExamIsNamedByVerify) {
  json first = Submit(Exam("x-0"), clinician_);
  json second = Submit(Exam("x-1"), clinician_);
  RawSql("UPDATE exams SET note = 'edited later' WHERE id = " +
         std::to_string(second["id"].get<int64_t>()));
  json v = Body(Get("/api/v1/audit/verify", auditor_));
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["first_bad_seq"], second["audit_seq"]) << v.dump();
}

TEST_P(HttpApiTest, StorageUnavailableIs503) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "needs a database server that can be stopped";
  // A private cluster, so stopping it does not disturb other tests.
  server_.Kill();
  // Directly under /tmp: the postgres user must be able to reach it.
  const std::string pg_dir = "/tmp/fetal-pg-down-" + std::to_string(getpid());
  int status;
  std::string url = RunCommand(std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh start '" +
                                   pg_dir + "' " + std::to_string(54000 + getpid() % 900) + " 2>&1",
                               &status);
  ASSERT_EQ(status, 0) << url;
  url = url.substr(0, url.find('\n'));
  database_url_ = url;
  ASSERT_TRUE(StartServer(DefaultArgs()));
  std::string admin = ReadToken(dir_ + "/data/admin-token");
  ASSERT_EQ(Get("/api/v1/health")->status, 200);
  RunCommand(std::string(FETAL_SOURCE_DIR) + "/scripts/pg-throwaway.sh stop '" + pg_dir + "' 2>&1",
             &status);
  auto health = Get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503) << health->body;
  EXPECT_EQ(Body(health)["storage"]["ok"], false);
  auto r = Get("/api/v1/session", admin);  // token lookups need the database (cache is off)
  ExpectErrorShape(r, 503, "storage_unavailable");
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
}

// Many clients at once on every kind of route, with the token and model caches on and the active
// version switched back and forth meanwhile: every answer is right, every exam is stored once, the
// chain verifies. Under FETAL_TSAN this is also the server's data-race test.
TEST_P(HttpApiTest, ConcurrentClientsOnEveryRoute) {
  server_.Kill();
  std::vector<std::string> args = DefaultArgs();
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--token-cache-ms") args[i + 1] = "60000";
    if (args[i] == "--model-cache-ms") args[i + 1] = "5";
    if (args[i] == "--rate-limit") args[i + 1] = "100000";
  }
  ASSERT_TRUE(StartServer(args));
  WritePolicy({{"enforce", false}});  // the admin switches versions with no shadow record
  const std::string v2 = BundleBytes(TinyModel(2, 0.2f));
  auto up = Post("/api/v1/models", admin_, v2, "application/octet-stream",
                 {{"X-Model-Signature", Sign(keys_, v2)}});
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 201) << up->body;

  constexpr int kClinicianThreads = 6, kExamsEach = 12;
  std::mutex mu;
  std::vector<std::string> problems;
  auto report = [&](const std::string& problem) {
    std::lock_guard<std::mutex> lock(mu);
    problems.push_back(problem);
  };
  auto expect = [&](const httplib::Result& r, int status, const std::string& what) {
    if (r && r->status == status) return true;
    report(what + ": " +
           (r ? std::to_string(r->status) + " " + r->body.substr(0, 300) : "no response"));
    return false;
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < kClinicianThreads; ++c) {
    threads.emplace_back([&, c] {
      auto client = Client();
      const httplib::Headers auth = Auth(c % 2 ? clinician_ : clinician2_);
      for (int i = 0; i < kExamsEach; ++i) {
        json exam = Exam("concurrent-" + std::to_string(c) + "-" + std::to_string(i));
        if (i % 3 == 0) exam["client_result"]["model_version"] = 2;  // both versions in use at once
        const std::string body = exam.dump();
        auto r = client->Post("/api/v1/exams", auth, body, "application/json");
        if (!expect(r, 201, "POST /exams")) continue;
        json stored = json::parse(r->body);
        auto again = client->Post("/api/v1/exams", auth, body, "application/json");
        if (expect(again, 200, "replay") && json::parse(again->body)["id"] != stored["id"]) {
          report("the replay returned another exam: " + again->body);
        }
        auto got = client->Get(("/api/v1/exams/" + stored["id"].dump()).c_str(), auth);
        if (expect(got, 200, "GET /exams/{id}")) {
          stored.erase("replayed");
          stored.erase("warnings");
          stored["outcome"] = nullptr;  // GET /exams/{id} adds the latest outcome: none yet
          if (json::parse(got->body) != stored) report("GET differs from POST: " + got->body);
        }
        expect(client->Get("/api/v1/session", auth), 200, "GET /session");
        expect(client->Get("/api/v1/exams?limit=5", auth), 200, "GET /exams");
      }
    });
  }
  threads.emplace_back([&] {  // auditor, admin and public reads
    auto client = Client();
    for (int i = 0; i < 12; ++i) {
      expect(client->Get("/api/v1/audit?limit=50", Auth(auditor_)), 200, "GET /audit");
      auto verify = client->Get("/api/v1/audit/verify", Auth(auditor_));
      if (expect(verify, 200, "GET /audit/verify") && json::parse(verify->body)["ok"] != true) {
        report("the chain does not verify mid-run: " + verify->body);
      }
      expect(client->Get("/api/v1/health"), 200, "GET /health");
      expect(client->Get("/api/v1/models/active"), 200, "GET /models/active");
      expect(client->Get("/api/v1/metrics", Auth(admin_)), 200, "GET /metrics");
    }
  });
  threads.emplace_back([&] {  // the admin switches the active version back and forth
    auto client = Client();
    for (int i = 0; i < 10; ++i) {
      const std::string path = "/api/v1/models/" + std::to_string(i % 2 ? 1 : 2) + "/activate";
      expect(client->Post(path.c_str(), Auth(admin_), "", "application/json"), 200,
             "POST activate");
    }
  });
  for (auto& t : threads) t.join();
  EXPECT_TRUE(problems.empty()) << problems.size() << " wrong answers, first: "
                                << (problems.empty() ? "" : problems[0]);

  json verify = Body(Get("/api/v1/audit/verify", auditor_));
  EXPECT_EQ(verify["ok"], true) << verify.dump();
  json page = Body(Get("/api/v1/exams?limit=1000", auditor_));
  EXPECT_EQ(page["exams"].size(), static_cast<size_t>(kClinicianThreads * kExamsEach));
}

INSTANTIATE_TEST_SUITE_P(Backends, HttpApiTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
