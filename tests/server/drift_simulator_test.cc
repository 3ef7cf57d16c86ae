// The drift simulator (tools/drift-simulator) against a real fetal-server: what GET /monitoring
// reports for simulated days must match what is known about them offline.
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "simulator_fixture.h"

namespace fetal {
namespace testing_support {
namespace {

// The fixture's model and simulator runs (simulator_fixture.h), under this suite's name.
class DriftSimulatorTest : public SimulatorFixture {};

// Offline: fetal-model predict over the rows that got outcomes; per day, the confusion matrix
// (final reading x predicted class).
std::map<std::string, std::array<std::array<int64_t, 3>, 3>> OfflineConfusion(
    const std::string& rows_csv, const std::string& predictions_csv) {
  int status = 0;
  RunCommand(std::string("'") + FETAL_MODEL_BIN + "' predict --model '" + rows_csv +
                 ".model' --input '" + rows_csv + "' --output '" + predictions_csv + "'",
             &status);
  std::map<std::string, std::array<std::array<int64_t, 3>, 3>> out;
  if (status != 0) return out;
  std::ifstream rows(rows_csv), predictions(predictions_csv);
  std::string row, prediction;
  std::getline(rows, row);
  std::getline(predictions, prediction);
  while (std::getline(rows, row) && std::getline(predictions, prediction)) {
    const size_t day_at = row.rfind(',');
    const std::string day = row.substr(day_at + 1);
    const int label = row[day_at - 1] - '1';
    std::stringstream p(prediction);
    std::string index, cls;
    std::getline(p, index, ',');
    std::getline(p, cls, ',');
    const int predicted = cls == "Normal" ? 0 : cls == "Suspect" ? 1 : 2;
    ++out[day][label][predicted];
  }
  return out;
}

TEST_P(DriftSimulatorTest, DisagreeingBuildAndRealPerformanceMatchTheRecords) {
  const std::string rows = dir_ + "/rows.csv";
  WriteFile(rows + ".model", bundle_v1_);
  json summary = Simulate(
      "--days 6 --start 2026-03-01 --per-day 50 --seed 7 --outcome-share 0.4 "
      "--outcome-delay 2 --nudged-share 0.3 --rows-out " +
      Quote(rows));
  ASSERT_TRUE(summary.is_object()) << summary;
  EXPECT_EQ(summary["submitted"].get<int64_t>() + summary["refused_by_validator"].get<int64_t>(),
            300);
  const json& windows = summary["monitoring"]["windows"];
  ASSERT_EQ(windows.size(), 6u) << summary.dump();

  const auto offline = OfflineConfusion(rows, dir_ + "/predictions.csv");
  ASSERT_EQ(offline.size(), 6u);
  int64_t disagreements = 0, outcomes = 0;
  for (const json& w : windows) {
    // Only the nudged build disagrees, and it is named.
    for (const json& b : w["client_server_disagreement"]["by_runtime_build"]) {
      EXPECT_EQ(b["runtime_build"], "wasm-sim-nudged") << w.dump();
    }
    disagreements += w["client_server_disagreement"]["count"].get<int64_t>();
    // Real performance is what fetal-model computes offline on the same rows.
    const auto& confusion = offline.at(w["start"].get<std::string>());
    ASSERT_TRUE(w["performance"].is_object()) << w.dump();
    EXPECT_EQ(w["performance"]["confusion"], json(confusion)) << w["start"];
    int64_t right = 0, n = 0;
    for (int t = 0; t < 3; ++t) {
      for (int p = 0; p < 3; ++p) n += confusion[t][p];
      right += confusion[t][t];
    }
    EXPECT_DOUBLE_EQ(w["performance"]["accuracy"].get<double>(), static_cast<double>(right) / n);
    EXPECT_EQ(w["outcomes"]["count"], n);
    outcomes += n;
  }
  EXPECT_GT(disagreements, 0);
  EXPECT_EQ(summary["outcomes"], outcomes);

  // Replaying the same simulation stores nothing new and changes no figure.
  json again = Simulate(
      "--days 6 --start 2026-03-01 --per-day 50 --seed 7 --outcome-share 0.4 "
      "--outcome-delay 2 --nudged-share 0.3");
  EXPECT_EQ(again["submitted"], 0);
  EXPECT_EQ(again["replayed"], summary["submitted"]);
  EXPECT_EQ(again["monitoring"]["windows"], windows);
}

// The verdicts of every window, for failure messages: "2026-03-01 ok, 2026-03-02 alert[...]".
std::string Verdicts(const json& windows) {
  std::string out;
  for (const json& w : windows) {
    out += w["start"].get<std::string>() + " " + w["drift"]["verdict"].get<std::string>();
    for (const json& f : w["drift"]["features"]) {
      if (f["verdict"] != "ok") {
        out += " " + f["key"].get<std::string>() + "=" + f["verdict"].get<std::string>() + "(psi " +
               f["psi"].dump() + ")";
      }
    }
    out += " p=" + w["drift"]["prediction"]["p_value"].dump() + "\n";
  }
  return out;
}

// The first window from `first` on whose `key` (a feature, or "prediction") verdict is alert;
// -1 when none.
int FirstAlert(const json& windows, size_t first, const std::string& key) {
  for (size_t i = first; i < windows.size(); ++i) {
    const json& d = windows[i]["drift"];
    if (key == "prediction" && d["prediction"]["verdict"] == "alert") return static_cast<int>(i);
    for (const json& f : d["features"]) {
      if (f["key"] == key && f["verdict"] == "alert") return static_cast<int>(i);
    }
  }
  return -1;
}

TEST_P(DriftSimulatorTest, EachInjectedChangeIsFlaggedOnItsFeatureWithinTwoWindows) {
  UploadModelWithReference();
  struct Case {
    std::string change, key;
    int seed;
  };
  const Case cases[] = {
      {"baseline+10 --changed-submitter nurse-b", "baseline_value", 11},
      {"stuck:mean_value_of_long_term_variability", "mean_value_of_long_term_variability", 12},
      {"pathological", "prediction", 13},
  };
  int start = 0;
  for (const Case& c : cases) {
    // Each case on its own days, so the windows hold that case's exams only.
    const std::string from = "2026-0" + std::to_string(4 + start) + "-01";
    json summary = Simulate("--days 8 --change-day 4 --per-day 200 --outcome-share 0 --start " +
                                from + " --seed " + std::to_string(c.seed) + " --id-prefix c" +
                                std::to_string(start) + " --change " + c.change,
                            "model2.fhm", 2);
    ++start;
    const json& windows = summary["monitoring"]["windows"];
    ASSERT_EQ(windows.size(), 8u) << summary.dump().substr(0, 2000);
    ASSERT_EQ(summary["monitoring"]["reference"]["available"], true);
    const int first = FirstAlert(windows, 4, c.key);
    EXPECT_GE(first, 4) << c.change << "\n" << Verdicts(windows);
    EXPECT_LE(first, 5) << c.change << "\n" << Verdicts(windows);
    for (int day = 0; day < 4; ++day) {  // warnings may come by chance; alerts may not
      EXPECT_NE(windows[day]["drift"]["verdict"], "alert") << c.change << " day " << day << "\n"
                                                           << Verdicts(windows);
    }
  }
}

// "YYYY-MM-DD" of a day number (days since 1970-01-01).
std::string text_day(int64_t day) {
  const time_t t = static_cast<time_t>(day * 86400);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[16];
  strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// 60 simulated days without a change: no window alerts, and the label-free estimate's interval
// covers the accuracy measured against the outcomes in at least 90 % of the windows.
TEST_P(DriftSimulatorTest, NoChangeRaisesNoAlertAndTheEstimateCoversTheRealAccuracy) {
  UploadModelWithReference();
  int windows_seen = 0, covered = 0, alerts = 0;
  std::string log;
  // FETAL_DRIFT_SIM_SEEDS=n runs n seeds (default 2) to measure the false-alarm rate.
  const char* seeds_env = std::getenv("FETAL_DRIFT_SIM_SEEDS");
  const int seeds = seeds_env ? std::max(1, std::atoi(seeds_env)) : 2;
  for (int seed = 21; seed < 21 + seeds; ++seed) {
    // Each seed on its own 60 days (a 61-day stride from 2020-01-01).
    const std::string start = text_day(18262 + (seed - 21) * 61);
    json summary = Simulate("--days 60 --per-day 100 --outcome-share 1 --outcome-delay 0 --start " +
                                start + " --seed " + std::to_string(seed),
                            "model2.fhm", 2);
    const json& windows = summary["monitoring"]["windows"];
    ASSERT_EQ(windows.size(), 60u) << summary.dump().substr(0, 2000);
    for (const json& w : windows) {
      ++windows_seen;
      if (w["drift"]["verdict"] == "alert") {
        ++alerts;
        log += Verdicts(json::array({w}));
      }
      const double real = w["performance"]["accuracy"];
      const json& ci = w["estimated"]["accuracy_ci"];
      if (ci[0].get<double>() <= real && real <= ci[1].get<double>()) ++covered;
      else
        log += w["start"].get<std::string>() + ": real " + std::to_string(real) + " outside " +
               ci.dump() + "\n";
    }
  }
  EXPECT_EQ(alerts, 0) << log;
  EXPECT_GE(covered, windows_seen * 9 / 10) << covered << " of " << windows_seen << "\n" << log;
  std::printf("no-change windows: %d, alerts: %d, estimate covered the real accuracy in %d\n",
              windows_seen, alerts, covered);
}

// The metric names an alerting rule's expression reads (fetal_...), in file order.
std::vector<std::string> MetricsOfAlertRules(const std::string& rules, int* alerts) {
  std::vector<std::string> names;
  *alerts = 0;
  std::istringstream lines(rules);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("- alert:") != std::string::npos) ++*alerts;
    const size_t expr = line.find("expr:");
    if (expr == std::string::npos) continue;
    for (size_t at = line.find("fetal_", expr); at != std::string::npos;
         at = line.find("fetal_", at)) {
      size_t end = at;
      while (end < line.size() && (std::isalnum(static_cast<unsigned char>(line[end])) ||
                                   line[end] == '_' || line[end] == ':')) {
        ++end;
      }
      names.push_back(line.substr(at, end - at));
      at = end;
    }
  }
  return names;
}

// promtool is not at hand: every metric deploy/prometheus/fetal-alerts.yml alerts on must be one
// GET /api/v1/metrics exports once the current window has exams, outcomes and a reference.
TEST_P(DriftSimulatorTest, EveryMetricTheAlertRulesReadIsExported) {
  UploadModelWithReference();
  const time_t now = time(nullptr);
  Simulate("--days 3 --per-day 120 --outcome-share 0.5 --outcome-delay 0 --seed 5 --start " +
               text_day(now / 86400 - 2),
           "model2.fhm", 2);
  auto r = Get("/api/v1/metrics", admin_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  int alerts = 0;
  const std::vector<std::string> names =
      MetricsOfAlertRules(ReadFileOrEmpty(std::string(FETAL_SOURCE_DIR) +
                                          "/deploy/prometheus/fetal-alerts.yml"),
                          &alerts);
  EXPECT_GE(alerts, 7);
  EXPECT_GE(names.size(), static_cast<size_t>(alerts));  // every rule reads at least one
  for (const std::string& name : names) {
    const bool exported = r->body.find("\n" + name + " ") != std::string::npos ||
                          r->body.find("\n" + name + "{") != std::string::npos;
    EXPECT_TRUE(exported) << name << " is in an alert rule but not in /metrics:\n" << r->body;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DriftSimulatorTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

}  // namespace
}  // namespace testing_support
}  // namespace fetal
