// A staged rollout's two cohorts against a real fetal-server, on SQLite and on a real PostgreSQL:
// GET /monitoring/rollout shows the stable and the canary cohort side by side with the figures
// recounted from the exams sent; and, with the drift simulator feeding both cohorts, a challenger
// that passes shadow but shifts the Pathological rate on the canary cohort is halted by the
// rollout monitor within two windows, with the decision and its evidence in the audit chain.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "fetal/bundle.h"
#include "fetal/classifier.h"
#include "fetal/csv.h"
#include "release_fixture.h"
#include "text/time_text.h"

namespace fetal {
namespace testing_support {
namespace {

constexpr int kPathological = 2;

class RolloutCohortsTest : public ReleaseFixture {
 protected:
  void WritePolicy(const json& policy) {
    WriteFile(dir_ + "/data/activation-policy.json", policy.dump(2));
  }

  json Cohorts(const std::string& token) {
    auto r = Get("/api/v1/monitoring/rollout", token);
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return Body(r);
  }

  static const json* Signal(const json& signals, const std::string& name) {
    for (const json& s : signals) {
      if (s["signal"] == name) return &s;
    }
    return nullptr;
  }
};

// What a cohort's exams add up to, recounted by the test from what it sent.
struct Expected {
  int64_t exams = 0, disagreements = 0;
  std::array<int64_t, 3> classes{};
  double top_sum = 0;
};

// Both cohorts side by side while a rollout runs (a window too long to end during the test),
// each figure as recounted from the exams sent; once halted by hand, the same figures up to the
// halt, later exams left out.
TEST_P(RolloutCohortsTest, CohortsSideBySideAreTheExamsEachCohortSent) {
  EXPECT_TRUE(Cohorts(auditor_)["rollout"].is_null());  // nothing was ever rolled out
  const Model candidate_model = TinyModel(2, 0.3f);
  const std::string bundle_v2 = BundleBytes(candidate_model);
  Upload(bundle_v2, false);
  std::unique_ptr<Evaluator> candidate;
  ASSERT_TRUE(Evaluator::Create(candidate_model, &candidate).ok());
  WritePolicy(
      {{"enforce", false}, {"rollout", {{"window_seconds", 3600}, {"min_exams_per_cohort", 10}}}});
  ASSERT_EQ(UploadSet(SignedSet(MakeSet(41, Of(1, bundle_v1_), Of(2, bundle_v2))))->status, 201);
  json pending = Cohorts(auditor_);
  EXPECT_TRUE(pending["rollout"].is_null()) << pending;  // uploaded, not started
  Decide(41, "start");

  // Stable browsers send 24 exams, canary browsers 18, three of them with a result the server's
  // does not confirm (another class shown).
  Expected stable, canary;
  auto send = [&](const std::string& id, int i, const Evaluator& model, int64_t version,
                  bool disagree, const std::string& token, Expected* e) {
    double features[kNumFeatures];
    std::copy(kExamFeatures, kExamFeatures + kNumFeatures, features);
    features[0] = 110 + (i % 40);
    features[7] = 20 + (i * 7) % 60;  // abnormal short-term variability moves the class
    json exam = ExamAs(id, features, model, version);
    float f[kNumFeatures], p[kNumClasses];
    for (int k = 0; k < kNumFeatures; ++k) f[k] = static_cast<float>(features[k]);
    model.Predict(f, p);
    const int cls = ArgMax(p);
    if (disagree) exam["client_result"]["class"] = kClassNames[(cls + 1) % 3];
    json stored = Submit(exam, token);
    EXPECT_EQ(stored["agreement"]["match"], !disagree) << stored;
    ++e->exams;
    ++e->classes[cls];
    e->disagreements += disagree;
    e->top_sum += *std::max_element(p, p + kNumClasses);
  };
  for (int i = 0; i < 24; ++i)
    send("s-" + std::to_string(i), i, *evaluator_, 1, false, clinician_, &stable);
  for (int i = 0; i < 18; ++i)
    send("c-" + std::to_string(i), i, *candidate, 2, i % 6 == 0, clinician2_, &canary);

  auto expect_cohort = [](const json& c, const char* name, int64_t version, const Expected& e) {
    SCOPED_TRACE(name);
    EXPECT_EQ(c["cohort"], name);
    EXPECT_EQ(c["version"], version);
    EXPECT_EQ(c["exams"], e.exams);
    for (int k = 0; k < 3; ++k) EXPECT_EQ(c["class_counts"][k].get<double>(), e.classes[k]) << k;
    EXPECT_EQ(c["disagreements"], e.disagreements);
    EXPECT_DOUBLE_EQ(c["disagreement_rate"].get<double>(),
                     static_cast<double>(e.disagreements) / e.exams);
    EXPECT_EQ(c["ood_rate"], 0.0);  // the tiny models' OOD threshold (1e6) flags none
    EXPECT_NEAR(c["estimated_accuracy"].get<double>(), e.top_sum / e.exams, 1e-6);
  };
  json running = Cohorts(auditor_);
  ASSERT_TRUE(running["rollout"].is_object()) << running;
  EXPECT_EQ(running["rollout"]["state"], "running");
  EXPECT_EQ(running["rollout"]["candidate_percent"], 5);
  EXPECT_EQ(running["rollout"]["steps_percent"], json({5, 25, 100}));
  EXPECT_EQ(running["window_seconds"], 3600);
  EXPECT_TRUE(running["policy_error"].is_null());
  EXPECT_EQ(running["enough_exams"], true);
  ASSERT_EQ(running["cohorts"].size(), 2u) << running;
  expect_cohort(running["cohorts"][0], "stable", 1, stable);
  expect_cohort(running["cohorts"][1], "canary", 2, canary);
  // Every signal with the policy's threshold; the disagreement increase is the canary's rate
  // minus the stable one's (3 in 18 against none) and trips.
  ASSERT_EQ(running["signals"].size(), 4u);
  const json* disagreement = Signal(running["signals"], "disagreement_increase");
  ASSERT_NE(disagreement, nullptr);
  EXPECT_DOUBLE_EQ((*disagreement)["measured"].get<double>(), 3.0 / 18);
  EXPECT_EQ((*disagreement)["threshold"], 0.02);
  EXPECT_EQ((*disagreement)["tripped"], true);
  EXPECT_EQ((*Signal(running["signals"], "ood_rate_increase"))["threshold"], 0.05);
  EXPECT_EQ((*Signal(running["signals"], "class_mix_p_value"))["threshold"], 0.001);
  EXPECT_EQ((*Signal(running["signals"], "estimated_accuracy_drop"))["threshold"], 0.05);
  EXPECT_EQ(running["would_decide"], "halt");
  int64_t due = 0, step_started = 0;
  ASSERT_TRUE(text::ParseTime(running["window"]["decision_due"], &due));
  ASSERT_TRUE(text::ParseTime(running["rollout"]["step_started"], &step_started));
  EXPECT_EQ(due - step_started, 3600 * 1000);
  // The admin reads the same; a clinician may not.
  EXPECT_EQ(Cohorts(admin_)["cohorts"], running["cohorts"]);
  auto clinician = Get("/api/v1/monitoring/rollout", clinician_);
  ASSERT_TRUE(clinician);
  EXPECT_EQ(clinician->status, 403);
  auto unknown = Get("/api/v1/monitoring/rollout?sequence=41", auditor_);  // takes no parameter
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400) << unknown->body;
  EXPECT_EQ(Body(unknown)["error"]["field"], "sequence") << unknown->body;

