// Shadow evaluation and activation gates against a real fetal-server on SQLite and PostgreSQL:
// trained champions and challengers (the trainer), exams and outcomes from the drift simulator,
// figures recounted offline from the simulator's rows.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/csv.h"
#include "fetal/sha256.h"
#include "simulator_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

constexpr int kPathological = 2;

class ShadowEvaluationTest : public SimulatorFixture {
 protected:
  json Admin(const std::string& method, const std::string& path, const std::string& body = "") {
    httplib::Result r = method == "DELETE" ? Client()->Delete(path.c_str(), Auth(admin_))
                                           : Post(path, admin_, body);
    EXPECT_TRUE(r) << method << " " << path;
    if (!r) return json();
    json out = Body(r);
    out["_status"] = r->status;
    return out;
  }

  // A counter or gauge from /metrics.
  int64_t Metric(const std::string& name) {
    auto r = Get("/api/v1/metrics", admin_);
    EXPECT_TRUE(r);
    if (!r) return -1;
    const size_t at = r->body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::atoll(r->body.c_str() + at + name.size() + 2);
  }

  // Waits (at most 60 s) until the shadow queue is empty and `evaluated` results were stored.
  void WaitForShadow(int64_t evaluated) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Metric("fetal_shadow_queue_depth") == 0 &&
          Metric("fetal_shadow_evaluated_total") >= evaluated) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "shadow evaluation did not catch up: evaluated "
                  << Metric("fetal_shadow_evaluated_total") << " of " << evaluated;
  }

  // The audit events with `action` on `object`, oldest first. (Reading the log appends to it:
  // the walk ends at the first page that is not full.)
  std::vector<json> AuditEvents(const std::string& action, const std::string& object) {
    std::vector<json> out;
    int64_t after = 0;
    for (int pages = 0; pages < 1000; ++pages) {
      json page = Body(Get("/api/v1/audit?limit=1000&after=" + std::to_string(after), auditor_));
      if (!page.contains("events")) break;
      for (const json& e : page["events"]) {
        if (e["action"] == action && e["object"] == object) out.push_back(e);
      }
      if (!page["next_after"].is_number()) break;
      after = page["next_after"].get<int64_t>();
    }
    return out;
  }

  static const json* FindGate(const json& gates, const std::string& name) {
    for (const json& g : gates) {
      if (g["name"] == name) return &g;
    }
    return nullptr;
  }
};

std::unique_ptr<Classifier> ClassifierOf(const std::string& bytes) {
  Model m;
  std::string error;
  EXPECT_TRUE(ReadBundle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &m).ok());
  std::unique_ptr<Classifier> c;
  EXPECT_TRUE(Classifier::Create(std::move(m), &c).ok());
  return c;
}

int ClassOf(const Classifier& c, const float* features) {
  ClassifyOptions options;
  options.explain = false;
  Classification out;
  c.Classify(features, options, &out);
  EXPECT_TRUE(out.classified);
  return out.predicted_class;
}

