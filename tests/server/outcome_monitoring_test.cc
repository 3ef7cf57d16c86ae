// Outcomes (POST /exams/{id}/outcome, GET /exams/{id}) and the monitoring API against a real
// fetal-server on SQLite and on PostgreSQL: versions and replays, 422s naming fields, and the
// per-day aggregates the monitoring answer is made of.
#include <time.h>

#include <set>

#include "server_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

class OutcomeMonitoringTest : public ServerFixture {
 protected:
  json SubmitAt(const std::string& id, const std::string& client_time,
                const std::string& runtime_build = "", bool nudge = false) {
    json exam = Exam(id);
    exam["client_time"] = client_time;
    if (!runtime_build.empty()) exam["runtime_build"] = runtime_build;
    if (nudge) {
      // A browser build whose threshold moved: same features, another class.
      const std::string cls = exam["client_result"]["class"];
      exam["client_result"]["class"] = cls == "Normal" ? "Suspect" : "Normal";
    }
    return Submit(exam, clinician_);
  }

  httplib::Result PostOutcome(int64_t id, const json& body, const std::string& token) {
    return Post("/api/v1/exams/" + std::to_string(id) + "/outcome", token, body.dump());
  }

  json Monitoring(const std::string& query, const std::string& token) {
    auto r = Get("/api/v1/monitoring" + query, token);
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return Body(r);
  }
};