  // Halted by hand: the figures up to the halt, whatever arrives afterwards.
  Decide(41, "halt");
  Submit(ExamAs("after-halt", kExamFeatures, *candidate, 2), clinician2_);
  json halted = Cohorts(auditor_);
  EXPECT_EQ(halted["rollout"]["state"], "halted");
  EXPECT_EQ(halted["rollout"]["candidate_percent"], 0);
  EXPECT_TRUE(halted["would_decide"].is_null());
  EXPECT_EQ(halted["cohorts"], running["cohorts"]);
  EXPECT_EQ(halted["window"]["to"], halted["rollout"]["ended"]);

  // A policy file that does not parse: the rollout, and why no figures are judged.
  WriteFile(dir_ + "/data/activation-policy.json", R"({"rollout": {"window_seconds": "soon"}})");
  json broken = Cohorts(auditor_);
  EXPECT_EQ(broken["rollout"]["sequence"], 41);
  ASSERT_TRUE(broken["policy_error"].is_string()) << broken;
  EXPECT_NE(broken["policy_error"].get<std::string>().find("window_seconds"), std::string::npos);
  EXPECT_FALSE(broken.contains("cohorts"));
}

// The issue's check. The champion (version 3, trained on the dataset) is active; the challenger
// (version 4) is the champion with one tree added: a large Pathological score when the mean
// short-term variability is below 0.1 bpm. Absent variability is a sign FIGO calls
// pathological, so the tree is something a challenger could plausibly learn; but no exam of the
// dataset has a mean short-term variability under 0.2, so on the shadow window (the dataset's
// exams) the two agree on every exam and the challenger passes the gates. During the rollout the
// drift simulator's `stuck:mean_value_of_short_term_variability` change — a monitor whose
// variability channel reads 0 — sends every exam of both cohorts into that region: the stable
// cohort (champion) sees the same exams as the canary cohort (challenger), so what differs
// between the cohorts is the model alone, and the canary's Pathological rate jumps.
TEST_P(RolloutCohortsTest, ChallengerPassingShadowButShiftingPathologicalIsHaltedWithinTwoWindows) {
  // Short, yet long enough for both simulator runs to post their exams within the first window
  // on a loaded machine.
  constexpr int kWindowSeconds = 8;
  const Model champion = TrainedModel(3);
  Model challenger = champion;
  challenger.model_version = 4;
  int stv = -1;
  for (int i = 0; i < kNumFeatures; ++i) {
    if (FeatureSchema()[i].key == "mean_value_of_short_term_variability") stv = i;
  }
  ASSERT_GE(stv, 0);
  for (const InputDifference& d : challenger.input_differences) ASSERT_NE(d.input, stv);
  Tree flat;  // stv < 0.1 -> +8 on the Pathological margin, else 0
  flat.target_class = kPathological;
  flat.left = {1, -1, -1};
  flat.right = {2, -1, -1};
  flat.feature = {stv, 0, 0};
  flat.value = {0.1f, 8.0f, 0.0f};
  flat.default_left = {0, 0, 0};
  flat.cover = {2, 1, 1};
  challenger.trees.push_back(flat);
  const std::string champion_bytes = BundleBytes(champion);
  const std::string challenger_bytes = BundleBytes(challenger);
  WriteFile(dir_ + "/model3.fhm", champion_bytes);
  WriteFile(dir_ + "/model4.fhm", challenger_bytes);
  Upload(champion_bytes, false);
  ASSERT_NO_FATAL_FAILURE(
      ActivatePastGates(3, "the champion of a rollout test, never evaluated in shadow"));
  Upload(challenger_bytes, false);

  // Shadow: the challenger beside the champion on simulated days of the dataset's exams, every
  // exam with its outcome.
  auto shadow = Post("/api/v1/models/4/shadow", admin_, "");
  ASSERT_TRUE(shadow);
  ASSERT_EQ(shadow->status, 200) << shadow->body;
  json sim = Simulate(
      "--days 2 --start 2026-06-01 --per-day 150 --seed 21 --outcome-share 1 --outcome-delay 0",
      "model3.fhm", 3);
  ASSERT_TRUE(sim.is_object());
  const int64_t shadowed = sim["submitted"].get<int64_t>();
  ASSERT_GT(shadowed, 250);
  json report;
  for (int i = 0; i < 600 && report["exams"] != shadowed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    report = Body(Get("/api/v1/models/4/shadow/report", auditor_));
  }
  ASSERT_EQ(report["exams"], shadowed) << report;
  EXPECT_EQ(report["agreement"]["rate"], 1.0) << report["agreement"];
  EXPECT_EQ(report["performance"]["shadow"]["recall"]["Pathological"],
            report["performance"]["active"]["recall"]["Pathological"]);
  // A policy the challenger passes (agreement 1, no recall or F1 drop) with a short window.
  WritePolicy({{"min_shadow_exams", 250},
               {"min_agreement", 0.95},
               {"min_labelled_exams", 200},
               {"max_pathological_recall_drop", 0.02},
               {"max_macro_f1_drop", 0.02},
               {"rollout", {{"window_seconds", kWindowSeconds}, {"min_exams_per_cohort", 60}}}});
  // The stable cohort's window reaches one window before the start: let the shadow days'
  // exams of version 3 fall out of it, so both cohorts see only the rollout's traffic.
  std::this_thread::sleep_for(std::chrono::seconds(kWindowSeconds + 1));

  const ReleaseSet set = MakeSet(41, Of(3, champion_bytes), Of(4, challenger_bytes));
  ASSERT_EQ(UploadSet(SignedSet(set))->status, 201);
  ASSERT_EQ(Decide(41, "start")["state"], "running");
  // Browsers of each cohort: one simulated day each, every exam from a monitor whose
  // variability channel is stuck at 0, classified by the version the cohort runs.
  const std::string change =
      " --days 1 --per-day 120 --change stuck:mean_value_of_short_term_variability "
      "--change-day 0 --outcome-share 1 --outcome-delay 0 --rows-out ";
  json stable_run = Simulate("--start 2026-07-01 --seed 31" + change + Quote(dir_ + "/stable.csv"),
                             "model3.fhm", 3);
  json canary_run = Simulate("--start 2026-07-02 --seed 32" + change + Quote(dir_ + "/canary.csv"),
                             "model4.fhm", 4);
  ASSERT_TRUE(stable_run.is_object() && canary_run.is_object());

  // Halted, and browsers are served the revert the engineer signed.
  ASSERT_NO_FATAL_FAILURE(ExpectHaltedWithinTwoWindows(kWindowSeconds, set));

  // The decision in the chain: by the monitor, with both cohorts' figures as recounted offline
  // from the simulator's rows (the champion's and the challenger's class for each exam sent).
  const json halt = LastDecision("release.rollout.halt");
  ASSERT_TRUE(halt.is_object());
  EXPECT_EQ(halt["actor"]["name"], "rollout-monitor");
  EXPECT_EQ(halt["actor"]["role"], "system");
  EXPECT_EQ(halt["decision"], "automatic");
  EXPECT_EQ(halt["percent_before"], 5);
  EXPECT_EQ(halt["percent_after"], 0);
  EXPECT_EQ(halt["window_seconds"], kWindowSeconds);
  ASSERT_EQ(halt["cohorts"].size(), 2u) << halt.dump();
  auto recount = [](const std::string& rows_csv, const std::string& bundle) {
    ExamTable table;
    EXPECT_TRUE(ParseExamCsv(ReadFileOrEmpty(rows_csv), CsvOptions(), &table).ok());
    Model m;
    EXPECT_TRUE(
        ReadBundle(reinterpret_cast<const uint8_t*>(bundle.data()), bundle.size(), &m).ok());
    std::unique_ptr<Classifier> c;
    EXPECT_TRUE(Classifier::Create(std::move(m), &c).ok());
    std::array<double, 3> counts{};
    ClassifyOptions options;
    options.explain = false;
    for (size_t i = 0; c && i < table.rows; ++i) {
      Classification out;
      c->Classify(&table.features[i * kNumFeatures], options, &out);
      counts[out.predicted_class] += 1;
    }
    return counts;
  };
  const json& stable = halt["cohorts"][0];
  const json& canary = halt["cohorts"][1];
  EXPECT_EQ(stable["cohort"], "stable");
  EXPECT_EQ(stable["version"], 3);
  EXPECT_EQ(stable["exams"], stable_run["submitted"]);
  EXPECT_EQ(stable["class_counts"], json(recount(dir_ + "/stable.csv", champion_bytes)));
  EXPECT_EQ(canary["cohort"], "canary");
  EXPECT_EQ(canary["version"], 4);
  EXPECT_EQ(canary["exams"], canary_run["submitted"]);
  EXPECT_EQ(canary["class_counts"], json(recount(dir_ + "/canary.csv", challenger_bytes)));
  const double stable_share =
      stable["class_counts"][kPathological].get<double>() / stable["exams"].get<double>();
  const double canary_share =
      canary["class_counts"][kPathological].get<double>() / canary["exams"].get<double>();
  EXPECT_GT(canary_share - stable_share, 0.3) << halt.dump();
  // The class mix tripped, measured; the browsers agreed with the server in both cohorts, and
  // both saw the same traffic, so neither disagreement nor OOD rate is what halted it.
  ASSERT_EQ(halt["signals"].size(), 4u);
  for (const json& s : halt["signals"]) {
    EXPECT_TRUE(s["measured"].is_number() && s["threshold"].is_number()) << s;
  }
  const json* mix = Signal(halt["signals"], "class_mix_p_value");
  ASSERT_NE(mix, nullptr);
  EXPECT_EQ((*mix)["tripped"], true) << halt.dump();
  EXPECT_LT((*mix)["measured"].get<double>(), 0.001);
  EXPECT_EQ((*Signal(halt["signals"], "disagreement_increase"))["measured"], 0.0);
  EXPECT_EQ((*Signal(halt["signals"], "disagreement_increase"))["tripped"], false);
  EXPECT_EQ((*Signal(halt["signals"], "ood_rate_increase"))["tripped"], false) << halt.dump();

  // The monitoring API shows the halted rollout with the figures the monitor judged.
  json cohorts = Cohorts(auditor_);
  EXPECT_EQ(cohorts["rollout"]["state"], "halted");
  EXPECT_EQ(cohorts["cohorts"], halt["cohorts"]);
  EXPECT_EQ(cohorts["signals"], halt["signals"]);
  ExpectChainIntact();
}

INSTANTIATE_TEST_SUITE_P(Backends, RolloutCohortsTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