// The champion (version 2), a challenger trained with most Pathological rows relabelled Normal
// (version 3: markedly lower Pathological recall) and a challenger trained like the champion
// with more rounds (version 4). Version 3 runs in shadow as exams arrive; version 4 is replayed
// over the stored exams afterwards. Version 3 is stopped at the gate, with the measured values,
// both when activated and when a staged rollout of it from version 2 starts; a written reason
// overrides either and is in the audit chain.
TEST_P(ShadowEvaluationTest, GatesStopALowRecallChallengerAndPassAGoodOne) {
  UploadModelWithReference();  // version 2, active
  const std::string bad = BundleBytes(TrainedModel(3, 30, [](trainer::Dataset* d) {
    int seen = 0;
    for (int& label : d->table.labels) {
      if (label == kPathological && seen++ % 5 != 0) label = 0;  // 4 in 5 become Normal
    }
  }));
  const std::string good = BundleBytes(TrainedModel(4, 40));
  Upload(bad, false);
  Upload(good, false);

  json started = Admin("POST", "/api/v1/models/3/shadow");
  ASSERT_EQ(started["_status"], 200) << started;
  ASSERT_EQ(started["shadows"].size(), 1u);
  EXPECT_EQ(started["shadows"][0]["version"], 3);

  const std::string rows = dir_ + "/rows.csv";
  json summary = Simulate(
      "--days 4 --start 2026-05-01 --per-day 150 --seed 11 --outcome-share 1 --outcome-delay 0 "
      "--rows-out " +
          Quote(rows),
      "model2.fhm", 2);
  ASSERT_TRUE(summary.is_object());
  const int64_t submitted = summary["submitted"].get<int64_t>();
  ASSERT_GT(submitted, 400);
  WaitForShadow(submitted);
  EXPECT_EQ(Metric("fetal_shadow_skipped_total"), 0);
  EXPECT_EQ(Metric("fetal_shadow_failures_total"), 0);

  // Replay: version 4 over every stored exam, twice; version 3 already has them all.
  json replay = Admin("POST", "/api/v1/models/4/shadow/replay");
  ASSERT_EQ(replay["_status"], 200) << replay;
  EXPECT_EQ(replay["exams"], submitted);
  EXPECT_EQ(replay["stored"], submitted);
  EXPECT_TRUE(replay["next_cursor"].is_null());
  json again = Admin("POST", "/api/v1/models/4/shadow/replay");
  EXPECT_EQ(again["stored"], 0) << again;
  EXPECT_EQ(again["already_evaluated"], submitted);
  json replay3 = Admin("POST", "/api/v1/models/3/shadow/replay");
  EXPECT_EQ(replay3["stored"], 0) << replay3;

  // The report equals a recount of the simulator's rows (every exam has an outcome) with the
  // champion's and the challenger's bundles classified offline.
  auto report = Get("/api/v1/models/3/shadow/report", auditor_);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->status, 200) << report->body;
  const json r3 = Body(report);
  {
    ExamTable table;
    ASSERT_TRUE(ParseExamCsv(ReadFileOrEmpty(rows), CsvOptions(), &table).ok());
    ASSERT_EQ(static_cast<int64_t>(table.rows), submitted);
    auto champion = ClassifierOf(ReadFileOrEmpty(dir_ + "/model2.fhm"));
    auto challenger = ClassifierOf(bad);
    int64_t agree = 0, only_active = 0, only_shadow = 0;
    int64_t table_counts[3][3] = {}, truth_path = 0, active_path = 0, shadow_path = 0;
    for (size_t i = 0; i < table.rows; ++i) {
      const float* f = &table.features[i * kNumFeatures];
      const int a = ClassOf(*champion, f), s = ClassOf(*challenger, f), t = table.labels[i];
      agree += a == s;
      ++table_counts[a][s];
      only_active += a == t && s != t;
      only_shadow += s == t && a != t;
      if (t == kPathological) {
        ++truth_path;
        active_path += a == t;
        shadow_path += s == t;
      }
    }
    EXPECT_EQ(r3["exams"], submitted);
    EXPECT_EQ(r3["labelled_exams"], submitted);
    EXPECT_EQ(r3["agreement"]["count"], agree);
    const char* names[] = {"Normal", "Suspect", "Pathological"};
    for (int a = 0; a < 3; ++a) {
      for (int s = 0; s < 3; ++s)
        EXPECT_EQ(r3["disagreement"][names[a]][names[s]], table_counts[a][s]);
    }
    const json& perf = r3["performance"];
    EXPECT_EQ(perf["mcnemar"]["only_active_right"], only_active);
    EXPECT_EQ(perf["mcnemar"]["only_shadow_right"], only_shadow);
    ASSERT_GT(truth_path, 0);
    EXPECT_DOUBLE_EQ(perf["active"]["recall"]["Pathological"].get<double>(),
                     static_cast<double>(active_path) / truth_path);
    EXPECT_DOUBLE_EQ(perf["shadow"]["recall"]["Pathological"].get<double>(),
                     static_cast<double>(shadow_path) / truth_path);
    // The challenger is markedly worse on Pathological exams, and McNemar sees it.
    EXPECT_GT(static_cast<double>(active_path - shadow_path) / truth_path, 0.2);
    EXPECT_LT(perf["mcnemar"]["mid_p"].get<double>(), 0.05);
  }

  // Without a policy file the built-in defaults refuse it, on the same measurement.
  auto by_default = Post("/api/v1/models/3/activate", admin_, "");
  ASSERT_TRUE(by_default);
  ASSERT_EQ(by_default->status, 409) << by_default->body;
  const json default_details = Body(by_default)["error"]["details"];
  EXPECT_EQ(default_details["policy"]["enforce"], true);
  EXPECT_NE(default_details["policy"]["source"].get<std::string>().find("built-in defaults"),
            std::string::npos);
  EXPECT_EQ((*FindGate(default_details["gates"], "pathological_recall_drop"))["passed"], false);

  // The hospital's written policy.
  WritePolicy({{"min_shadow_exams", 300},
               {"min_agreement", 0.8},
               {"min_labelled_exams", 100},
               {"max_pathological_recall_drop", 0.05},
               {"max_macro_f1_drop", 0.05}});

  auto refused = Post("/api/v1/models/3/activate", admin_, "");
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->status, 409) << refused->body;
  const json error = Body(refused)["error"];
  EXPECT_EQ(error["code"], "activation_gates_failed");
  const json& gates = error["details"]["gates"];
  ASSERT_EQ(gates.size(), 6u) << gates;
  for (const json& g : gates) {
    EXPECT_TRUE(g.contains("threshold") && g.contains("measured") && g.contains("passed")) << g;
  }
  const json* recall = FindGate(gates, "pathological_recall_drop");
  ASSERT_NE(recall, nullptr);
  EXPECT_EQ((*recall)["passed"], false);
  EXPECT_EQ((*recall)["threshold"], 0.05);
  EXPECT_DOUBLE_EQ((*recall)["measured"].get<double>(),
                   r3["performance"]["active"]["recall"]["Pathological"].get<double>() -
                       r3["performance"]["shadow"]["recall"]["Pathological"].get<double>());
  EXPECT_EQ((*FindGate(gates, "min_shadow_exams"))["measured"], submitted);
  EXPECT_EQ((*FindGate(gates, "min_shadow_exams"))["passed"], true);
  EXPECT_DOUBLE_EQ((*FindGate(gates, "min_agreement"))["measured"].get<double>(),
                   r3["agreement"]["rate"].get<double>());
  // Still version 2, and the refusal is in the audit chain with its values.
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 2);
  std::vector<json> events = AuditEvents("model.activate", "model/3");
  ASSERT_EQ(events.size(), 2u);
  for (const json& e : events) {
    EXPECT_EQ(e["outcome"], "refused");
    EXPECT_NE(e["details"].get<std::string>().find("pathological_recall_drop"), std::string::npos);
  }

  // A staged rollout of version 3 from version 2 meets the same gates at its start, with the
  // same measured values, and the same override.
  const std::string v2_bytes = ReadFileOrEmpty(dir_ + "/model2.fhm");
  auto uploaded = Post("/api/v1/releases", admin_,
                       SignedSet(MakeReleaseSetAt("hospital-a", 41,
                                                  {2, Sha256Hex(v2_bytes.data(), v2_bytes.size())},
                                                  {3, Sha256Hex(bad.data(), bad.size())}))
                           .dump());
  ASSERT_EQ(uploaded->status, 201) << uploaded->body;
  auto start_refused = Post("/api/v1/releases/41/start", admin_, "");
  ASSERT_TRUE(start_refused);
  ASSERT_EQ(start_refused->status, 409) << start_refused->body;
  const json start_error = Body(start_refused)["error"];
  EXPECT_EQ(start_error["code"], "activation_gates_failed");
  EXPECT_EQ(start_error["details"]["champion_version"], 2);
  const json* start_recall = FindGate(start_error["details"]["gates"], "pathological_recall_drop");
  ASSERT_NE(start_recall, nullptr);
  EXPECT_EQ((*start_recall)["passed"], false);
  EXPECT_EQ((*start_recall)["measured"], (*recall)["measured"]);
  EXPECT_DOUBLE_EQ((*start_recall)["active"].get<double>(),
                   r3["performance"]["active"]["recall"]["Pathological"].get<double>());
  EXPECT_DOUBLE_EQ((*start_recall)["shadow"].get<double>(),
                   r3["performance"]["shadow"]["recall"]["Pathological"].get<double>());
  EXPECT_EQ(Get("/api/v1/releases/current")->status, 404);
  const std::string start_reason =
      "Canary of 5 % approved by the clinical safety board, CSB-2026-15";
  auto start_overridden =
      Post("/api/v1/releases/41/start", admin_, json{{"override_reason", start_reason}}.dump());
  ASSERT_EQ(start_overridden->status, 200) << start_overridden->body;
  std::vector<json> starts = AuditEvents("release.rollout.start", "release/41");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0]["outcome"], "refused");
  EXPECT_EQ(starts[1]["outcome"], "override");
  const json start_details = json::parse(starts[1]["details"].get<std::string>(), nullptr, false);
  EXPECT_EQ(start_details["activation_gates"]["override_reason"], start_reason);
  EXPECT_EQ((*FindGate(start_details["activation_gates"]["gates"],
                       "pathological_recall_drop"))["measured"],
            (*recall)["measured"]);
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 2);  // a start activates nothing

  // The good challenger passes every gate; the event records the values.
  auto ok = Post("/api/v1/models/4/activate", admin_, "");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 4);
  events = AuditEvents("model.activate", "model/4");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["outcome"], "ok");
  json details = json::parse(events[0]["details"].get<std::string>().substr(
                                 events[0]["details"].get<std::string>().find('{')),
                             nullptr, false);
  ASSERT_TRUE(details.is_object()) << events[0];
  EXPECT_EQ(details["active_version"], 2);
  EXPECT_EQ(details["gates"].size(), 6u);
  for (const json& g : details["gates"]) EXPECT_EQ(g["passed"], true) << g;
  // The answer shows the admin the same gates the event records, each with its sentence.
  json answered = Body(ok)["activation_gates"]["gates"];
  for (json& g : answered) {
    EXPECT_TRUE(g["detail"].is_string()) << g;
    g.erase("detail");
  }
  EXPECT_EQ(answered, details["gates"]) << ok->body;
  EXPECT_EQ(Body(ok)["activation_gates"]["outcome"], "ok");

  // Overriding needs a written reason: validated, then recorded with the gate values.
  auto short_reason = Post("/api/v1/models/3/activate", admin_, R"({"override_reason":"why"})");
  ASSERT_TRUE(short_reason);
  EXPECT_EQ(short_reason->status, 422);
  EXPECT_EQ(Body(short_reason)["error"]["field"], "override_reason") << short_reason->body;
  auto unknown = Post("/api/v1/models/3/activate", admin_, R"({"reason":"a long enough reason"})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 422) << unknown->body;
  auto not_json = Post("/api/v1/models/3/activate", admin_, "{");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400) << not_json->body;
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 4);

  const std::string reason = "Ward trial approved by the clinical safety board, ref CSB-2026-14";
  auto overridden =
      Post("/api/v1/models/3/activate", admin_, json{{"override_reason", reason}}.dump());
  ASSERT_TRUE(overridden);
  ASSERT_EQ(overridden->status, 200) << overridden->body;
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 3);
  events = AuditEvents("model.activate", "model/3");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2]["outcome"], "override");
  const std::string text = events[2]["details"].get<std::string>();
  details = json::parse(text.substr(text.find('{')), nullptr, false);
  EXPECT_EQ(details["override_reason"], reason);
  EXPECT_EQ(Body(overridden)["activation_gates"]["outcome"], "override");
  EXPECT_EQ(Body(overridden)["activation_gates"]["override_reason"], reason);
  EXPECT_EQ(details["active_version"], 4);
  EXPECT_EQ((*FindGate(details["gates"], "pathological_recall_drop"))["passed"], false);
  // Now active, version 3 has left the shadow set.
  EXPECT_TRUE(Body(Get("/api/v1/models/shadows", auditor_))["shadows"].empty());
  EXPECT_EQ(AuditEvents("model.shadow.stop", "model/3").size(), 1u);
  auto verify = Get("/api/v1/audit/verify", auditor_);
  ASSERT_TRUE(verify);
  EXPECT_EQ(Body(verify)["ok"], true) << verify->body;
}