TEST_P(OutcomeMonitoringTest, OutcomeVersionsReplaysAndTheExamShowsTheLatest) {
  json exam = SubmitAt("o-1", "2026-11-20T10:00:00Z");
  const int64_t id = exam["id"];
  EXPECT_TRUE(exam["runtime_build"].is_null());

  auto r = Get("/api/v1/exams/" + std::to_string(id), clinician_);
  ASSERT_TRUE(r);
  EXPECT_TRUE(Body(r)["outcome"].is_null()) << r->body;

  json body = {{"final_reading", "Suspect"}, {"apgar_5min", 9}, {"umbilical_ph", 7.25}};
  r = PostOutcome(id, body, clinician_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  json first = Body(r);
  EXPECT_EQ(first["version"], 1);
  EXPECT_EQ(first["final_reading"], "Suspect");
  EXPECT_EQ(first["apgar_5min"], 9);
  EXPECT_EQ(first["umbilical_ph"], 7.25);
  EXPECT_TRUE(first["base_deficit"].is_null());
  EXPECT_TRUE(first["nicu_admission"].is_null());
  EXPECT_EQ(first["recorded_by"], "nurse-a");
  EXPECT_EQ(first["replayed"], false);
  EXPECT_EQ(first["exam_id"], id);

  // The same body, written otherwise: a replay of version 1, nothing stored.
  r = Post("/api/v1/exams/" + std::to_string(id) + "/outcome", clinician_,
           R"({"umbilical_ph": 7.250, "apgar_5min": 9.0, "final_reading": "Suspect"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["version"], 1);
  EXPECT_EQ(Body(r)["replayed"], true);
  EXPECT_EQ(Body(r)["audit_seq"], first["audit_seq"]);

  // A correction is a new version; the first stays as it was.
  r = PostOutcome(id, {{"final_reading", "Pathological"}, {"nicu_admission", true}}, clinician_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(Body(r)["version"], 2);
  EXPECT_GT(Body(r)["audit_seq"].get<int64_t>(), first["audit_seq"].get<int64_t>());

  r = Get("/api/v1/exams/" + std::to_string(id), auditor_);
  ASSERT_TRUE(r);
  json outcome = Body(r)["outcome"];
  EXPECT_EQ(outcome["version"], 2) << r->body;
  EXPECT_EQ(outcome["final_reading"], "Pathological");
  EXPECT_EQ(outcome["nicu_admission"], true);
  EXPECT_TRUE(outcome["apgar_5min"].is_null());

  // Both versions are in the audit chain, which still verifies.
  r = Get("/api/v1/audit/" + std::to_string(first["audit_seq"].get<int64_t>()), auditor_);
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["action"], "exam.outcome") << r->body;
  EXPECT_EQ(Body(r)["object"], "exam/" + std::to_string(id));
  r = Get("/api/v1/audit/verify", auditor_);
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["ok"], true) << r->body;
}

TEST_P(OutcomeMonitoringTest, EveryVersionIsListedForWhoMayReadTheExam) {
  const int64_t id = SubmitAt("l-1", "2026-11-20T10:00:00Z")["id"];
  const std::string path = "/api/v1/exams/" + std::to_string(id) + "/outcomes";
  auto r = Get(path, clinician_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r), json({{"exam_id", id}, {"outcomes", json::array()}}));

  std::vector<json> stored;
  for (const json& body : {json{{"final_reading", "Normal"}, {"apgar_5min", 9}},
                           json{{"final_reading", "Suspect"}, {"umbilical_ph", 7.1}},
                           json{{"final_reading", "Suspect"}, {"nicu_admission", true}}}) {
    r = PostOutcome(id, body, clinician_);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
    json v = Body(r);
    v.erase("replayed");
    stored.push_back(v);
  }
  // Oldest first, each exactly as POST returned it; the exam's owner and auditors alike.
  for (const std::string& token : {clinician_, auditor_}) {
    r = Get(path, token);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(Body(r)["outcomes"], json(stored)) << r->body;
  }
  // Each read is an exam.read event saying what was read.
  r = Get("/api/v1/audit?after=" + std::to_string(stored.back()["audit_seq"].get<int64_t>()),
          auditor_);
  ASSERT_TRUE(r);
  int outcome_reads = 0;
  const json events = Body(r)["events"];
  for (const json& e : events) {
    if (e["action"] == "exam.read" && e["details"] == "outcomes" && e["outcome"] == "ok") {
      EXPECT_EQ(e["object"], "exam/" + std::to_string(id));
      ++outcome_reads;
    }
  }
  EXPECT_EQ(outcome_reads, 2) << r->body;

  // Another clinician's exam and a missing one look alike; admins do not read exams.
  r = Get(path, clinician2_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;
  r = Get("/api/v1/exams/" + std::to_string(id + 1000) + "/outcomes", auditor_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;
  r = Get(path, admin_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403) << r->body;
  r = Get(path, "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401) << r->body;
  // The verification still holds: reading appends events, it changes no version.
  EXPECT_EQ(Body(Get("/api/v1/audit/verify", auditor_))["ok"], true);
}

TEST_P(OutcomeMonitoringTest, AnEditedOrDeletedOutcomeBreaksVerification) {
  const int64_t id = SubmitAt("t-1", "2026-11-20T10:00:00Z")["id"];
  auto r = PostOutcome(id, {{"final_reading", "Normal"}}, clinician_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201);
  const int64_t seq = Body(r)["audit_seq"];
  ASSERT_EQ(Body(Get("/api/v1/audit/verify", auditor_))["ok"], true);
  RawSql("UPDATE exam_outcomes SET final_reading = 2 WHERE exam_id = " + std::to_string(id));
  json v = Body(Get("/api/v1/audit/verify", auditor_));
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["first_bad_seq"], seq) << v.dump();
  RawSql("DELETE FROM exam_outcomes WHERE exam_id = " + std::to_string(id));
  v = Body(Get("/api/v1/audit/verify", auditor_));
  EXPECT_EQ(v["ok"], false);
  EXPECT_NE(v.dump().find("is missing"), std::string::npos) << v.dump();
}

TEST_P(OutcomeMonitoringTest, OutcomeRefusals) {
  const int64_t id = SubmitAt("o-2", "2026-11-20T10:00:00Z")["id"];
  struct Case {
    json body;
    std::set<std::string> fields;
  };
  const Case cases[] = {
      {json::object(), {"final_reading"}},
      {{{"final_reading", "normal"}}, {"final_reading"}},
      {{{"final_reading", 0}}, {"final_reading"}},
      {{{"final_reading", "Normal"}, {"apgar_5min", 11}}, {"apgar_5min"}},
      {{{"final_reading", "Normal"}, {"apgar_5min", 7.5}}, {"apgar_5min"}},
      {{{"final_reading", "Normal"}, {"umbilical_ph", 6.4}}, {"umbilical_ph"}},
      {{{"final_reading", "Normal"}, {"umbilical_ph", "7.2"}}, {"umbilical_ph"}},
      {{{"final_reading", "Normal"}, {"base_deficit", 31}}, {"base_deficit"}},
      {{{"final_reading", "Normal"}, {"nicu_admission", "yes"}}, {"nicu_admission"}},
      {{{"final_reading", "Normal"}, {"apgar", 9}}, {"apgar"}},
      {{{"apgar_5min", -1}, {"base_deficit", -6}}, {"final_reading", "apgar_5min", "base_deficit"}},
  };
  for (const Case& c : cases) {
    auto r = PostOutcome(id, c.body, clinician_);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 422) << c.body.dump() << " -> " << r->body;
    std::set<std::string> named;
    const json answer = Body(r);
    for (const auto& e : answer["error"]["details"]) {
      named.insert(e["field"].get<std::string>());
      EXPECT_FALSE(e["expected"].get<std::string>().empty()) << r->body;
    }
    EXPECT_EQ(named, c.fields) << r->body;
  }
  auto r = Post("/api/v1/exams/" + std::to_string(id) + "/outcome", clinician_, "[1,");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  // Another clinician's exam, an exam that does not exist: 404 alike. Auditors do not record.
  r = PostOutcome(id, {{"final_reading", "Normal"}}, clinician2_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;
  r = PostOutcome(id + 1000, {{"final_reading", "Normal"}}, clinician_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;
  r = PostOutcome(id, {{"final_reading", "Normal"}}, auditor_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403) << r->body;
  // Nothing of that was stored.
  r = Get("/api/v1/exams/" + std::to_string(id), clinician_);
  ASSERT_TRUE(r);
  EXPECT_TRUE(Body(r)["outcome"].is_null()) << r->body;
}

TEST_P(OutcomeMonitoringTest, RuntimeBuildIsStoredAndBounded) {
  json stored = SubmitAt("b-1", "2026-11-20T10:00:00Z", "wasm-3f2a9c1b");
  EXPECT_EQ(stored["runtime_build"], "wasm-3f2a9c1b");
  json exam = Exam("b-1");
  exam["client_time"] = "2026-11-20T10:00:00Z";
  exam["runtime_build"] = "wasm-3f2a9c1b";
  auto r = Post("/api/v1/exams", clinician_, exam.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;  // replay
  exam["runtime_build"] = "wasm-other";
  r = Post("/api/v1/exams", clinician_, exam.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409) << r->body;  // the same key with another build is another exam
  exam["client_exam_id"] = "b-2";
  for (const json& bad : {json(std::string(129, 'a')), json(12), json(std::string("a\x01"))}) {
    exam["runtime_build"] = bad;
    r = Post("/api/v1/exams", clinician_, exam.dump());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << r->body;
    EXPECT_EQ(Body(r)["error"]["field"], "runtime_build") << r->body;
  }
}

TEST_P(OutcomeMonitoringTest, MonitoringCountsByExamDayVersionAndBuild) {
  // Day 1: three exams, one from a browser build that disagrees; day 3 (a browser that was
  // offline): two exams. Received today, counted on their own days.
  std::vector<json> day1 = {SubmitAt("m-1", "2026-11-01T08:00:00Z", "wasm-a"),
                            SubmitAt("m-2", "2026-11-01T23:59:59+00:00", "wasm-a"),
                            SubmitAt("m-3", "2026-11-02T01:30:00+03:00", "wasm-nudged", true)};
  std::vector<json> day3 = {SubmitAt("m-4", "2026-11-03T12:00:00Z"),
                            SubmitAt("m-5", "2026-11-03T12:00:01Z")};
  const std::string server_class = day1[0]["server_result"]["class"];
  ASSERT_EQ(PostOutcome(day1[0]["id"], {{"final_reading", server_class}}, clinician_)->status, 201);
  ASSERT_EQ(PostOutcome(day1[1]["id"], {{"final_reading", "Pathological"}}, clinician_)->status,
            201);
  // A correction moves the exam from one confusion cell to another.
  ASSERT_EQ(PostOutcome(day1[1]["id"], {{"final_reading", server_class}}, clinician_)->status, 201);

  json m = Monitoring("?from=2026-11-01&to=2026-11-03", auditor_);
  ASSERT_EQ(m["windows"].size(), 3u) << m.dump();
  EXPECT_EQ(m["window"], "day");
  EXPECT_EQ(m["reference"]["model_version"], 1);
  EXPECT_EQ(m["reference"]["available"], false);
  const json& w1 = m["windows"][0];
  EXPECT_EQ(w1["start"], "2026-11-01");
  EXPECT_EQ(w1["exams"], 3);
  int cls = 0;
  while (kClassNames[cls] != server_class) ++cls;
  EXPECT_EQ(w1["class_mix"]["server"][cls], 3) << w1.dump();
  EXPECT_EQ(w1["class_mix"]["client"][cls], 2) << w1.dump();
  EXPECT_EQ(w1["client_server_disagreement"]["count"], 1);
  EXPECT_EQ(w1["client_server_disagreement"]["by_runtime_build"],
            json::parse(R"([{"count":1,"runtime_build":"wasm-nudged"}])"));
  EXPECT_EQ(w1["client_server_disagreement"]["by_model_version"],
            json::parse(R"([{"count":1,"model_version":1}])"));
  EXPECT_EQ(w1["outcomes"]["count"], 2);
  EXPECT_NEAR(w1["outcomes"]["share"].get<double>(), 2.0 / 3, 1e-12);
  ASSERT_TRUE(w1["performance"].is_object()) << w1.dump();
  EXPECT_EQ(w1["performance"]["accuracy"], 1.0);
  EXPECT_EQ(w1["performance"]["confusion"][cls][cls], 2);
  EXPECT_TRUE(w1["drift"].is_null());  // the tiny test model has no reference
  ASSERT_TRUE(w1["estimated"].is_object());
  const double p = day1[0]["server_result"]["probabilities"][cls];
  EXPECT_NEAR(w1["estimated"]["accuracy"].get<double>(), p, 1e-6);
  EXPECT_NEAR(w1["mean_probabilities"][cls].get<double>(), p, 1e-6);

  EXPECT_EQ(m["windows"][1]["exams"], 0);
  EXPECT_TRUE(m["windows"][1]["performance"].is_null());
  EXPECT_TRUE(m["windows"][1]["estimated"].is_null());
  EXPECT_EQ(m["windows"][2]["exams"], 2);
  EXPECT_EQ(m["windows"][2]["client_server_disagreement"]["count"], 0);

  // A week window sums them; filters narrow them.
  json week = Monitoring("?from=2026-11-01&to=2026-11-07&window=week", auditor_);
  ASSERT_EQ(week["windows"].size(), 1u);
  EXPECT_EQ(week["windows"][0]["exams"], 5);
  EXPECT_EQ(week["windows"][0]["end"], "2026-11-07");
  EXPECT_EQ(Monitoring("?from=2026-11-01&to=2026-11-07&window=week&submitted_by=nurse-b",
                       admin_)["windows"][0]["exams"],
            0);
  EXPECT_EQ(Monitoring("?from=2026-11-01&to=2026-11-07&window=week&submitted_by=nurse-a",
                       admin_)["windows"][0]["exams"],
            5);
  EXPECT_EQ(Monitoring("?from=2026-11-01&to=2026-11-07&window=week&model_version=2",
                       admin_)["windows"][0]["exams"],
            0);
}

TEST_P(OutcomeMonitoringTest, MonitoringRefusals) {
  auto r = Get("/api/v1/monitoring", clinician_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  r = Get("/api/v1/monitoring");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  const std::pair<std::string, std::string> bad[] = {
      {"?from=2026-11-31", "from"},
      {"?to=yesterday", "to"},
      {"?window=month", "window"},
      {"?model_version=0", "model_version"},
      {"?from=2026-11-02&to=2026-11-01", "from"},
      {"?from=2000-01-01&to=2026-01-01", "from"},
      {"?limit=3", "limit"},
      {"?window=day&window=week", "window"},
  };
  for (const auto& [query, field] : bad) {
    r = Get("/api/v1/monitoring" + query, auditor_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << query << " " << r->body;
    EXPECT_EQ(Body(r)["error"]["field"], field) << query << " " << r->body;
  }
  // The default range: the last 30 days to today.
  json m = Monitoring("", auditor_);
  EXPECT_EQ(m["windows"].size(), 30u);
}

TEST_P(OutcomeMonitoringTest, GaugesOfTheLastSevenDays) {
  char now[32];
  const time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
  SubmitAt("g-1", now, "wasm-a");
  SubmitAt("g-2", now, "wasm-b", true);
  SubmitAt("g-3", "2020-01-01T00:00:00Z");  // long ago: not in the current window
  auto r = Get("/api/v1/metrics", admin_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\nfetal_monitoring_up 1\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\nfetal_monitoring_exams 2\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\nfetal_monitoring_client_server_disagreements 1\n"), std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("# TYPE fetal_monitoring_estimated_accuracy gauge\n"), std::string::npos);
  // No reference in the test model: no drift gauges rather than made-up ones.
  EXPECT_EQ(r->body.find("fetal_monitoring_drift_verdict"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, OutcomeMonitoringTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