// Without a policy file the built-in defaults are enforced: a version with no shadow record is
// refused. With no version active there is no champion: the comparison gates do not apply, and
// the answer says so.
TEST_P(ShadowEvaluationTest, DefaultPolicyIsEnforcedAndAFirstActivationHasNoChampion) {
  const std::string v2 = BundleBytes(TinyModel(2, 0.05f));
  Upload(v2, false);
  auto refused = Post("/api/v1/models/2/activate", admin_, "");
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->status, 409) << refused->body;
  const json details = Body(refused)["error"]["details"];
  EXPECT_EQ(details["policy"]["enforce"], true);
  EXPECT_EQ(details["champion_version"], 1);
  const json* count = FindGate(details["gates"], "min_shadow_exams");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ((*count)["measured"], 0);
  EXPECT_EQ((*count)["threshold"], 200);
  EXPECT_EQ((*count)["passed"], false);
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 1);

  // No version active (a first start that stopped between registering and activating).
  RawSql("UPDATE models SET active = 0");
  auto first = Post("/api/v1/models/2/activate", admin_, "");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  const json gates = Body(first)["activation_gates"];
  EXPECT_TRUE(gates["champion_version"].is_null()) << gates;
  EXPECT_TRUE(gates["active_version"].is_null()) << gates;
  EXPECT_NE(gates["note"].get<std::string>().find("does not apply"), std::string::npos) << gates;
  EXPECT_EQ(gates["outcome"], "ok");
  ASSERT_EQ(gates["gates"].size(), 6u);
  for (size_t i = 1; i < gates["gates"].size(); ++i) {
    EXPECT_EQ(gates["gates"][i]["passed"], true) << gates["gates"][i];
    EXPECT_NE(gates["gates"][i]["detail"].get<std::string>().find("no champion"),
              std::string::npos);
  }
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 2);
}

// Shadow routes: who may call them, what they refuse, and the policy file's errors.
TEST_P(ShadowEvaluationTest, RoutesRefuseWhatTheyCannotDo) {
  for (int v = 2; v <= 5; ++v) {
    const std::string bytes = BundleBytes(TinyModel(v, 0.01f * v));
    auto r = Post("/api/v1/models", admin_, bytes, "application/octet-stream",
                  {{"X-Model-Signature", Sign(keys_, bytes)}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
  EXPECT_EQ(Admin("POST", "/api/v1/models/9/shadow")["_status"], 404);
  json active = Admin("POST", "/api/v1/models/1/shadow");
  EXPECT_EQ(active["_status"], 409);
  EXPECT_EQ(active["error"]["code"], "model_is_active");
  for (int v = 2; v <= 4; ++v) {
    EXPECT_EQ(Admin("POST", "/api/v1/models/" + std::to_string(v) + "/shadow")["_status"], 200);
  }
  // Again is no change; a fourth is one too many.
  json again = Admin("POST", "/api/v1/models/2/shadow");
  EXPECT_EQ(again["_status"], 200);
  EXPECT_EQ(again["shadows"].size(), 3u);
  json fourth = Admin("POST", "/api/v1/models/5/shadow");
  EXPECT_EQ(fourth["_status"], 409);
  EXPECT_EQ(fourth["error"]["code"], "too_many_shadows");
  json stopped = Admin("DELETE", "/api/v1/models/3/shadow");
  EXPECT_EQ(stopped["_status"], 200);
  EXPECT_EQ(stopped["shadows"].size(), 2u);
  EXPECT_EQ(Admin("DELETE", "/api/v1/models/3/shadow")["_status"], 404);
  EXPECT_EQ(Body(Get("/api/v1/models/shadows", auditor_))["shadows"].size(), 2u);
  EXPECT_EQ(AuditEvents("model.shadow.start", "model/2").size(), 1u);
  EXPECT_EQ(AuditEvents("model.shadow.stop", "model/3").size(), 1u);

  // Roles: a clinician may not start, stop or read them.
  EXPECT_EQ(Post("/api/v1/models/5/shadow", clinician_, "")->status, 403);
  EXPECT_EQ(Get("/api/v1/models/shadows", clinician_)->status, 403);
  EXPECT_EQ(Get("/api/v1/models/2/shadow/report", clinician_)->status, 403);
  EXPECT_EQ(Post("/api/v1/models/2/shadow/replay", auditor_, "")->status, 403);

  // Windows and parameters.
  auto backwards =
      Post("/api/v1/models/2/shadow/replay?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
           admin_, "");
  ASSERT_TRUE(backwards);
  EXPECT_EQ(backwards->status, 400);
  EXPECT_EQ(Body(backwards)["error"]["field"], "from");
  auto bad_time = Get("/api/v1/models/2/shadow/report?to=yesterday", auditor_);
  EXPECT_EQ(bad_time->status, 400);
  EXPECT_EQ(Body(bad_time)["error"]["field"], "to");
  EXPECT_EQ(Get("/api/v1/models/2/shadow/report?limit=5", auditor_)->status, 400);
  EXPECT_EQ(Get("/api/v1/models/77/shadow/report", auditor_)->status, 404);
  EXPECT_EQ(Admin("POST", "/api/v1/models/77/shadow/replay")["_status"], 404);
  auto empty = Get("/api/v1/models/2/shadow/report", auditor_);
  ASSERT_EQ(empty->status, 200) << empty->body;
  EXPECT_EQ(Body(empty)["exams"], 0);
  EXPECT_TRUE(Body(empty)["performance"].is_null());

  // A policy that cannot be read refuses every activation, naming the problem.
  WriteFile(dir_ + "/data/activation-policy.json", R"({"min_agreement": 1.5})");
  auto bad_policy = Post("/api/v1/models/2/activate", admin_, "");
  ASSERT_TRUE(bad_policy);
  EXPECT_EQ(bad_policy->status, 500);
  EXPECT_EQ(Body(bad_policy)["error"]["code"], "activation_policy_invalid");
  EXPECT_NE(bad_policy->body.find("min_agreement"), std::string::npos) << bad_policy->body;
  WriteFile(dir_ + "/data/activation-policy.json", R"({"min_shadow_exams": 10, "colour": 1})");
  bad_policy = Post("/api/v1/models/2/activate", admin_, "");
  EXPECT_EQ(bad_policy->status, 500);
  EXPECT_NE(bad_policy->body.find("colour"), std::string::npos) << bad_policy->body;
  // An enforced policy with no shadow record: refused, every gate listed; uploading with
  // ?activate=true meets the same gates.
  WriteFile(dir_ + "/data/activation-policy.json", R"({"min_shadow_exams": 10})");
  auto gated = Post("/api/v1/models/5/activate", admin_, "");
  ASSERT_EQ(gated->status, 409) << gated->body;
  EXPECT_EQ(Body(gated)["error"]["details"]["gates"].size(), 6u);
  const std::string v6 = BundleBytes(TinyModel(6, 0.07f));
  auto upload = Post("/api/v1/models?activate=true", admin_, v6, "application/octet-stream",
                     {{"X-Model-Signature", Sign(keys_, v6)}});
  ASSERT_TRUE(upload);
  EXPECT_EQ(upload->status, 409) << upload->body;
  EXPECT_EQ(Body(Get("/api/v1/models"))["active_version"], 1);
}

// A shadow never slows or fails a submission: with a one-exam queue a burst is skipped (and
// counted), not waited for; with its results table gone the shadow fails (counted) and exams
// are still stored.
TEST_P(ShadowEvaluationTest, ShadowNeverHoldsUpOrFailsSubmissions) {
  server_.Kill();
  std::vector<std::string> args = DefaultArgs();
  args.push_back("--shadow-queue");
  args.push_back("1");
  ASSERT_TRUE(StartServer(args));
  const std::string v2 = BundleBytes(TinyModel(2, 0.05f));
  auto r = Post("/api/v1/models", admin_, v2, "application/octet-stream",
                {{"X-Model-Signature", Sign(keys_, v2)}});
  ASSERT_EQ(r->status, 201) << r->body;
  ASSERT_EQ(Admin("POST", "/api/v1/models/2/shadow")["_status"], 200);

  constexpr int kThreads = 4, kBatches = 5, kPerBatch = 100;
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        json batch = {{"exams", json::array()}};
        for (int i = 0; i < kPerBatch; ++i) {
          batch["exams"].push_back(Exam("burst-" + std::to_string(t) + "-" + std::to_string(b) +
                                        "-" + std::to_string(i)));
        }
        auto res = Post("/api/v1/exams:batch", clinician_, batch.dump());
        if (res && res->status == 201) created += Body(res)["stored"].get<int>();
      }
    });
  }
  for (auto& t : threads) t.join();
  const int total = kThreads * kBatches * kPerBatch;
  EXPECT_EQ(created, total);
  // Every exam is either evaluated or skipped, once the worker has finished its last batch.
  int64_t evaluated = 0, skipped = 0;
  const auto drained = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    evaluated = Metric("fetal_shadow_evaluated_total");
    skipped = Metric("fetal_shadow_skipped_total");
    if (evaluated + skipped >= total) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < drained);
  EXPECT_GT(skipped, 0);
  EXPECT_EQ(evaluated + skipped, total);
  EXPECT_EQ(Metric("fetal_shadow_queue_capacity"), 1);
  // What was skipped, a replay evaluates.
  json replay = Admin("POST", "/api/v1/models/2/shadow/replay");
  EXPECT_EQ(replay["stored"], skipped) << replay;

  // Break the shadow's storage: submissions are still answered 201 and stored.
  RawSql("DROP TABLE shadow_results");
  for (int i = 0; i < 5; ++i) Submit(Exam("after-drop-" + std::to_string(i)), clinician_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Metric("fetal_shadow_failures_total") < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(Metric("fetal_shadow_failures_total"), 1);
  EXPECT_EQ(Submit(Exam("after-failure"), clinician_)["client_exam_id"], "after-failure");
}

INSTANTIATE_TEST_SUITE_P(Backends, ShadowEvaluationTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
